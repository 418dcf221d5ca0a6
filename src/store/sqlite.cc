#include "src/store/sqlite.h"

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::store::sql {

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

Stmt& Stmt::bind(int i, std::string_view text) {
  // A default-constructed view has a null data pointer, which SQLite would bind as NULL.
  if (text.data() == nullptr) text = std::string_view("", 0);
  PAMPROXY_CHECK(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::bind(int i, int64_t n) {
  PAMPROXY_CHECK(sqlite3_bind_int64(stmt_, i, n) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view bytes) {
  if (bytes.data() == nullptr) bytes = std::string_view("", 0);
  PAMPROXY_CHECK(sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()),
                                   SQLITE_TRANSIENT) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  PAMPROXY_CHECK(sqlite3_bind_null(stmt_, i) == SQLITE_OK);
  return *this;
}

Stmt& Stmt::bind_optional_time(int i, const std::optional<int64_t>& t) {
  return t ? bind(i, *t) : bind_null(i);
}

absl::StatusOr<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(db_, "database statement failed");
}

absl::Status Stmt::run() {
  absl::StatusOr<bool> r = step();
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::string Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

absl::StatusOr<Db> Db::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = error(db, cat("cannot open database ", path));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  return Db(db);
}

absl::Status Db::exec(std::string_view sql) {
  std::string z(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, z.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return error(db_, "database statement failed");
  return absl::OkStatus();
}

absl::StatusOr<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return error(db_, "cannot prepare database statement");
  return Stmt(db_, stmt);
}

absl::StatusOr<int64_t> Db::query_int(std::string_view sql) {
  absl::StatusOr<Stmt> st = prepare(sql);
  if (!st.ok()) return st.status();
  absl::StatusOr<bool> row = st->step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("query returned no row");
  return st->integer(0);
}

}  // namespace pamproxy::store::sql
