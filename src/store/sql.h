#pragma once
// The store's SQL layer: one interface, two engines (SQLite in sqlite.cc, PostgreSQL through
// libpq in postgresql.cc). The store's queries are written once, with SQLite's `?N` positional
// parameters; the PostgreSQL engine rewrites them to `$N` in one place (postgresql.cc). Where the
// dialects truly differ (the schema version, its lock, the start of a write transaction), the
// engine answers. Errors are absl::Status with the same codes on both:
// AlreadyExists for a violated constraint, Unavailable for a busy or unreachable database,
// DataLoss for a damaged one. Internal to src/store.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace pamproxy::store::sql {

enum class Dialect { kSqlite, kPostgresql };

// One statement of an engine: binds, then rows. Binds are 1-based; columns 0-based.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void bind_text(int i, std::string_view text) = 0;
  virtual void bind_int(int i, int64_t n) = 0;
  virtual void bind_blob(int i, std::string_view bytes) = 0;
  virtual void bind_null(int i) = 0;
  virtual int parameter_count() const = 0;
  // True while there is a row; false when done.
  virtual absl::StatusOr<bool> step() = 0;
  virtual std::string text(int col) const = 0;
  virtual std::string blob(int col) const = 0;
  virtual int64_t integer(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

// One connection of an engine.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters.
  virtual absl::Status exec(std::string_view sql) = 0;
  virtual absl::StatusOr<std::unique_ptr<Cursor>> prepare(std::string_view sql) = 0;
  // Rows changed by the last statement.
  virtual int64_t changes() const = 0;
  // The statement that starts a write transaction.
  virtual std::string_view begin_write() const = 0;
  // Inside a migration's transaction: waits until no other node migrates (PostgreSQL).
  virtual absl::Status lock_schema() = 0;
  // 0 for an empty database.
  virtual absl::StatusOr<int64_t> schema_version() = 0;
  // Inside a migration's transaction.
  virtual absl::Status set_schema_version(int64_t version) = 0;
  // The longest wait for a lock held by another writer.
  virtual void set_busy_timeout_ms(int64_t ms) = 0;
  // PostgreSQL: called, on the thread that ran the statement, when the server left a statement
  // unanswered past its bound or a reconnect failed (the message says which): the server is
  // unreachable from here, whatever the other connections see. SQLite: never called.
  virtual void set_unreachable_handler(std::function<void(const std::string& error)> handler) {
    (void)handler;
  }
};

class Stmt {
 public:
  explicit Stmt(std::unique_ptr<Cursor> cursor) : cursor_(std::move(cursor)) {}

  Stmt& bind(int i, std::string_view text) {
    cursor_->bind_text(i, text);
    return *this;
  }
  Stmt& bind(int i, int64_t n) {
    cursor_->bind_int(i, n);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view bytes) {
    cursor_->bind_blob(i, bytes);
    return *this;
  }
  Stmt& bind_null(int i) {
    cursor_->bind_null(i);
    return *this;
  }
  Stmt& bind_optional_time(int i, const std::optional<int64_t>& t) {
    return t ? bind(i, *t) : bind_null(i);
  }

  int parameter_count() const { return cursor_->parameter_count(); }
  absl::StatusOr<bool> step() { return cursor_->step(); }
  // For statements that return no rows.
  absl::Status run() {
    absl::StatusOr<bool> r = step();
    return r.ok() ? absl::OkStatus() : r.status();
  }

  std::string text(int col) const { return cursor_->text(col); }
  std::string blob(int col) const { return cursor_->blob(col); }
  int64_t integer(int col) const { return cursor_->integer(col); }
  bool is_null(int col) const { return cursor_->is_null(col); }

 private:
  std::unique_ptr<Cursor> cursor_;
};

class Db {
 public:
  Db() = default;
  explicit Db(std::unique_ptr<Connection> c) : c_(std::move(c)) {}

  // A SQLite file; flags: SQLITE_OPEN_READWRITE [| SQLITE_OPEN_CREATE] (sqlite.cc).
  static absl::StatusOr<Db> open(const std::string& path, int flags);
  // A PostgreSQL database by libpq connection string (postgresql.cc).
  static absl::StatusOr<Db> open_postgresql(const std::string& conninfo,
                                            int64_t connect_timeout_ms);

  bool is_open() const { return c_ != nullptr; }
  Dialect dialect() const { return c_->dialect(); }
  absl::Status exec(std::string_view sql) { return c_->exec(sql); }
  absl::StatusOr<Stmt> prepare(std::string_view sql) {
    absl::StatusOr<std::unique_ptr<Cursor>> c = c_->prepare(sql);
    if (!c.ok()) return c.status();
    return Stmt(std::move(*c));
  }
  // One integer from a one-row query.
  absl::StatusOr<int64_t> query_int(std::string_view sql) {
    absl::StatusOr<Stmt> st = prepare(sql);
    if (!st.ok()) return st.status();
    absl::StatusOr<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("query returned no row");
    return st->integer(0);
  }
  int64_t changes() const { return c_->changes(); }
  Connection& connection() { return *c_; }

 private:
  std::unique_ptr<Connection> c_;
};

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

// Runs `body` inside a write transaction (BEGIN IMMEDIATE in SQLite) ... COMMIT, rolling back
// when it fails.
template <typename F>
absl::Status transaction(Db& db, F&& body) {
  if (absl::Status s = db.exec(db.connection().begin_write()); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = db.exec("COMMIT");
  if (!s.ok()) db.exec("ROLLBACK").IgnoreError();
  return s;
}

}  // namespace pamproxy::store::sql
