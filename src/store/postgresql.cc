// The PostgreSQL engine of the store's SQL layer (sql.h), through libpq.
//
// Parameters go as text (integers typed int8, text left for the server to infer from the
// query) and blobs as binary bytea; results come back in binary, so a bytea column is its bytes
// and an int8 column eight big-endian bytes. A connection that broke is reset before the next
// statement outside a transaction, so the store resumes by itself when the server is back; inside
// a transaction every statement fails and the transaction is rolled back.
//
// Bounds: no call waits on the server without a deadline. A server that stops answering without
// closing the connection (a network partition, a paused host) would otherwise hold the calling
// thread, and the store's mutex with it, until TCP gives up, which a loopback or a paused process
// never does. So every statement is sent without blocking and its answer awaited with poll():
// one left unanswered for busy_timeout_ms + connect_timeout_ms (the longest lock wait the server
// itself allows, plus the time a connect is given) is abandoned, and the connection with it. A
// reconnect is a non-blocking one bounded by connect_timeout_ms. Either failure is reported to the
// unreachable handler, which the store uses to stop taking changes at once.

#include "src/store/postgresql.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"
#include "src/store/sql.h"

namespace pamproxy::store::sql {

using policy::cat;

std::string to_dollar_params(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 8);
  int next = 0, highest = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      out += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    size_t j = i + 1;
    int n = 0;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n < 100000) {
      n = n * 10 + (sql[j] - '0');
      ++j;
    }
    if (j == i + 1) n = ++next;
    highest = std::max(highest, n);
    out += cat("$", n);
    i = j - 1;
  }
  if (count != nullptr) *count = highest;
  return out;
}

std::string describe_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    PQfreemem(err);
    return "(unparsable connection string)";
  }
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::strcmp(o->keyword, "password") == 0) continue;
    if (!out.empty()) out += ' ';
    out += cat(o->keyword, "=", o->val);
  }
  PQconninfoFree(opts);
  return out;
}

namespace {

constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23;

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;
using Clock = std::chrono::steady_clock;

// Waits until `sock` is ready for `events` or `deadline` passes; false at the deadline.
bool wait_socket(int sock, short events, Clock::time_point deadline) {
  for (;;) {
    // Rounded up: a wait cut to whole milliseconds must not end before the deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{sock, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool succeeded(const PGresult* res) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// The same codes as SQLite's errors (sqlite.cc): a violated constraint is AlreadyExists, a
// conflict with another transaction or a lost server is Unavailable.
absl::Status error(PGconn* conn, const PGresult* res, std::string_view what) {
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(
        cat(what, ": PostgreSQL is unreachable (", first_line(PQerrorMessage(conn)), ")"));
  }
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg =
      cat(what, ": ", first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn)));
  std::string_view code = state ? state : "";
  if (code.starts_with("23")) return absl::AlreadyExistsError(msg);
  if (code.starts_with("40") || code.starts_with("08") || code.starts_with("57") ||
      code == "55P03") {
    return absl::UnavailableError(msg);
  }
  if (code.starts_with("XX")) return absl::DataLossError(msg);
  return absl::InternalError(msg);
}

int64_t big_endian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  // Sign-extend from n bytes.
  int shift = 64 - 8 * n;
  return shift == 0 ? static_cast<int64_t>(v) : static_cast<int64_t>(v << shift) >> shift;
}

class PgConnection;

class PgCursor final : public Cursor {
 public:
  PgCursor(PgConnection* c, std::string sql, int params)
      : c_(c),
        sql_(std::move(sql)),
        values_(params),
        nulls_(params, true),
        types_(params, 0),
        formats_(params, 0) {}

  void bind_text(int i, std::string_view text) override { set(i, std::string(text), 0, 0); }
  void bind_int(int i, int64_t n) override { set(i, cat(n), kInt8Oid, 0); }
  void bind_blob(int i, std::string_view bytes) override {
    set(i, std::string(bytes), kByteaOid, 1);
  }
  void bind_null(int i) override {
    PAMPROXY_CHECK(i >= 1 && i <= parameter_count());
    nulls_[i - 1] = true;
  }
  int parameter_count() const override { return static_cast<int>(values_.size()); }

  absl::StatusOr<bool> step() override;

