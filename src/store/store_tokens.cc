// REST API tokens (secrets sealed, shown once) and access requests with their workflow:
// pending -> approved | denied; approved -> revoked; pending or approved -> expired (derived).

#include <openssl/crypto.h>

#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"
#include "src/store/validate.h"

namespace pamproxy::store {

using policy::cat;
using policy::sv;

namespace {

std::string token_json(const policy::Token& t) {
  return to_json(t);
}

std::string request_json(const policy::AccessRequest& r, absl::Time now) {
  JsonWriter w;
  write_json(w, r, now);
  return w.take();
}

std::string state_text(policy::RequestState s) {
  return std::string(policy::request_state_name(s));
}

}  // namespace

std::vector<policy::Token> Store::list_tokens(std::string_view user_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_tokens({}, user_id);
  return rows.ok() ? std::move(*rows) : std::vector<policy::Token>{};
}

absl::StatusOr<policy::Token> Store::get_token(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (id.empty()) return absl::NotFoundError("no token with an empty id");
  return one(impl_->load_tokens(id), "token", id);
}

absl::StatusOr<CreatedToken> Store::create_token(const Actor& actor, const TokenSpec& spec) {
  if (absl::Status s = check_name("name", spec.name, 128); !s.ok()) return s;
  std::string networks_text;
  for (const std::string& n : spec.allowed_networks) {
    networks_text += n;
    networks_text += '\n';
  }
  auto nets = policy::parse_cidr_list(networks_text);
  if (!nets.ok()) return invalid_field("allowed_networks", sv(nets.status().message()));
  std::string secret = random_token_secret();
  policy::Token created;
  absl::StatusOr<AdminChange> change =
      impl_->change(actor, "token.create", "token", [&](AdminChange& c) -> absl::Status {
        auto after = impl_->insert_token(c, spec, policy::format_cidr_list(*nets), secret);
        if (!after.ok()) return after.status();
        created = *std::move(after);
        return absl::OkStatus();
      });
  if (!change.ok()) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return change.status();
  }
  return CreatedToken{std::move(created), std::move(secret), std::move(*change)};
}

absl::StatusOr<policy::Token> Store::Impl::insert_token(AdminChange& c, const TokenSpec& spec,
                                                        std::string_view networks_text,
                                                        const std::string& secret) {
  if (spec.expires_at && *spec.expires_at <= c.at) {
    return invalid_field("expires_at", "must be in the future");
  }
  if (auto u = one(load_users(spec.user_id), "user", spec.user_id); !u.ok()) {
    return invalid_field("user_id", sv(u.status().message()));
  }
  c.object_id = random_token_id();
  std::optional<int64_t> expires;
  if (spec.expires_at) expires = to_unix(*spec.expires_at);
  absl::Status s =
      sql::run(db,
               "INSERT INTO tokens (id, name, user_id, secret, created_at, expires_at, "
               "allowed_networks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               c.object_id, spec.name, spec.user_id,
               sql::Blob{key->seal(secret, aad("tokens.secret", c.object_id))}, to_unix(c.at),
               expires, std::string(networks_text));
  if (!s.ok()) return s;
  auto after = one(load_tokens(c.object_id), "token", c.object_id);
  if (!after.ok()) return after.status();
  c.after_json = token_json(*after);
  return after;
}

absl::StatusOr<AdminChange> Store::revoke_token(const Actor& actor, std::string_view id) {
  return impl_->change(actor, "token.revoke", "token", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_tokens(id), "token", id);
    if (!before.ok()) return before.status();
    if (before->revoked_at)
      return absl::FailedPreconditionError(cat("token ", id, " is revoked already"));
    c.before_json = token_json(*before);
    absl::Status s =
        sql::run(impl_->db, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1", id, to_unix(c.at));
    if (!s.ok()) return s;
    before->revoked_at = c.at;
    c.after_json = token_json(*before);
    return absl::OkStatus();
  });
}

