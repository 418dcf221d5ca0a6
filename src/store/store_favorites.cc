// Favorites: the records each user starred. A star is the user's own preference: it grants
// nothing and no policy reads it, so a change is neither an audit event nor a new snapshot.

#include "src/store/store_impl.h"

namespace pamproxy::store {
namespace {

// NotFound unless `table` has a row with this id.
absl::Status must_exist(sql::Db& db, std::string_view table, std::string_view what,
                        std::string_view id) {
  auto rows = sql::load_rows<int64_t>(
      db, policy::cat("SELECT 1 FROM ", table, " WHERE id = ?1"),
      [](const sql::Stmt& st) { return st.integer(0); }, id);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(policy::cat("no ", what, " with id '", id, "'"));
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> Store::list_favorites(std::string_view user_id) {
  // The records list answers from the snapshot while the database is away: without the stars
  // rather than after a wait for a server known not to answer.
  if (!impl_->reachable.load()) return {};
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = sql::load_rows<std::string>(
      impl_->db, "SELECT record_id FROM favorites WHERE user_id = ?1 ORDER BY record_id",
      [](const sql::Stmt& st) { return st.text(0); }, user_id);
  return rows.ok() ? std::move(*rows) : std::vector<std::string>{};
}

absl::Status Store::set_favorite(std::string_view user_id, std::string_view record_id,
                                 bool favorite) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::transaction(impl_->db, [&]() -> absl::Status {
    if (absl::Status s = must_exist(impl_->db, "users", "user", user_id); !s.ok()) return s;
    if (absl::Status s = must_exist(impl_->db, "records", "record", record_id); !s.ok()) return s;
    if (!favorite) {
      return sql::run(impl_->db, "DELETE FROM favorites WHERE user_id = ?1 AND record_id = ?2",
                      user_id, record_id);
    }
    return sql::run(impl_->db,
                    "INSERT INTO favorites (user_id, record_id, created_at) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (user_id, record_id) DO NOTHING",
                    user_id, record_id, to_unix(impl_->now()));
  });
}

}  // namespace pamproxy::store
