#pragma once
// A thin RAII layer over the SQLite C API for the store: a connection, prepared statements with
// positional binds, and errors as absl::Status. Internal to src/store.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pamproxy::store::sql {

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  // Binds are 1-based, as in SQLite.
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, int64_t n);
  Stmt& bind_blob(int i, std::string_view bytes);
  Stmt& bind_null(int i);
  Stmt& bind_optional_time(int i, const std::optional<int64_t>& t);

  int parameter_count() const { return sqlite3_bind_parameter_count(stmt_); }
  // True while there is a row; false when done.
  absl::StatusOr<bool> step();
  // For statements that return no rows.
  absl::Status run();

  std::string text(int col) const;
  std::string blob(int col) const;
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  ~Db();

  // flags: SQLITE_OPEN_READWRITE [| SQLITE_OPEN_CREATE].
  static absl::StatusOr<Db> open(const std::string& path, int flags);
  absl::Status exec(std::string_view sql);
  absl::StatusOr<Stmt> prepare(std::string_view sql);
  // One integer from a one-row query (e.g. PRAGMA user_version).
  absl::StatusOr<int64_t> query_int(std::string_view sql);
  int64_t changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

absl::Status error(sqlite3* db, std::string_view what);

struct Null {};
struct Blob {
  std::string_view bytes;
};

namespace detail {
inline void bind_one(Stmt& s, int i, std::string_view v) {
  s.bind(i, v);
}
inline void bind_one(Stmt& s, int i, const std::string& v) {
  s.bind(i, std::string_view(v));
}
inline void bind_one(Stmt& s, int i, const char* v) {
  s.bind(i, std::string_view(v));
}
inline void bind_one(Stmt& s, int i, int64_t v) {
  s.bind(i, v);
}
inline void bind_one(Stmt& s, int i, int v) {
  s.bind(i, static_cast<int64_t>(v));
}
inline void bind_one(Stmt& s, int i, bool v) {
  s.bind(i, static_cast<int64_t>(v ? 1 : 0));
}
inline void bind_one(Stmt& s, int i, Null) {
  s.bind_null(i);
}
inline void bind_one(Stmt& s, int i, Blob b) {
  s.bind_blob(i, b.bytes);
}
inline void bind_one(Stmt& s, int i, const std::optional<int64_t>& v) {
  s.bind_optional_time(i, v);
}
inline void bind_one(Stmt& s, int i, const std::optional<std::string>& v) {
  if (v) {
    s.bind(i, std::string_view(*v));
  } else {
    s.bind_null(i);
  }
}
}  // namespace detail

// Prepares `query`, binds the arguments to ?1, ?2, ... and runs it to completion.
template <typename... Args>
absl::Status run(Db& db, std::string_view query, const Args&... args) {
  absl::StatusOr<Stmt> st = db.prepare(query);
  if (!st.ok()) return st.status();
  int i = 0;
  (detail::bind_one(*st, ++i, args), ...);
  return st->run();
}

// Prepares `query`, binds the arguments to ?1, ?2, ... and reads every row into a Row with
// `read(const Stmt&)`, which returns a Row or, when a column may not parse, an
// absl::StatusOr<Row> (its error ends the load). Each loader is then its SQL and its reader.
template <typename Row, typename Read, typename... Args>
absl::StatusOr<std::vector<Row>> load_rows(Db& db, std::string_view query, Read&& read,
                                           const Args&... args) {
  absl::StatusOr<Stmt> st = db.prepare(query);
  if (!st.ok()) return st.status();
  int i = 0;
  (detail::bind_one(*st, ++i, args), ...);
  std::vector<Row> out;
  while (true) {
    absl::StatusOr<bool> more = st->step();
    if (!more.ok()) return more.status();
    if (!*more) return out;
    if constexpr (std::is_same_v<std::invoke_result_t<Read&, const Stmt&>, absl::StatusOr<Row>>) {
      absl::StatusOr<Row> row = read(std::as_const(*st));
      if (!row.ok()) return row.status();
      out.push_back(std::move(*row));
    } else {
      out.push_back(read(std::as_const(*st)));
    }
  }
}

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it fails.
template <typename F>
absl::Status transaction(Db& db, F&& body) {
  if (absl::Status s = db.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = db.exec("COMMIT");
  if (!s.ok()) db.exec("ROLLBACK").IgnoreError();
  return s;
}

}  // namespace pamproxy::store::sql
