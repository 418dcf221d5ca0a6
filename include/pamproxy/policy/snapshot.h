#pragma once
// The snapshot: an immutable, indexed view of everything a decision needs (settings, record
// types, records with their secrets, users with their effective grants, tokens with their
// secrets, access policies, approved and pending access requests), stamped with a generation
// number. The control thread builds a new one after every change and publishes it; workers pick
// it up with one atomic load per request and take a lock only when the generation changed.
//
//   control:  publisher.publish(Snapshot::build(std::move(data), ++generation));
//   worker:   SnapshotReader reader(publisher);  ...  const Snapshot& s = reader.get();
//
// Pure: building does no I/O (time zones arrive already loaded in SnapshotData). A snapshot holds
// decrypted secrets in memory: it has no printing path, and nothing here logs.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "pamproxy/base/publisher.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::policy {

// What the store hands over to build a snapshot. Plain values; order does not matter.
struct SnapshotData {
  Settings settings;
  std::vector<RecordType> record_types;
  std::vector<User> users;
  std::vector<Role> roles;
  std::vector<Record> records;
  std::vector<Token> tokens;
  std::vector<Grant> grants;
  std::vector<AccessPolicy> policies;
  std::vector<AccessRequest> requests;
  // Every time zone named by a policy that could be loaded. A policy whose zone is missing here
  // denies access (fail closed) with a reason naming the zone.
  absl::flat_hash_map<std::string, absl::TimeZone> time_zones;
};

// A grant as it applies to one user (directly or through a role).
struct EffectiveGrant {
  int32_t record_index = -1;  // >= 0: one record; -1: every record with `tag`
  std::string tag;
  Permissions permissions = 0;
};

struct RecordEntry {
  Record record;
  bool type_enabled = false;
  const AccessPolicy* policy = nullptr;  // nullptr: none
  bool time_zone_loaded = true;
  absl::TimeZone time_zone;  // of the policy's windows
};

struct UserEntry {
  User user;
  std::vector<EffectiveGrant> grants;  // every grant that reaches the user, as given
  // The same, indexed for the hot path: one-record grants by record index, tag grants in a list.
  absl::flat_hash_map<uint32_t, Permissions> record_permissions;
  std::vector<const EffectiveGrant*> tag_grants;
};

struct TokenEntry {
  Token token;
  uint32_t user_index = 0;
};

struct ApprovedWindow {
  absl::Time start_at;
  absl::Time end_at;
  const AccessRequest* request = nullptr;
};

class Snapshot {
 public:
  // Builds the indexes. Entries that refer to something absent (a token of a deleted user, a
  // grant on a deleted record) are dropped: the store's foreign keys make that impossible, and a
  // snapshot must never grant more than the store says.
  static std::shared_ptr<const Snapshot> build(SnapshotData data, uint64_t generation);

  uint64_t generation() const { return generation_; }
  const Settings& settings() const { return settings_; }

  const TokenEntry* find_token(std::string_view id) const;
  const UserEntry* find_user(std::string_view id) const;
  int32_t record_index_by_id(std::string_view id) const;      // -1: none
  int32_t record_index_by_name(std::string_view name) const;  // -1: none
  const RecordEntry& record(uint32_t index) const { return records_[index]; }
  std::span<const RecordEntry> records() const { return records_; }
  std::span<const UserEntry> users() const { return users_; }
  const UserEntry& user(uint32_t index) const { return users_[index]; }
  const Role* find_role(std::string_view id) const;

  // Union of the user's grants (direct and through roles) that cover the record.
  Permissions permissions(uint32_t user_index, uint32_t record_index) const;
  // The approved, unrevoked request of this user for this record covering `now`, if any.
  const AccessRequest* approved_request(uint32_t user_index, uint32_t record_index,
                                        absl::Time now) const;
  // A pending request of this user for this record that has not ended, if any (for messages).
  const AccessRequest* pending_request(uint32_t user_index, uint32_t record_index,
                                       absl::Time now) const;

 private:
  Snapshot() = default;
  static uint64_t pair_key(uint32_t user_index, uint32_t record_index) {
    return (static_cast<uint64_t>(user_index) << 32) | record_index;
  }

  uint64_t generation_ = 0;
  Settings settings_;
  std::vector<RecordEntry> records_;
  std::vector<UserEntry> users_;
  std::vector<TokenEntry> tokens_;
  std::vector<Role> roles_;
  std::vector<AccessPolicy> policies_;
  std::vector<AccessRequest> requests_;
  absl::flat_hash_map<std::string, uint32_t> token_by_id_;
  absl::flat_hash_map<std::string, uint32_t> user_by_id_;
  absl::flat_hash_map<std::string, uint32_t> record_by_id_;
  absl::flat_hash_map<std::string, uint32_t> record_by_name_;
  absl::flat_hash_map<std::string, uint32_t> role_by_id_;
  absl::flat_hash_map<uint64_t, std::vector<ApprovedWindow>> approved_;
  absl::flat_hash_map<uint64_t, std::vector<const AccessRequest*>> pending_;
};

inline uint64_t generation_of(const Snapshot& snapshot) {
  return snapshot.generation();
}

// Holds the current snapshot for every worker. publish() is called by the control thread only;
// a new snapshot's generation must be greater than the current one's.
using SnapshotPublisher = Publisher<Snapshot>;

// One per worker thread (not shared between threads). get() costs one atomic load when nothing
// changed; the returned reference stays valid until the next get() on this reader.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotPublisher& publisher);
  const Snapshot& get();

 private:
  const SnapshotPublisher* publisher_;
  std::shared_ptr<const Snapshot> local_;
  uint64_t generation_ = 0;
};

}  // namespace pamproxy::policy
