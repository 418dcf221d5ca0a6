#pragma once
// The inside of Store (store.h): the connection, the key, the loaders that read model values
// back (opening sealed secrets), and the one path every mutation takes (validate, write in a
// transaction, rebuild and publish the snapshot, tell the sink). Internal to src/store.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/policy/model.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/policy/strings.h"
#include "pamproxy/store/crypto.h"
#include "pamproxy/store/store.h"
#include "src/store/change_listener.h"
#include "src/store/sql.h"

namespace pamproxy::store {

inline int64_t to_unix(absl::Time t) {
  return absl::ToUnixSeconds(t);
}
inline absl::Time from_unix(int64_t s) {
  return absl::FromUnixSeconds(s);
}

// InvalidArgument naming a field: "field 'name': must not be empty". The field is also attached
// as a payload so the admin API can put it in its error body without parsing the message.
absl::Status invalid_field(std::string_view field, std::string_view message);

// Associated data binding a sealed value to its place.
inline std::string aad(std::string_view column, std::string_view row_id) {
  return policy::cat(column, ":", row_id);
}

struct Store::Impl {
  StoreOptions options;
  sql::Db db;
  std::optional<MasterKey> key;
  std::mutex mu;
  ChangeSink* sink = nullptr;
  uint64_t generation = 0;
  std::unique_ptr<policy::SnapshotPublisher> publisher;
  NotifyChannels notify_channels;
  // The database as messages name it (Store::database_name).
  std::string database_name;
  // The database's change generation the published snapshot was read with: every committed
  // change raises it by one (PostgreSQL; -1 before the first rebuild and on SQLite).
  int64_t database_generation = -1;
  // PostgreSQL: false from a failed reconnect or a statement left unanswered (by the listener's
  // connection or the store's own) until the listener's next check answers; read by anyone.
  std::atomic<bool> reachable{true};
  std::unique_ptr<ChangeListener> listener;  // last: stopped before the rest goes

  absl::Time now() const { return absl::FromUnixSeconds(absl::ToUnixSeconds(options.now())); }

  // Loaders: all rows, or the one with `id` when given. Call with mu held.
  absl::StatusOr<std::vector<policy::User>> load_users(std::string_view id = {});
  absl::StatusOr<std::vector<policy::Role>> load_roles(std::string_view id = {});
  absl::StatusOr<std::vector<policy::RecordType>> load_record_types();
  absl::StatusOr<std::vector<policy::Record>> load_records(std::string_view id = {});
  absl::StatusOr<std::vector<policy::Token>> load_tokens(std::string_view id = {},
                                                         std::string_view user_id = {},
                                                         bool with_secrets = false);
  absl::StatusOr<std::vector<policy::Grant>> load_grants(std::string_view id = {});
  absl::StatusOr<std::vector<policy::AccessPolicy>> load_policies(std::string_view record_id = {});
  absl::StatusOr<std::vector<policy::AccessRequest>> load_requests(std::string_view id = {},
                                                                   std::string_view user_id = {});
  absl::StatusOr<policy::Settings> load_settings();

  // Inserts a token for `spec` with `secret` (sealed) as change `c`'s object; the token as read
  // back. Call with mu held, inside the change's transaction.
  absl::StatusOr<policy::Token> insert_token(AdminChange& c, const TokenSpec& spec,
                                             std::string_view networks_text,
                                             const std::string& secret);

  // Raises tokens.last_used_at to each use's time (never lowers it). Call with mu held, inside a
  // transaction.
  absl::Status touch_tokens(std::span<const Store::TokenUse> uses);

  // Queues the notifications of a request's creation (to the approvers) or decision (to the
  // requester) for the channels that are on. Call with mu held, inside the change's transaction.
  absl::Status queue_request_notifications(std::string_view event,
                                           const policy::AccessRequest& request, absl::Time at);

  // Builds a snapshot of everything from the database (generation + 1) and publishes it. On
  // PostgreSQL it reads in one repeatable-read transaction, the change generation first, so the
  // snapshot is consistent and holds at least the changes up to database_generation.
  absl::Status rebuild_and_publish();
  absl::Status load_and_publish();

  // Records whether the database answers; logs store.reachable / store.unreachable on a change
  // only. Any thread.
  void set_reachable(bool now_reachable, const std::string& error);

  // The listener's check: when the database's change generation is not the snapshot's, rebuild
  // and publish. False when the database did not answer. Takes mu.
  bool follow_generation();

  // The path of every admin change. `body` runs inside a transaction and fills the change's
  // object id and before/after JSON; on success the snapshot is rebuilt and published and the
  // sink is told. Takes mu.
  absl::StatusOr<AdminChange> change(const Actor& actor, std::string_view action,
                                     std::string_view object_type,
                                     const std::function<absl::Status(AdminChange&)>& body);
};

// Exactly one row or NotFound naming what was looked for.
template <typename T>
absl::StatusOr<T> one(absl::StatusOr<std::vector<T>> rows, std::string_view what,
                      std::string_view id) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(policy::cat("no ", what, " with id '", id, "'"));
  return std::move(rows->front());
}

}  // namespace pamproxy::store
