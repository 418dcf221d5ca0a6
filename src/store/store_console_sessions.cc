// The web console's sign-in sessions, kept in the store so that a session outlives a restart
// and is known to every node of a shared PostgreSQL database. A row holds what checking a cookie
// needs and nothing that would let a reader of the database act as the browser: the SHA-256 of
// the cookie's value (never the value), and a digest of the token's secret keyed by the cookie's
// value. The CSRF token is derived from the cookie's value by the admin API and not stored.
// Not admin changes: no audit event, no new snapshot.

#include "src/store/store_impl.h"

namespace pamproxy::store {
namespace {

ConsoleSessionRow read_row(const sql::Stmt& st) {
  return ConsoleSessionRow{.id_sha256 = st.text(0),
                           .user_id = st.text(1),
                           .token_id = st.text(2),
                           .token_check = st.text(3),
                           .created_at = from_unix(st.integer(4)),
                           .last_used_at = from_unix(st.integer(5))};
}

bool expired(const ConsoleSessionRow& row, absl::Time now, const ConsoleSessionLimits& limits) {
  return now - row.last_used_at >= limits.idle || now - row.created_at >= limits.absolute;
}

}  // namespace

absl::Status Store::create_console_session(const ConsoleSessionRow& row,
                                           const ConsoleSessionLimits& limits) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const int64_t now = to_unix(row.created_at);
  return sql::transaction(impl_->db, [&]() -> absl::Status {
    // Expired rows go first, so that room is made before anyone is refused.
    absl::Status s = sql::run(impl_->db,
                              "DELETE FROM console_sessions WHERE last_used_at <= ?1 OR "
                              "created_at <= ?2",
                              now - absl::ToInt64Seconds(limits.idle),
                              now - absl::ToInt64Seconds(limits.absolute));
    if (!s.ok()) return s;
    absl::StatusOr<int64_t> live = impl_->db.query_int("SELECT count(*) FROM console_sessions");
    if (!live.ok()) return live.status();
    if (*live >= static_cast<int64_t>(limits.sessions_max)) {
      return absl::ResourceExhaustedError(
          "too many console sessions are open; try again when some have ended");
    }
    return sql::run(impl_->db,
                    "INSERT INTO console_sessions (id_sha256, user_id, token_id, token_check, "
                    "created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    row.id_sha256, row.user_id, row.token_id, row.token_check, now);
  });
}

absl::StatusOr<std::optional<ConsoleSessionRow>> Store::use_console_session(
    std::string_view id_sha256, absl::Time now, const ConsoleSessionLimits& limits) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = sql::load_rows<ConsoleSessionRow>(
      impl_->db,
      "SELECT id_sha256, user_id, token_id, token_check, created_at, last_used_at "
      "FROM console_sessions WHERE id_sha256 = ?1",
      read_row, id_sha256);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ConsoleSessionRow>();
  ConsoleSessionRow row = std::move(rows->front());
  const int64_t at = to_unix(now);
  if (expired(row, now, limits)) {
    absl::Status s =
        sql::run(impl_->db, "DELETE FROM console_sessions WHERE id_sha256 = ?1", id_sha256);
    if (!s.ok()) return s;
    return std::optional<ConsoleSessionRow>();
  }
  // At most one write a second per session: times are kept in seconds.
  if (to_unix(row.last_used_at) < at) {
    absl::Status s = sql::run(impl_->db,
                              "UPDATE console_sessions SET last_used_at = ?2 "
                              "WHERE id_sha256 = ?1 AND last_used_at < ?2",
                              id_sha256, at);
    if (!s.ok()) return s;
    row.last_used_at = from_unix(at);
  }
  return std::optional<ConsoleSessionRow>(std::move(row));
}

absl::Status Store::end_console_session(std::string_view id_sha256) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::run(impl_->db, "DELETE FROM console_sessions WHERE id_sha256 = ?1", id_sha256);
}

size_t Store::count_console_sessions() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  absl::StatusOr<int64_t> n = impl_->db.query_int("SELECT count(*) FROM console_sessions");
  return n.ok() ? static_cast<size_t>(*n) : 0;
}

}  // namespace pamproxy::store
