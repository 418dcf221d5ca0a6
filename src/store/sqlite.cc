// The SQLite engine of the store's SQL layer (sql.h): a thin RAII layer over the C API.

#include <sqlite3.h>

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"
#include "src/store/sql.h"

namespace pamproxy::store::sql {
namespace {

using policy::cat;

absl::Status error(sqlite3* db, std::string_view what) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg = cat(what, ": ", db ? sqlite3_errmsg(db) : "out of memory");
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT: return absl::AlreadyExistsError(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return absl::DataLossError(msg);
    default: return absl::InternalError(msg);
  }
}

class SqliteCursor final : public Cursor {
 public:
  SqliteCursor(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }

  void bind_text(int i, std::string_view text) override {
    // A default-constructed view has a null data pointer, which SQLite would bind as NULL.
    if (text.data() == nullptr) text = std::string_view("", 0);
    PAMPROXY_CHECK(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                                     SQLITE_TRANSIENT) == SQLITE_OK);
  }
  void bind_int(int i, int64_t n) override {
    PAMPROXY_CHECK(sqlite3_bind_int64(stmt_, i, n) == SQLITE_OK);
  }
  void bind_blob(int i, std::string_view bytes) override {
    if (bytes.data() == nullptr) bytes = std::string_view("", 0);
    PAMPROXY_CHECK(sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()),
                                     SQLITE_TRANSIENT) == SQLITE_OK);
  }
  void bind_null(int i) override { PAMPROXY_CHECK(sqlite3_bind_null(stmt_, i) == SQLITE_OK); }
  int parameter_count() const override { return sqlite3_bind_parameter_count(stmt_); }

  absl::StatusOr<bool> step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return error(db_, "database statement failed");
  }

  std::string text(int col) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }
  std::string blob(int col) const override {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t integer(int col) const override { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  Dialect dialect() const override { return Dialect::kSqlite; }

  absl::Status exec(std::string_view sql) override {
    std::string z(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, z.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return error(db_, "database statement failed");
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Cursor>> prepare(std::string_view sql) override {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return error(db_, "cannot prepare database statement");
    return std::unique_ptr<Cursor>(new SqliteCursor(db_, stmt));
  }

  int64_t changes() const override { return sqlite3_changes64(db_); }
  // IMMEDIATE takes the write lock at once, so two writers never deadlock upgrading.
  std::string_view begin_write() const override { return "BEGIN IMMEDIATE"; }
  // BEGIN IMMEDIATE already excludes every other writer of the file.
  absl::Status lock_schema() override { return absl::OkStatus(); }

  absl::StatusOr<int64_t> schema_version() override {
    absl::StatusOr<std::unique_ptr<Cursor>> st = prepare("PRAGMA user_version");
    if (!st.ok()) return st.status();
    absl::StatusOr<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    return *row ? (*st)->integer(0) : 0;
  }
  absl::Status set_schema_version(int64_t version) override {
    // PRAGMA takes no bound parameters; the version is our own constant.
    return exec(cat("PRAGMA user_version = ", version));
  }

  void set_busy_timeout_ms(int64_t ms) override { sqlite3_busy_timeout(db_, static_cast<int>(ms)); }

 private:
  sqlite3* db_;
};

}  // namespace

absl::StatusOr<Db> Db::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = error(db, cat("cannot open database ", path));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  return Db(std::make_unique<SqliteConnection>(db));
}

}  // namespace pamproxy::store::sql