  std::string text(int col) const override {
    return std::string(PQgetvalue(res_.get(), row_, col),
                       static_cast<size_t>(PQgetlength(res_.get(), row_, col)));
  }
  std::string blob(int col) const override { return text(col); }
  int64_t integer(int col) const override {
    if (PQgetisnull(res_.get(), row_, col)) return 0;
    const char* p = PQgetvalue(res_.get(), row_, col);
    int n = PQgetlength(res_.get(), row_, col);
    switch (PQftype(res_.get(), col)) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kBoolOid: return big_endian(p, n);
      default: return std::strtoll(std::string(p, static_cast<size_t>(n)).c_str(), nullptr, 10);
    }
  }
  bool is_null(int col) const override { return PQgetisnull(res_.get(), row_, col) != 0; }

 private:
  void set(int i, std::string v, Oid type, int format) {
    PAMPROXY_CHECK(i >= 1 && i <= parameter_count());
    values_[i - 1] = std::move(v);
    nulls_[i - 1] = false;
    types_[i - 1] = type;
    formats_[i - 1] = format;
  }

  PgConnection* c_;
  std::string sql_;
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
  Result res_{nullptr, &PQclear};
  int row_ = -1;
};

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, int64_t connect_timeout_ms)
      : conn_(conn), connect_timeout_ms_(connect_timeout_ms) {
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    PQsetnonblocking(conn_, 1);
  }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgresql; }

  absl::Status exec(std::string_view sql) override {
    const bool begin = sql.starts_with("BEGIN");
    const bool commit = sql == "COMMIT";
    if (commit || sql == "ROLLBACK") {
      in_transaction_ = false;
      // The server ends a transaction whose connection is gone on its own.
      if (abandoned_) return abandoned_error();
    } else if (begin || !in_transaction_) {
      if (absl::Status s = ensure_connected(); !s.ok()) return s;
    } else if (abandoned_) {
      return abandoned_error();
    }
    if (PQsendQuery(conn_, std::string(sql).c_str()) == 0) {
      return error(conn_, nullptr, "database statement failed");
    }
    absl::StatusOr<Result> res = await(commit);
    if (!res.ok()) return res.status();
    if (!succeeded(res->get())) return error(conn_, res->get(), "database statement failed");
    // Only a transaction that began: a failed BEGIN is followed by no ROLLBACK, and the next
    // statement must still be free to reconnect.
    if (begin) in_transaction_ = true;
    changes_ = std::strtoll(PQcmdTuples(res->get()), nullptr, 10);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Cursor>> prepare(std::string_view sql) override {
    int params = 0;
    std::string text = to_dollar_params(sql, &params);
    return std::unique_ptr<Cursor>(new PgCursor(this, std::move(text), params));
  }

  // Runs one statement with its parameters; the cursor then reads the rows.
  absl::StatusOr<Result> run(const std::string& sql, const std::vector<std::string>& values,
                             const std::vector<bool>& nulls, const std::vector<Oid>& types,
                             const std::vector<int>& formats) {
    // Outside a transaction a statement may reconnect; inside one it must fail.
    if (!in_transaction_) {
      if (absl::Status s = ensure_connected(); !s.ok()) return s;
    } else if (abandoned_) {
      return abandoned_error();
    }
    std::vector<const char*> ptrs(values.size());
    std::vector<int> lengths(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      ptrs[i] = nulls[i] ? nullptr : values[i].data();
      lengths[i] = static_cast<int>(values[i].size());
    }
    if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), types.data(),
                          ptrs.data(), lengths.data(), formats.data(), /*resultFormat=*/1) == 0) {
      return error(conn_, nullptr, "database statement failed");
    }
    absl::StatusOr<Result> res = await(/*commit=*/false);
    if (!res.ok()) return res.status();
    if (!succeeded(res->get())) return error(conn_, res->get(), "database statement failed");
    changes_ = std::strtoll(PQcmdTuples(res->get()), nullptr, 10);
    return res;
  }

  int64_t changes() const override { return changes_; }
  std::string_view begin_write() const override { return "BEGIN"; }

  absl::Status lock_schema() override {
    // Two nodes starting on an empty database would both migrate: the second waits here, then
    // finds the schema at the version the first left it.
    return exec("SELECT pg_advisory_xact_lock(7402417391)");
  }

  absl::StatusOr<int64_t> schema_version() override {
    absl::Status s = exec(
        "CREATE TABLE IF NOT EXISTS pamproxy_schema (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "version BIGINT NOT NULL)");
    if (!s.ok()) return s;
    absl::StatusOr<std::unique_ptr<Cursor>> st =
        prepare("SELECT version FROM pamproxy_schema WHERE id = 1");
    if (!st.ok()) return st.status();
    absl::StatusOr<bool> row = (*st)->step();
    if (!row.ok()) return row.status();
    return *row ? (*st)->integer(0) : 0;
  }
  absl::Status set_schema_version(int64_t version) override {
    return exec(cat("INSERT INTO pamproxy_schema (id, version) VALUES (1, ", version,
                    ") ON CONFLICT (id) DO UPDATE SET version = excluded.version"));
  }

  void set_busy_timeout_ms(int64_t ms) override {
    busy_timeout_ms_ = ms;
    exec(cat("SET lock_timeout = ", ms)).IgnoreError();
  }

  void set_unreachable_handler(std::function<void(const std::string& error)> handler) override {
    unreachable_ = std::move(handler);
  }

 private:
  // The longest wait for a statement's answer: the server's own lock wait, then as long as a
  // connect may take.
  int64_t answer_timeout_ms() const {
    return std::max<int64_t>(0, busy_timeout_ms_) + connect_timeout_ms_;
  }

  // After PQsend*: the statement's result (the first error, else the last result), once the
  // server has answered it whole, or Unavailable when it has not within answer_timeout_ms().
  absl::StatusOr<Result> await(bool commit) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(answer_timeout_ms());
    // Non-blocking: what the socket did not take yet is flushed here.
    for (int f = PQflush(conn_); f != 0; f = PQflush(conn_)) {
      if (f < 0) return error(conn_, nullptr, "database statement failed");
      if (!wait_socket(PQsocket(conn_), POLLOUT | POLLIN, deadline)) return unanswered(commit);
      if (PQconsumeInput(conn_) == 0) return error(conn_, nullptr, "database statement failed");
    }
    Result answer(nullptr, &PQclear);
    for (;;) {
      while (PQisBusy(conn_) == 0) {
        PGresult* r = PQgetResult(conn_);
        if (r == nullptr) {
          if (answer == nullptr) return error(conn_, nullptr, "database statement failed");
          return absl::StatusOr<Result>(std::move(answer));
        }
        Result next(r, &PQclear);
        if (answer == nullptr || succeeded(answer.get())) answer = std::move(next);
      }
      if (!wait_socket(PQsocket(conn_), POLLIN, deadline)) return unanswered(commit);
      if (PQconsumeInput(conn_) == 0) return error(conn_, nullptr, "database statement failed");
    }
  }

  // The statement in flight is given up, and the connection with it: the next statement outside
  // a transaction opens a new one. A COMMIT that was sent may still take effect when the server
  // reads it; the message says so.
  absl::Status unanswered(bool commit) {
    abandoned_ = true;
    std::string message =
        commit ? cat("PostgreSQL did not answer COMMIT within ", answer_timeout_ms(),
                     " ms: what the transaction wrote may or may not be saved")
               : cat("PostgreSQL did not answer within ", answer_timeout_ms(), " ms");
    if (unreachable_) unreachable_(message);
    return absl::UnavailableError(message);
  }
  absl::Status abandoned_error() const {
    return absl::UnavailableError(cat("PostgreSQL did not answer within ", answer_timeout_ms(),
                                      " ms; the transaction is abandoned"));
  }

  absl::Status ensure_connected() {
    // A server that went away may leave the status OK with the socket already dropped.
    if (!abandoned_ && PQstatus(conn_) == CONNECTION_OK && PQsocket(conn_) >= 0) {
      return absl::OkStatus();
    }
    abandoned_ = false;
    // libpq's own connect_timeout does not apply to a non-blocking connect: this deadline does.
    const auto deadline = Clock::now() + std::chrono::milliseconds(connect_timeout_ms_);
    PostgresPollingStatusType st =
        PQresetStart(conn_) == 0 ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
      if (!wait_socket(PQsocket(conn_), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
        std::string message =
            cat("cannot reconnect: PostgreSQL did not answer within ", connect_timeout_ms_, " ms");
        if (unreachable_) unreachable_(message);
        return absl::UnavailableError(message);
      }
      st = PQresetPoll(conn_);
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      absl::Status s = error(conn_, nullptr, "cannot reconnect");
      if (unreachable_) unreachable_(std::string(s.message()));
      return s;
    }
    PQsetnonblocking(conn_, 1);
    // Session settings are lost with the old connection.
    if (busy_timeout_ms_ >= 0) set_busy_timeout_ms(busy_timeout_ms_);
    return absl::OkStatus();
  }

  PGconn* conn_;
  const int64_t connect_timeout_ms_;
  int64_t changes_ = 0;
  int64_t busy_timeout_ms_ = -1;
  bool in_transaction_ = false;
  // The last statement went unanswered: the connection is not used again, only replaced.
  bool abandoned_ = false;
  std::function<void(const std::string& error)> unreachable_;
};

absl::StatusOr<bool> PgCursor::step() {
  if (res_ == nullptr) {
    absl::StatusOr<Result> r = c_->run(sql_, values_, nulls_, types_, formats_);
    if (!r.ok()) return r.status();
    res_ = std::move(*r);
  }
  ++row_;
  return row_ < PQntuples(res_.get());
}

}  // namespace

absl::StatusOr<Db> Db::open_postgresql(const std::string& conninfo, int64_t connect_timeout_ms) {
  // libpq counts whole seconds, and takes 1 as 2.
  std::string timeout = cat(std::max<int64_t>(2, (connect_timeout_ms + 999) / 1000));
  // expand_dbname: the string's keys override those before it, so its own connect_timeout wins.
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status s =
        absl::UnavailableError(cat("cannot connect to PostgreSQL (", describe_conninfo(conninfo),
                                   "): ", first_line(PQerrorMessage(conn))));
    PQfinish(conn);
    return s;
  }
  return Db(std::make_unique<PgConnection>(conn, connect_timeout_ms));
}

}  // namespace pamproxy::store::sql