absl::Status Store::Impl::touch_tokens(std::span<const Store::TokenUse> uses) {
  for (const auto& [id, at] : uses) {
    absl::Status s = sql::run(db,
                              "UPDATE tokens SET last_used_at = CASE WHEN coalesce(last_used_at, 0) > ?2 "
                              "THEN last_used_at ELSE ?2 END "
                              "WHERE id = ?1",
                              id, to_unix(at));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Store::touch_tokens(std::span<const TokenUse> uses) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::transaction(impl_->db, [&] { return impl_->touch_tokens(uses); });
}

std::vector<policy::AccessRequest> Store::list_requests(std::string_view user_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_requests({}, user_id);
  return rows.ok() ? std::move(*rows) : std::vector<policy::AccessRequest>{};
}

absl::StatusOr<policy::AccessRequest> Store::get_request(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (id.empty()) return absl::NotFoundError("no request with an empty id");
  return one(impl_->load_requests(id), "access request", id);
}

absl::StatusOr<AdminChange> Store::create_request(const Actor& actor, const RequestSpec& spec) {
  if (absl::Status s = check_text("reason", spec.reason, 1024); !s.ok()) return s;
  if (spec.reason.empty()) return invalid_field("reason", "say why you need access");
  if (spec.duration <= absl::ZeroDuration()) return invalid_field("duration_s", "must be positive");
  return impl_->change(
      actor, "request.create", "access_request", [&](AdminChange& c) -> absl::Status {
        if (auto u = one(impl_->load_users(spec.user_id), "user", spec.user_id); !u.ok()) {
          return invalid_field("user_id", sv(u.status().message()));
        }
        auto rec = one(impl_->load_records(spec.record_id), "record", spec.record_id);
        if (!rec.ok()) return invalid_field("record_id", sv(rec.status().message()));
        auto pol = impl_->load_policies(spec.record_id);
        if (!pol.ok()) return pol.status();
        if (pol->empty() || !pol->front().approval_required) {
          return absl::FailedPreconditionError(
              cat("record '", rec->name, "' does not require approval; no request is needed"));
        }
        int64_t max_s = pol->front().approval_max_duration_s;
        if (absl::ToInt64Seconds(spec.duration) > max_s) {
          return invalid_field("duration_s", cat("longer than this record allows (", max_s, " s)"));
        }
        absl::Time start = spec.start_at.value_or(c.at);
        if (start + absl::Minutes(5) < c.at) return invalid_field("start_at", "lies in the past");
        absl::Time end = start + absl::Seconds(absl::ToInt64Seconds(spec.duration));
        c.object_id = random_id("req-", 16);
        absl::Status s = sql::run(
            impl_->db,
            "INSERT INTO access_requests (id, user_id, record_id, start_at, end_at, reason, state, "
            "created_at, decided_by, decision_note, revoked_by) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, '', '', '')",
            c.object_id, spec.user_id, spec.record_id, to_unix(start), to_unix(end), spec.reason,
            to_unix(c.at));
        if (!s.ok()) return s;
        auto after = one(impl_->load_requests(c.object_id), "access request", c.object_id);
        if (!after.ok()) return after.status();
        c.after_json = request_json(*after, c.at);
        return impl_->queue_request_notifications("request.created", *after, c.at);
      });
}

namespace {

// Whether `user_id` may decide requests on `record_id`: an admin, or a member of the approver
// role of the record's policy.
absl::StatusOr<bool> may_decide(Store::Impl& impl, std::string_view user_id,
                                std::string_view record_id) {
  auto user = one(impl.load_users(user_id), "user", user_id);
  if (!user.ok()) return false;
  if (user->admin) return true;
  auto pol = impl.load_policies(record_id);
  if (!pol.ok()) return pol.status();
  if (pol->empty() || pol->front().approver_role_id.empty()) return false;
  auto role = one(impl.load_roles(pol->front().approver_role_id), "role", "");
  if (!role.ok()) return false;
  for (const std::string& m : role->member_user_ids) {
    if (m == user_id) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<AdminChange> Store::approve_request(const Actor& actor, std::string_view id,
                                                   std::string_view note) {
  return decide_request(actor, id, note, true);
}

absl::StatusOr<AdminChange> Store::deny_request(const Actor& actor, std::string_view id,
                                                std::string_view note) {
  return decide_request(actor, id, note, false);
}

absl::StatusOr<AdminChange> Store::decide_request(const Actor& actor, std::string_view id,
                                                  std::string_view note, bool approve) {
  if (absl::Status s = check_text("note", note, 1024); !s.ok()) return s;
  return impl_->change(
      actor, approve ? "request.approve" : "request.deny", "access_request",
      [&](AdminChange& c) -> absl::Status {
        c.object_id = std::string(id);
        auto before = one(impl_->load_requests(id), "access request", id);
        if (!before.ok()) return before.status();
        policy::RequestState state = before->effective_state(c.at);
        if (state != policy::RequestState::kPending) {
          return absl::FailedPreconditionError(
              cat("request ", id, " is ", state_text(state), ", not pending"));
        }
        if (before->user_id == actor.user_id) {
          return absl::PermissionDeniedError("you cannot decide your own access request");
        }
        absl::StatusOr<bool> allowed = may_decide(*impl_, actor.user_id, before->record_id);
        if (!allowed.ok()) return allowed.status();
        if (!*allowed) {
          return absl::PermissionDeniedError(
              "only admins and members of the record's approver role decide its requests");
        }
        c.before_json = request_json(*before, c.at);
        absl::Status s =
            sql::run(impl_->db,
                     "UPDATE access_requests SET state = ?2, decided_by = ?3, "
                     "decided_at = ?4, decision_note = ?5 WHERE id = ?1",
                     id, approve ? "approved" : "denied", actor.user_id, to_unix(c.at), note);
        if (!s.ok()) return s;
        auto after = one(impl_->load_requests(id), "access request", id);
        if (!after.ok()) return after.status();
        c.after_json = request_json(*after, c.at);
        return impl_->queue_request_notifications("request.decided", *after, c.at);
      });
}

absl::StatusOr<AdminChange> Store::revoke_request(const Actor& actor, std::string_view id) {
  return impl_->change(
      actor, "request.revoke", "access_request", [&](AdminChange& c) -> absl::Status {
        c.object_id = std::string(id);
        auto before = one(impl_->load_requests(id), "access request", id);
        if (!before.ok()) return before.status();
        policy::RequestState state = before->effective_state(c.at);
        if (state != policy::RequestState::kPending && state != policy::RequestState::kApproved) {
          return absl::FailedPreconditionError(
              cat("request ", id, " is ", state_text(state),
                  "; only pending or approved requests can be revoked"));
        }
        if (before->user_id != actor.user_id) {
          absl::StatusOr<bool> allowed = may_decide(*impl_, actor.user_id, before->record_id);
          if (!allowed.ok()) return allowed.status();
          if (!*allowed) {
            return absl::PermissionDeniedError(
                "only the requester, admins and the record's approvers revoke a request");
          }
        }
        c.before_json = request_json(*before, c.at);
        absl::Status s = sql::run(impl_->db,
                                  "UPDATE access_requests SET state = 'revoked', revoked_by = ?2, "
                                  "revoked_at = ?3 WHERE id = ?1",
                                  id, actor.user_id, to_unix(c.at));
        if (!s.ok()) return s;
        auto after = one(impl_->load_requests(id), "access request", id);
        if (!after.ok()) return after.status();
        c.after_json = request_json(*after, c.at);
        return absl::OkStatus();
      });
}

}  // namespace pamproxy::store
