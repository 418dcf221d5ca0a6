// People from the OpenID Connect provider and the provider groups mapped to roles.

#include <algorithm>

#include "pamproxy/base/json_writer.h"
#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"
#include "src/store/validate.h"

namespace pamproxy::store {

using policy::cat;

namespace {

constexpr size_t kGroupBytesMax = 256;

std::string group_role_json(std::string_view group, std::string_view role_id) {
  JsonWriter w;
  w.begin_object().key("group").value(group).key("role_id").value(role_id).end_object();
  return w.take();
}

absl::Status check_group(std::string_view group) {
  if (group.empty() || group.size() > kGroupBytesMax) {
    return invalid_field("group", cat("must be 1 to ", kGroupBytesMax, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<GroupRole> Store::list_group_roles() {
  std::lock_guard lock(impl_->mu);
  auto rows = sql::load_rows<GroupRole>(
      impl_->db,
      "SELECT group_name, role_id, created_at FROM group_roles ORDER BY group_name, role_id",
      [](const sql::Stmt& st) {
        return GroupRole{st.text(0), st.text(1), from_unix(st.integer(2))};
      });
  return rows.ok() ? *std::move(rows) : std::vector<GroupRole>{};
}

absl::StatusOr<AdminChange> Store::map_group(const Actor& actor, std::string_view group,
                                             std::string_view role_id) {
  if (absl::Status s = check_group(group); !s.ok()) return s;
  return impl_->change(actor, "role.map_group", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(role_id);
    if (auto r = one(impl_->load_roles(role_id), "role", role_id); !r.ok()) return r.status();
    absl::Status s = sql::run(impl_->db,
                              "INSERT INTO group_roles (group_name, role_id, created_at) "
                              "VALUES (?1,?2,?3)",
                              group, role_id, to_unix(c.at));
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(
          cat("group '", group, "' is mapped to role ", role_id, " already"));
    }
    if (!s.ok()) return s;
    c.after_json = group_role_json(group, role_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::unmap_group(const Actor& actor, std::string_view group,
                                               std::string_view role_id) {
  return impl_->change(actor, "role.unmap_group", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(role_id);
    absl::Status s =
        sql::run(impl_->db, "DELETE FROM group_roles WHERE group_name = ?1 AND role_id = ?2", group,
                 role_id);
    if (!s.ok()) return s;
    if (impl_->db.changes() == 0) {
      return absl::NotFoundError(cat("group '", group, "' is not mapped to role ", role_id));
    }
    c.before_json = group_role_json(group, role_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::sign_in_identity(const Actor& actor, const IdentitySignIn& who) {
  if (who.subject.empty() || who.subject.size() > 255) {
    return invalid_field("subject", "must be 1 to 255 bytes");
  }
  return impl_->change(actor, "user.identity_sign_in", "user", [&](AdminChange& c) -> absl::Status {
    auto linked = sql::load_rows<std::string>(
        impl_->db, "SELECT user_id FROM identity_users WHERE subject = ?1",
        [](const sql::Stmt& st) { return st.text(0); }, who.subject);
    if (!linked.ok()) return linked.status();
    if (linked->empty()) {
      // The first sign-in: a user named after the person, made unique with the subject when
      // a user of that name exists already (a local one, or a namesake).
      std::string name = !who.name.empty()    ? who.name
                         : !who.email.empty() ? who.email
                                              : who.subject;
      name = name.substr(0, 128);
      auto taken = sql::load_rows<int64_t>(
          impl_->db, "SELECT COUNT(*) FROM users WHERE name = ?1",
          [](const sql::Stmt& st) { return st.integer(0); }, name);
      if (!taken.ok()) return taken.status();
      if (!taken->empty() && taken->front() > 0) {
        name = cat(name.substr(0, 64), " (", who.subject.substr(0, 60), ")");
      }
      c.object_id = random_id("u-", 16);
      absl::Status s = sql::run(
          impl_->db, "INSERT INTO users (id, name, admin, created_at) VALUES (?1,?2,?3,?4)",
          c.object_id, name, false, to_unix(c.at));
      if (!s.ok()) return s;
      s = sql::run(impl_->db,
                   "INSERT INTO identity_users (subject, user_id, email, signed_in_at) "
                   "VALUES (?1,?2,?3,?4)",
                   who.subject, c.object_id, who.email, to_unix(c.at));
      if (!s.ok()) return s;
    } else {
      c.object_id = linked->front();
      auto before = one(impl_->load_users(c.object_id), "user", c.object_id);
      if (!before.ok()) return before.status();
      // Nothing of a disabled user's changes, not even her roles: she is refused as she is.
      if (before->disabled) {
        return absl::PermissionDeniedError(cat("user ", before->name, " is disabled"));
      }
      c.before_json = to_json(*before);
      absl::Status s = sql::run(impl_->db,
                                "UPDATE identity_users SET email = ?2, signed_in_at = ?3 "
                                "WHERE subject = ?1",
                                who.subject, who.email, to_unix(c.at));
      if (!s.ok()) return s;
    }
    // Roles from groups: the mapped roles her groups reach, and no other mapped role.
    auto mappings = sql::load_rows<std::pair<std::string, std::string>>(
        impl_->db, "SELECT group_name, role_id FROM group_roles",
        [](const sql::Stmt& st) { return std::make_pair(st.text(0), st.text(1)); });
    if (!mappings.ok()) return mappings.status();
    std::vector<std::string> mapped, reached;
    for (const auto& [group, role_id] : *mappings) {
      mapped.push_back(role_id);
      if (std::find(who.groups.begin(), who.groups.end(), group) != who.groups.end()) {
        reached.push_back(role_id);
      }
    }
    for (const std::string& role_id : mapped) {
      const bool member = std::find(reached.begin(), reached.end(), role_id) != reached.end();
      absl::Status s =
          member
              ? sql::run(impl_->db,
                         "INSERT INTO role_members (role_id, user_id) VALUES (?1,?2) "
                         "ON CONFLICT DO NOTHING",
                         role_id, c.object_id)
              : sql::run(impl_->db, "DELETE FROM role_members WHERE role_id = ?1 AND user_id = ?2",
                         role_id, c.object_id);
      if (!s.ok()) return s;
    }
    auto after = one(impl_->load_users(c.object_id), "user", c.object_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

}  // namespace pamproxy::store
