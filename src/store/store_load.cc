// Reading model values back from the database, opening sealed secrets on the way.

#include "absl/strings/string_view.h"
#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/time_window.h"
#include "src/store/store_impl.h"

namespace pamproxy::store {

using policy::cat;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::optional<absl::Time> optional_time(const sql::Stmt& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return from_unix(st.integer(col));
}

absl::Status corrupt(std::string_view what, std::string_view id) {
  return absl::DataLossError(cat("stored ", what, " of ", id, " does not parse"));
}

// Fills each row's `list` from `query`: one text column, ?1 bound to the row's id.
template <typename Row>
absl::Status load_lists(sql::Db& db, std::vector<Row>& rows, std::string_view query,
                        std::vector<std::string> Row::*list) {
  for (Row& row : rows) {
    auto texts = sql::load_rows<std::string>(
        db, query, [](const sql::Stmt& r) { return r.text(0); }, row.id);
    if (!texts.ok()) return texts.status();
    row.*list = std::move(*texts);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<policy::User>> Store::Impl::load_users(std::string_view id) {
  return sql::load_rows<policy::User>(
      db,
      "SELECT id, name, admin, created_at, email, disabled FROM users WHERE ?1 = '' OR id = ?1 "
      "ORDER BY name",
      [](const sql::Stmt& r) {
        return policy::User{r.text(0), r.text(1),        r.integer(2) != 0, from_unix(r.integer(3)),
                            r.text(4), r.integer(5) != 0};
      },
      id);
}

absl::StatusOr<std::vector<policy::Role>> Store::Impl::load_roles(std::string_view id) {
  auto out = sql::load_rows<policy::Role>(
      db,
      "SELECT id, name, description, created_at FROM roles WHERE ?1 = '' OR id = ?1 ORDER BY name",
      [](const sql::Stmt& r) {
        policy::Role role;
        role.id = r.text(0);
        role.name = r.text(1);
        role.description = r.text(2);
        role.created_at = from_unix(r.integer(3));
        return role;
      },
      id);
  if (!out.ok()) return out;
  absl::Status s =
      load_lists(db, *out, "SELECT user_id FROM role_members WHERE role_id = ?1 ORDER BY user_id",
                 &policy::Role::member_user_ids);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<policy::RecordType>> Store::Impl::load_record_types() {
  return sql::load_rows<policy::RecordType>(
      db, "SELECT name, enabled FROM record_types ORDER BY name", [](const sql::Stmt& r) {
        return policy::RecordType{r.text(0), r.integer(1) != 0};
      });
}

absl::StatusOr<std::vector<policy::Record>> Store::Impl::load_records(std::string_view id) {
  auto out = sql::load_rows<policy::Record>(
      db,
      "SELECT id, type, name, description, reference_record, access_key_id, secret_access_key, "
      "session_token, default_region, created_at, updated_at, aws_account_id, version, "
      "aws_account_id_source FROM records WHERE ?1 = '' OR id = ?1 ORDER BY name",
      [&](const sql::Stmt& r) -> absl::StatusOr<policy::Record> {
        policy::Record rec;
        rec.id = r.text(0);
        rec.type = r.text(1);
        rec.name = r.text(2);
        rec.description = r.text(3);
        rec.reference_record = r.text(4);
        rec.access_key_id = r.text(5);
        absl::StatusOr<policy::Secret> secret =
            key->open(r.blob(6), aad("records.secret_access_key", rec.id));
        if (!secret.ok()) return corrupt("secret key", rec.id);
        rec.secret_access_key = std::move(*secret);
        if (!r.is_null(7)) {
          absl::StatusOr<policy::Secret> token =
              key->open(r.blob(7), aad("records.session_token", rec.id));
          if (!token.ok()) return corrupt("session token", rec.id);
          rec.session_token = std::move(*token);
        }
        rec.default_region = r.text(8);
        rec.created_at = from_unix(r.integer(9));
        rec.updated_at = from_unix(r.integer(10));
        rec.aws_account_id = r.text(11);
        rec.version = r.integer(12);
        rec.aws_account_id_source = r.text(13);
        return rec;
      },
      id);
  if (!out.ok()) return out;
  absl::Status s =
      load_lists(db, *out, "SELECT tag FROM record_tags WHERE record_id = ?1 ORDER BY tag",
                 &policy::Record::tags);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<policy::Token>> Store::Impl::load_tokens(std::string_view id,
                                                                    std::string_view user_id,
                                                                    bool with_secrets) {
  return sql::load_rows<policy::Token>(
      db,
      "SELECT id, name, user_id, secret, created_at, expires_at, allowed_networks, revoked_at, "
      "last_used_at FROM tokens WHERE (?1 = '' OR id = ?1) AND (?2 = '' OR user_id = ?2) "
      "ORDER BY created_at, id",
      [&](const sql::Stmt& r) -> absl::StatusOr<policy::Token> {
        policy::Token t;
        t.id = r.text(0);
        t.name = r.text(1);
        t.user_id = r.text(2);
        if (with_secrets) {
          absl::StatusOr<policy::Secret> secret = key->open(r.blob(3), aad("tokens.secret", t.id));
          if (!secret.ok()) return corrupt("secret", t.id);
          t.secret = std::move(*secret);
        }
        t.created_at = from_unix(r.integer(4));
        t.expires_at = r.is_null(5) ? absl::InfiniteFuture() : from_unix(r.integer(5));
        auto nets = policy::parse_cidr_list(r.text(6));
        if (!nets.ok()) return corrupt("networks", t.id);
        t.allowed_networks = std::move(*nets);
        t.revoked_at = optional_time(r, 7);
        t.last_used_at = optional_time(r, 8);
        return t;
      },
      id, user_id);
}

absl::StatusOr<std::vector<policy::Grant>> Store::Impl::load_grants(std::string_view id) {
  return sql::load_rows<policy::Grant>(
      db,
      "SELECT id, coalesce(user_id, ''), coalesce(role_id, ''), coalesce(record_id, ''), "
      "coalesce(tag, ''), permissions, created_at FROM grants WHERE ?1 = '' OR id = ?1 "
      "ORDER BY created_at, id",
      [](const sql::Stmt& r) {
        return policy::Grant{
            r.text(0),
            r.text(1),
            r.text(2),
            r.text(3),
            r.text(4),
            static_cast<policy::Permissions>(r.integer(5) & policy::kAllPermissions),
            from_unix(r.integer(6))};
      },
      id);
}

absl::StatusOr<std::vector<policy::AccessPolicy>> Store::Impl::load_policies(
    std::string_view record_id) {
  return sql::load_rows<policy::AccessPolicy>(
      db,
      "SELECT record_id, windows, time_zone, allowed_networks, approval_required, "
      "coalesce(approver_role_id, ''), approval_max_duration_s, command_rules FROM policies "
      "WHERE ?1 = '' OR record_id = ?1",
      [](const sql::Stmt& r) -> absl::StatusOr<policy::AccessPolicy> {
        policy::AccessPolicy p;
        p.record_id = r.text(0);
        for (const std::string& line : split_lines(r.text(1))) {
          auto w = policy::parse_time_window(line);
          if (!w.ok()) return corrupt("policy windows", p.record_id);
          p.windows.push_back(*w);
        }
        p.time_zone = r.text(2);
        auto nets = policy::parse_cidr_list(r.text(3));
        if (!nets.ok()) return corrupt("policy networks", p.record_id);
        p.allowed_networks = std::move(*nets);
        p.approval_required = r.integer(4) != 0;
        p.approver_role_id = r.text(5);
        p.approval_max_duration_s = r.integer(6);
        for (const std::string& line : split_lines(r.text(7))) {
          auto rule = policy::parse_command_rule(line);
          if (!rule.ok()) return corrupt("policy command rules", p.record_id);
          p.command_rules.push_back(std::move(*rule));
        }
        return p;
      },
      record_id);
}

namespace {
policy::RequestState parse_state(const std::string& s) {
  if (s == "approved") return policy::RequestState::kApproved;
  if (s == "denied") return policy::RequestState::kDenied;
  if (s == "revoked") return policy::RequestState::kRevoked;
  return policy::RequestState::kPending;
}
}  // namespace

absl::StatusOr<std::vector<policy::AccessRequest>> Store::Impl::load_requests(
    std::string_view id, std::string_view user_id) {
  return sql::load_rows<policy::AccessRequest>(
      db,
      "SELECT id, user_id, record_id, start_at, end_at, reason, state, created_at, decided_by, "
      "decided_at, decision_note, revoked_by, revoked_at FROM access_requests "
      "WHERE (?1 = '' OR id = ?1) AND (?2 = '' OR user_id = ?2) ORDER BY created_at, id",
      [](const sql::Stmt& r) {
        policy::AccessRequest q;
        q.id = r.text(0);
        q.user_id = r.text(1);
        q.record_id = r.text(2);
        q.start_at = from_unix(r.integer(3));
        q.end_at = from_unix(r.integer(4));
        q.reason = r.text(5);
        q.state = parse_state(r.text(6));
        q.created_at = from_unix(r.integer(7));
        q.decided_by = r.text(8);
        q.decided_at = optional_time(r, 9);
        q.decision_note = r.text(10);
        q.revoked_by = r.text(11);
        q.revoked_at = optional_time(r, 12);
        return q;
      },
      id, user_id);
}

absl::StatusOr<policy::Settings> Store::Impl::load_settings() {
  auto rows = sql::load_rows<std::pair<std::string, std::string>>(
      db, "SELECT key, value FROM settings",
      [](const sql::Stmt& r) { return std::make_pair(r.text(0), r.text(1)); });
  if (!rows.ok()) return rows.status();
  policy::Settings out;
  for (const auto& [key, value] : *rows) {
    if (key == "proxy.enabled") out.proxy_enabled = value == "true";
  }
  return out;
}

}  // namespace pamproxy::store
