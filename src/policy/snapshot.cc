#include "pamproxy/policy/snapshot.h"

#include <algorithm>

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {

std::shared_ptr<const Snapshot> Snapshot::build(SnapshotData data, uint64_t generation) {
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->generation_ = generation;
  s->settings_ = data.settings;

  absl::flat_hash_map<std::string, bool> type_enabled;
  for (const RecordType& t : data.record_types) type_enabled[t.name] = t.enabled;

  // Policies first: records point into policies_, which must not move afterwards.
  s->policies_ = std::move(data.policies);
  absl::flat_hash_map<std::string, const AccessPolicy*> policy_by_record;
  for (const AccessPolicy& p : s->policies_) policy_by_record[p.record_id] = &p;

  s->records_.reserve(data.records.size());
  for (Record& r : data.records) {
    RecordEntry e;
    auto t = type_enabled.find(r.type);
    e.type_enabled = t != type_enabled.end() && t->second;
    std::sort(r.tags.begin(), r.tags.end());
    if (auto p = policy_by_record.find(r.id); p != policy_by_record.end()) {
      e.policy = p->second;
      auto tz = data.time_zones.find(e.policy->time_zone);
      e.time_zone_loaded = tz != data.time_zones.end();
      if (e.time_zone_loaded) e.time_zone = tz->second;
    }
    e.record = std::move(r);
    uint32_t index = static_cast<uint32_t>(s->records_.size());
    s->record_by_id_[e.record.id] = index;
    s->record_by_name_[e.record.name] = index;
    s->records_.push_back(std::move(e));
  }

  s->roles_ = std::move(data.roles);
  for (uint32_t i = 0; i < s->roles_.size(); ++i) s->role_by_id_[s->roles_[i].id] = i;

  s->users_.reserve(data.users.size());
  for (User& u : data.users) {
    uint32_t index = static_cast<uint32_t>(s->users_.size());
    s->user_by_id_[u.id] = index;
    s->users_.push_back(UserEntry{std::move(u), {}});
  }

  // Roles of each user, then each grant lands on the users it reaches.
  absl::flat_hash_map<std::string, std::vector<uint32_t>> members_of_role;
  for (const Role& role : s->roles_) {
    for (const std::string& uid : role.member_user_ids) {
      if (auto u = s->user_by_id_.find(uid); u != s->user_by_id_.end()) {
        members_of_role[role.id].push_back(u->second);
      }
    }
  }
  for (const Grant& g : data.grants) {
    EffectiveGrant eg;
    eg.permissions = g.permissions;
    if (!g.record_id.empty()) {
      auto r = s->record_by_id_.find(g.record_id);
      if (r == s->record_by_id_.end()) continue;
      eg.record_index = static_cast<int32_t>(r->second);
    } else {
      if (g.tag.empty()) continue;
      eg.tag = g.tag;
    }
    if (!g.user_id.empty()) {
      auto u = s->user_by_id_.find(g.user_id);
      if (u != s->user_by_id_.end()) s->users_[u->second].grants.push_back(eg);
    } else if (auto m = members_of_role.find(g.role_id); m != members_of_role.end()) {
      for (uint32_t ui : m->second) s->users_[ui].grants.push_back(eg);
    }
  }

  for (UserEntry& u : s->users_) {
    for (const EffectiveGrant& g : u.grants) {
      if (g.record_index >= 0) {
        u.record_permissions[static_cast<uint32_t>(g.record_index)] |= g.permissions;
      } else {
        u.tag_grants.push_back(&g);
      }
    }
  }

  s->tokens_.reserve(data.tokens.size());
  for (Token& t : data.tokens) {
    auto u = s->user_by_id_.find(t.user_id);
    if (u == s->user_by_id_.end()) continue;
    uint32_t index = static_cast<uint32_t>(s->tokens_.size());
    s->token_by_id_[t.id] = index;
    s->tokens_.push_back(TokenEntry{std::move(t), u->second});
  }

  // Requests: kept whole (pointers below), indexed by (user, record) when they can still matter.
  s->requests_ = std::move(data.requests);
  for (const AccessRequest& r : s->requests_) {
    auto u = s->user_by_id_.find(r.user_id);
    auto rec = s->record_by_id_.find(r.record_id);
    if (u == s->user_by_id_.end() || rec == s->record_by_id_.end()) continue;
    uint64_t key = pair_key(u->second, rec->second);
    if (r.state == RequestState::kApproved) {
      s->approved_[key].push_back(ApprovedWindow{r.start_at, r.end_at, &r});
    } else if (r.state == RequestState::kPending) {
      s->pending_[key].push_back(&r);
    }
  }
  return s;
}

const TokenEntry* Snapshot::find_token(std::string_view id) const {
  auto it = token_by_id_.find(av(id));
  return it == token_by_id_.end() ? nullptr : &tokens_[it->second];
}

const UserEntry* Snapshot::find_user(std::string_view id) const {
  auto it = user_by_id_.find(av(id));
  return it == user_by_id_.end() ? nullptr : &users_[it->second];
}

const Role* Snapshot::find_role(std::string_view id) const {
  auto it = role_by_id_.find(av(id));
  return it == role_by_id_.end() ? nullptr : &roles_[it->second];
}

int32_t Snapshot::record_index_by_id(std::string_view id) const {
  auto it = record_by_id_.find(av(id));
  return it == record_by_id_.end() ? -1 : static_cast<int32_t>(it->second);
}

int32_t Snapshot::record_index_by_name(std::string_view name) const {
  auto it = record_by_name_.find(av(name));
  return it == record_by_name_.end() ? -1 : static_cast<int32_t>(it->second);
}

Permissions Snapshot::permissions(uint32_t user_index, uint32_t record_index) const {
  PAMPROXY_CHECK(user_index < users_.size() && record_index < records_.size());
  const std::vector<std::string>& tags = records_[record_index].record.tags;
  const UserEntry& u = users_[user_index];
  auto direct = u.record_permissions.find(record_index);
  Permissions p = direct == u.record_permissions.end() ? 0 : direct->second;
  for (const EffectiveGrant* g : u.tag_grants) {
    if (std::binary_search(tags.begin(), tags.end(), g->tag)) p |= g->permissions;
  }
  return p;
}

const AccessRequest* Snapshot::approved_request(uint32_t user_index, uint32_t record_index,
                                                absl::Time now) const {
  auto it = approved_.find(pair_key(user_index, record_index));
  if (it == approved_.end()) return nullptr;
  for (const ApprovedWindow& w : it->second) {
    if (w.start_at <= now && now < w.end_at) return w.request;
  }
  return nullptr;
}

const AccessRequest* Snapshot::pending_request(uint32_t user_index, uint32_t record_index,
                                               absl::Time now) const {
  auto it = pending_.find(pair_key(user_index, record_index));
  if (it == pending_.end()) return nullptr;
  for (const AccessRequest* r : it->second) {
    if (now < r->end_at) return r;
  }
  return nullptr;
}

SnapshotReader::SnapshotReader(const SnapshotPublisher& publisher)
    : publisher_(&publisher), local_(publisher.current()), generation_(local_->generation()) {}

const Snapshot& SnapshotReader::get() {
  if (publisher_->generation() != generation_) {
    local_ = publisher_->current();
    generation_ = local_->generation();
  }
  return *local_;
}

}  // namespace pamproxy::policy
