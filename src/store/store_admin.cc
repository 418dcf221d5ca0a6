// Settings, record types, users, roles, grants and the first-start bootstrap.

#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"
#include "src/store/validate.h"

namespace pamproxy::store {

using policy::cat;

namespace {

absl::Status renamed_conflict(absl::Status s, std::string_view what, std::string_view name) {
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(cat("a ", what, " named '", name, "' exists already"));
  }
  return s;
}

}  // namespace

policy::Settings Store::settings() {
  return snapshot()->settings();
}

absl::StatusOr<AdminChange> Store::set_setting(const Actor& actor, std::string_view key,
                                               std::string_view value) {
  if (key != "proxy.enabled") {
    return invalid_field("key", cat("unknown setting '", key, "' (known: proxy.enabled)"));
  }
  if (value != "true" && value != "false") {
    return invalid_field("value", "proxy.enabled is true or false");
  }
  return impl_->change(actor, "settings.set", "settings", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(key);
    absl::StatusOr<policy::Settings> before = impl_->load_settings();
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    if (absl::Status s = sql::run(impl_->db,
                                  "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                  key, value);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<policy::Settings> after = impl_->load_settings();
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

std::vector<policy::RecordType> Store::record_types() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_record_types();
  return rows.ok() ? std::move(*rows) : std::vector<policy::RecordType>{};
}

absl::StatusOr<AdminChange> Store::set_record_type_enabled(const Actor& actor,
                                                           std::string_view name, bool enabled) {
  return impl_->change(actor, enabled ? "record_type.enable" : "record_type.disable", "record_type",
                       [&](AdminChange& c) -> absl::Status {
                         c.object_id = std::string(name);
                         auto types = impl_->load_record_types();
                         if (!types.ok()) return types.status();
                         for (const policy::RecordType& t : *types) {
                           if (t.name != name) continue;
                           c.before_json = to_json(t);
                           policy::RecordType after{t.name, enabled};
                           c.after_json = to_json(after);
                           return sql::run(impl_->db,
                                           "UPDATE record_types SET enabled = ?2 WHERE name = ?1",
                                           name, enabled);
                         }
                         return absl::NotFoundError(cat("no record type named '", name, "'"));
                       });
}

std::vector<policy::User> Store::list_users() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_users();
  return rows.ok() ? std::move(*rows) : std::vector<policy::User>{};
}

absl::StatusOr<policy::User> Store::get_user(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (id.empty()) return absl::NotFoundError("no user with an empty id");
  return one(impl_->load_users(id), "user", id);
}

absl::StatusOr<AdminChange> Store::create_user(const Actor& actor, const UserSpec& spec) {
  if (absl::Status s = check_name("name", spec.name, 128); !s.ok()) return s;
  if (absl::Status s = check_email("email", spec.email); !s.ok()) return s;
  return impl_->change(actor, "user.create", "user", [&](AdminChange& c) -> absl::Status {
    c.object_id = random_id("u-", 16);
    absl::Status s = sql::run(
        impl_->db, "INSERT INTO users (id, name, admin, created_at, email) VALUES (?1,?2,?3,?4,?5)",
        c.object_id, spec.name, spec.admin, to_unix(c.at), spec.email);
    if (!s.ok()) return renamed_conflict(s, "user", spec.name);
    auto after = one(impl_->load_users(c.object_id), "user", c.object_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::update_user(const Actor& actor, std::string_view id,
                                               const UserPatch& patch) {
  if (patch.name) {
    if (absl::Status s = check_name("name", *patch.name, 128); !s.ok()) return s;
  }
  if (patch.email) {
    if (absl::Status s = check_email("email", *patch.email); !s.ok()) return s;
  }
  return impl_->change(actor, "user.update", "user", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_users(id), "user", id);
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    policy::User u = *before;
    if (patch.name) u.name = *patch.name;
    if (patch.admin) u.admin = *patch.admin;
    if (patch.email) u.email = *patch.email;
    if (patch.disabled) {
      if (*patch.disabled && id == actor.user_id) {
        return absl::FailedPreconditionError("you cannot disable yourself");
      }
      u.disabled = *patch.disabled;
    }
    absl::Status s =
        sql::run(impl_->db,
                 "UPDATE users SET name = ?2, admin = ?3, email = ?4, disabled = ?5 WHERE id = ?1",
                 id, u.name, u.admin, u.email, u.disabled);
    if (!s.ok()) return renamed_conflict(s, "user", u.name);
    if (u.disabled) {
      s = sql::run(impl_->db, "DELETE FROM console_sessions WHERE user_id = ?1", id);
      if (!s.ok()) return s;
    }
    c.after_json = to_json(u);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::delete_user(const Actor& actor, std::string_view id) {
  return impl_->change(actor, "user.delete", "user", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_users(id), "user", id);
    if (!before.ok()) return before.status();
    if (id == actor.user_id) {
      return absl::FailedPreconditionError("you cannot delete yourself");
    }
    c.before_json = to_json(*before);
    // Tokens, memberships, grants and requests go with the user (ON DELETE CASCADE).
    return sql::run(impl_->db, "DELETE FROM users WHERE id = ?1", id);
  });
}

std::vector<policy::Role> Store::list_roles() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_roles();
  return rows.ok() ? std::move(*rows) : std::vector<policy::Role>{};
}

absl::StatusOr<policy::Role> Store::get_role(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (id.empty()) return absl::NotFoundError("no role with an empty id");
  return one(impl_->load_roles(id), "role", id);
}

absl::StatusOr<AdminChange> Store::create_role(const Actor& actor, std::string_view name,
                                               std::string_view description) {
  if (absl::Status s = check_name("name", name, 128); !s.ok()) return s;
  if (absl::Status s = check_text("description", description, 1024); !s.ok()) return s;
  return impl_->change(actor, "role.create", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = random_id("ro-", 16);
    absl::Status s = sql::run(
        impl_->db, "INSERT INTO roles (id, name, description, created_at) VALUES (?1,?2,?3,?4)",
        c.object_id, name, description, to_unix(c.at));
    if (!s.ok()) return renamed_conflict(s, "role", name);
    auto after = one(impl_->load_roles(c.object_id), "role", c.object_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::delete_role(const Actor& actor, std::string_view id) {
  return impl_->change(actor, "role.delete", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_roles(id), "role", id);
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    return sql::run(impl_->db, "DELETE FROM roles WHERE id = ?1", id);
  });
}

absl::StatusOr<AdminChange> Store::add_role_member(const Actor& actor, std::string_view role_id,
                                                   std::string_view user_id) {
  return impl_->change(actor, "role.add_member", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(role_id);
    auto before = one(impl_->load_roles(role_id), "role", role_id);
    if (!before.ok()) return before.status();
    if (auto u = one(impl_->load_users(user_id), "user", user_id); !u.ok()) return u.status();
    c.before_json = to_json(*before);
    absl::Status s =
        sql::run(impl_->db, "INSERT INTO role_members (role_id, user_id) VALUES (?1,?2) ON CONFLICT DO NOTHING",
                 role_id, user_id);
    if (!s.ok()) return s;
    auto after = one(impl_->load_roles(role_id), "role", role_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::remove_role_member(const Actor& actor, std::string_view role_id,
                                                      std::string_view user_id) {
  return impl_->change(actor, "role.remove_member", "role", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(role_id);
    auto before = one(impl_->load_roles(role_id), "role", role_id);
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    absl::Status s =
        sql::run(impl_->db, "DELETE FROM role_members WHERE role_id = ?1 AND user_id = ?2", role_id,
                 user_id);
    if (!s.ok()) return s;
    if (impl_->db.changes() == 0) {
      return absl::NotFoundError(cat("user ", user_id, " is not a member of role ", role_id));
    }
    auto after = one(impl_->load_roles(role_id), "role", role_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

std::vector<policy::Grant> Store::list_grants() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_grants();
  return rows.ok() ? std::move(*rows) : std::vector<policy::Grant>{};
}

absl::StatusOr<AdminChange> Store::create_grant(const Actor& actor, const GrantSpec& spec) {
  if (spec.user_id.empty() == spec.role_id.empty()) {
    return invalid_field("user_id", "give exactly one of user_id and role_id");
  }
  if (spec.record_id.empty() == spec.tag.empty()) {
    return invalid_field("record_id", "give exactly one of record_id and tag");
  }
  if (!spec.tag.empty()) {
    if (absl::Status s = check_tag("tag", spec.tag); !s.ok()) return s;
  }
  if (spec.permissions == 0 || (spec.permissions & ~policy::kAllPermissions) != 0) {
    return invalid_field("permissions", "one or more of view, connect, edit, manage");
  }
  return impl_->change(actor, "grant.create", "grant", [&](AdminChange& c) -> absl::Status {
    if (!spec.user_id.empty()) {
      if (auto u = one(impl_->load_users(spec.user_id), "user", spec.user_id); !u.ok()) {
        return u.status();
      }
    } else if (auto r = one(impl_->load_roles(spec.role_id), "role", spec.role_id); !r.ok()) {
      return r.status();
    }
    if (!spec.record_id.empty()) {
      if (auto r = one(impl_->load_records(spec.record_id), "record", spec.record_id); !r.ok()) {
        return r.status();
      }
    }
    c.object_id = random_id("gr-", 16);
    auto opt = [](const std::string& s) -> std::optional<std::string> {
      return s.empty() ? std::nullopt : std::optional<std::string>(s);
    };
    absl::StatusOr<sql::Stmt> st = impl_->db.prepare(
        "INSERT INTO grants (id, user_id, role_id, record_id, tag, permissions, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st.ok()) return st.status();
    st->bind(1, c.object_id);
    int i = 2;
    for (const auto& v :
         {opt(spec.user_id), opt(spec.role_id), opt(spec.record_id), opt(spec.tag)}) {
      if (v) {
        st->bind(i++, std::string_view(*v));
      } else {
        st->bind_null(i++);
      }
    }
    st->bind(6, static_cast<int64_t>(spec.permissions)).bind(7, to_unix(c.at));
    if (absl::Status s = st->run(); !s.ok()) return s;
    auto after = one(impl_->load_grants(c.object_id), "grant", c.object_id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::delete_grant(const Actor& actor, std::string_view id) {
  return impl_->change(actor, "grant.delete", "grant", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_grants(id), "grant", id);
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    return sql::run(impl_->db, "DELETE FROM grants WHERE id = ?1", id);
  });
}

absl::StatusOr<std::optional<Bootstrap>> Store::bootstrap(std::string_view name) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    absl::StatusOr<int64_t> users = impl_->db.query_int("SELECT count(*) FROM users");
    if (!users.ok()) return users.status();
    if (*users > 0) return std::optional<Bootstrap>();
  }
  Actor system{"", "", "bootstrap"};
  absl::StatusOr<AdminChange> user = create_user(system, UserSpec{std::string(name), true});
  if (!user.ok()) return user.status();
  absl::StatusOr<policy::User> admin = get_user(user->object_id);
  if (!admin.ok()) return admin.status();
  TokenSpec spec;
  spec.user_id = admin->id;
  spec.name = "bootstrap";
  absl::StatusOr<CreatedToken> token = create_token(system, spec);
  if (!token.ok()) return token.status();
  return std::optional<Bootstrap>(Bootstrap{std::move(*admin), std::move(*token)});
}

}  // namespace pamproxy::store
