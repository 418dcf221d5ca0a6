// The read-only session reader (see session_file.h). The columns and the list query mirror the
// store's `sessions` table (schema version 2 and later).

#include "session_file.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pamproxy::cli {
namespace {

constexpr char kColumns[] =
    "id, first_seq, user, token_id, record_id, record_name, source_ip, started_ns, last_ns, "
    "requests, denied, bytes_in, bytes_out, open";

// The first schema version with the sessions table.
constexpr int64_t kSessionsSchemaVersion = 2;

absl::Status sqlite_error(sqlite3* db, std::string_view what) {
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg(what);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return absl::DataLossError(msg);
    default: return absl::InternalError(msg);
  }
}

// A prepared statement, finalized when it goes out of scope.
class Query {
 public:
  Query(sqlite3* db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr);
  }
  ~Query() { sqlite3_finalize(st_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  absl::Status prepared() const {
    return rc_ == SQLITE_OK ? absl::OkStatus()
                            : sqlite_error(db_, "cannot prepare database statement");
  }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(st_, i, text.data() == nullptr ? "" : text.data(),
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t n) { sqlite3_bind_int64(st_, i, n); }
  // True while there is a row; false when done.
  absl::StatusOr<bool> step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, "database statement failed");
  }
  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(st_, col);
    const int n = sqlite3_column_bytes(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : "";
  }
  int64_t integer(int col) const { return sqlite3_column_int64(st_, col); }
  uint64_t count(int col) const { return static_cast<uint64_t>(integer(col)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

audit::SessionReport read_row(const Query& q, bool with_reports) {
  audit::SessionReport r;
  r.id = q.text(0);
  r.first_seq = q.count(1);
  r.user = q.text(2);
  r.token_id = q.text(3);
  r.record_id = q.text(4);
  r.record_name = q.text(5);
  r.source_ip = q.text(6);
  r.started_unix_ns = q.integer(7);
  r.last_unix_ns = q.integer(8);
  r.requests = q.count(9);
  r.denied = q.count(10);
  r.bytes_in = q.count(11);
  r.bytes_out = q.count(12);
  r.open = q.integer(13) != 0;
  if (with_reports) {
    r.report_json = q.text(14);
    r.report_text = q.text(15);
  }
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessionFile>> SessionFile::open(const std::string& database_file) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(database_file.c_str(), &db,
                                 SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SessionFile> file(new SessionFile(db));
  if (rc != SQLITE_OK)
    return sqlite_error(db, absl::StrCat("cannot open database ", database_file));
  sqlite3_extended_result_codes(db, 1);
  Query version(db, "PRAGMA user_version");
  if (absl::Status s = version.prepared(); !s.ok()) return s;
  absl::StatusOr<bool> row = version.step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("query returned no row");
  if (version.integer(0) < kSessionsSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", database_file, " has no session reports yet (schema version ",
                     version.integer(0), "): start this version of pamproxyd once"));
  }
  return file;
}

SessionFile::~SessionFile() {
  sqlite3_close_v2(db_);
}

std::vector<audit::SessionReport> SessionFile::list(const audit::SessionQuery& q) {
  // Every filter is bound (a disabled one matches everything), so one statement serves all.
  Query st(db_, absl::StrCat("SELECT ", kColumns,
                             " FROM sessions WHERE (?1 = '' OR user = ?1) AND (?2 = '' OR "
                             "record_id = ?2 OR record_name = ?2) AND last_ns >= ?3 AND "
                             "started_ns < ?4 AND (?5 = 0 OR started_ns < ?6 OR (started_ns = ?6 "
                             "AND id < ?7)) ORDER BY started_ns DESC, id DESC LIMIT ?8"));
  std::vector<audit::SessionReport> out;
  if (!st.prepared().ok()) return out;
  st.bind(1, q.user);
  st.bind(2, q.record);
  st.bind(3, q.since_unix_ns.value_or(INT64_MIN));
  st.bind(4, q.until_unix_ns.value_or(INT64_MAX));
  st.bind(5, int64_t{q.after.has_value() ? 1 : 0});
  st.bind(6, q.after ? q.after->started_unix_ns : int64_t{0});
  st.bind(7, q.after ? std::string_view(q.after->id) : std::string_view());
  st.bind(8, static_cast<int64_t>(q.limit));
  for (;;) {
    absl::StatusOr<bool> row = st.step();
    if (!row.ok() || !*row) break;
    out.push_back(read_row(st, false));
  }
  return out;
}

absl::StatusOr<audit::SessionReport> SessionFile::get(std::string_view id) {
  Query st(db_, absl::StrCat("SELECT ", kColumns,
                             ", report_json, report_text FROM sessions WHERE id = ?"));
  if (absl::Status s = st.prepared(); !s.ok()) return s;
  st.bind(1, id);
  absl::StatusOr<bool> row = st.step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError("no session with id '" + std::string(id) + "'");
  return read_row(st, true);
}

}  // namespace pamproxy::cli
