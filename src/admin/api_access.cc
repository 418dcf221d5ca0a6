// Admin API: users, roles, grants, REST API tokens and access requests (docs/admin-api.md).

#include <algorithm>

#include "api_internal.h"
#include "pamproxy/store/json.h"

namespace pamproxy::admin {
namespace {

constexpr size_t kListMax = 64;
constexpr int64_t kTokenLifetimeMaxS = 10ll * 366 * 86400;

const std::string& id_of(const auto& item) { return item.id; }

ApiResponse users(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (!call.admin()) return forbidden("listing and adding users is for admins");
    if (call.method() == "GET") {
      std::vector<policy::User> all = call.store().list_users();
      std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.id < b.id; });
      return page(call, all, id_of<policy::User>,
                  [](JsonWriter& w, const policy::User& u) { store::write_json(w, u); });
    }
    if (call.method() != "POST") return method_not_allowed("GET, POST");
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    auto name = body->string("name", kRequired, 1, 200);
    auto admin = body->boolean("admin", kOptional);
    auto email = body->string("email", kOptional, 0, 254);
    if (!body->finish()) return bad_field(body->error());
    return answer_change(201, call.store().create_user(call.actor(), {*name, admin.value_or(false),
                                                                      email.value_or("")}));
  }
  if (seg.size() != 2) return not_found("users or users/{ref}");
  // A user by her id or her name (names are unique): `pamctl users disable alice`.
  std::string id = seg[1];
  if (call.snapshot->find_user(id) == nullptr) {
    for (const policy::UserEntry& u : call.snapshot->users()) {
      if (u.user.name == id) {
        id = u.user.id;
        break;
      }
    }
  }
  if (call.method() == "GET") {
    if (!call.admin() && id != call.user_id()) return forbidden("you may see only your own user");
    auto user = call.store().get_user(id);
    if (!user.ok()) return store_error(user.status());
    return json_answer(200, store::to_json(*user));
  }
  if (!call.admin()) return forbidden("changing users is for admins");
  if (call.method() == "PATCH") {
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    store::UserPatch patch{
        body->string("name", kOptional, 1, 200), body->boolean("admin", kOptional),
        body->string("email", kOptional, 0, 254), body->boolean("disabled", kOptional)};
    if (!body->finish()) return bad_field(body->error());
    return answer_change(200, call.store().update_user(call.actor(), id, patch));
  }
  if (call.method() == "DELETE") {
    auto change = call.store().delete_user(call.actor(), id);
    if (!change.ok()) return store_error(change.status());
    return deleted(id);
  }
  return method_not_allowed("GET, PATCH, DELETE");
}

ApiResponse roles(Api::Call& call) {
  const auto& seg = call.segments;
  if (!call.admin()) return forbidden("roles are managed by admins");
  if (seg.size() == 1) {
    if (call.method() == "GET") {
      std::vector<policy::Role> all = call.store().list_roles();
      std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.id < b.id; });
      return page(call, all, id_of<policy::Role>,
                  [](JsonWriter& w, const policy::Role& r) { store::write_json(w, r); });
    }
    if (call.method() != "POST") return method_not_allowed("GET, POST");
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    auto name = body->string("name", kRequired, 1, 200);
    auto description = body->string("description", kOptional, 0, 1024);
    if (!body->finish()) return bad_field(body->error());
    return answer_change(201, call.store().create_role(call.actor(), *name,
                                                       description.value_or("")));
  }
  const std::string& id = seg[1];
  if (seg.size() == 2) {
    if (call.method() == "GET") {
      auto role = call.store().get_role(id);
      if (!role.ok()) return store_error(role.status());
      return json_answer(200, store::to_json(*role));
    }
    if (call.method() != "DELETE") return method_not_allowed("GET, DELETE");
    auto change = call.store().delete_role(call.actor(), id);
    if (!change.ok()) return store_error(change.status());
    return deleted(id);
  }
  if (seg.size() == 4 && seg[2] == "members") {
    if (call.method() == "PUT") {
      return answer_change(200, call.store().add_role_member(call.actor(), id, seg[3]));
    }
    if (call.method() == "DELETE") {
      return answer_change(200, call.store().remove_role_member(call.actor(), id, seg[3]));
    }
    return method_not_allowed("PUT, DELETE");
  }
  return not_found("roles, roles/{id} or roles/{id}/members/{user}");
}

// Whether the grant reaches the caller (directly or through a role).
bool grant_reaches(const Api::Call& call, const policy::Grant& g) {
  return g.user_id == call.user_id() || (!g.role_id.empty() && call.in_role(g.role_id));
}

// Whether the caller may create or delete this grant: admins any; a record's managers the
// one-record grants on it.
bool may_manage_grant(const Api::Call& call, const std::string& record_id, std::string* why) {
  if (call.admin()) return true;
  if (record_id.empty()) {
    *why = "tag grants are for admins";
    return false;
  }
  int32_t index = call.snapshot->record_index_by_id(record_id);
  if (index < 0 || (call.permissions(index) & policy::kManage) == 0) {
    *why = "granting on a record needs the manage permission on it";
    return false;
  }
  return true;
}

ApiResponse grants(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1 && call.method() == "GET") {
    const std::string record = call.param("record");
    std::vector<policy::Grant> shown;
    for (policy::Grant& g : call.store().list_grants()) {
      if (!record.empty() && g.record_id != record) continue;
      int32_t index = g.record_id.empty() ? -1 : call.snapshot->record_index_by_id(g.record_id);
      bool manages = index >= 0 && (call.permissions(index) & policy::kManage) != 0;
      if (call.admin() || grant_reaches(call, g) || manages) shown.push_back(std::move(g));
    }
    std::sort(shown.begin(), shown.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return page(call, shown, id_of<policy::Grant>,
                [](JsonWriter& w, const policy::Grant& g) { store::write_json(w, g); });
  }
  if (seg.size() == 1 && call.method() == "POST") {
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    store::GrantSpec spec;
    spec.user_id = body->string("user_id", kOptional, 1, 64).value_or("");
    spec.role_id = body->string("role_id", kOptional, 1, 64).value_or("");
    auto record = body->string("record_id", kOptional, 1, 256);
    spec.tag = body->string("tag", kOptional, 1, 64).value_or("");
    auto permissions = body->string_list("permissions", kRequired, 4, 16);
    if (!body->finish()) return bad_field(body->error());
    std::string joined;
    for (const std::string& p : *permissions) joined += (joined.empty() ? "" : ",") + p;
    auto bits = policy::parse_permissions(joined);
    if (!bits) {
      return bad_field({"permissions", "expected a non-empty list of view, connect, edit, manage"});
    }
    spec.permissions = *bits;
    if (record) {
      // Accept a reference too, as everywhere a record is named.
      int32_t index = find_record(call, *record, &error);
      if (index < 0) return error;
      spec.record_id = call.snapshot->record(index).record.id;
    }
    std::string why;
    if (!may_manage_grant(call, spec.record_id, &why)) return forbidden(why);
    return answer_change(201, call.store().create_grant(call.actor(), spec));
  }
  if (seg.size() == 1) return method_not_allowed("GET, POST");
  if (seg.size() != 2) return not_found("grants or grants/{id}");
  if (call.method() != "DELETE") return method_not_allowed("DELETE");
  std::vector<policy::Grant> all = call.store().list_grants();
  auto it = std::find_if(all.begin(), all.end(), [&](auto& g) { return g.id == seg[1]; });
  if (it == all.end()) return not_found("no grant '" + seg[1] + "'");
  std::string why;
  if (!may_manage_grant(call, it->record_id, &why)) return forbidden(why);
  auto change = call.store().delete_grant(call.actor(), seg[1]);
  if (!change.ok()) return store_error(change.status());
  return deleted(seg[1]);
}

ApiResponse create_token(Api::Call& call) {
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  auto name = body->string("name", kRequired, 1, 200);
  auto user = body->string("user_id", kOptional, 1, 64);
  auto expires_in = body->integer("expires_in_s", kOptional, 1, kTokenLifetimeMaxS);
  auto expires_at = body->string("expires_at", kOptional, 1, 64);
  auto networks = body->string_list("allowed_networks", kOptional, kListMax, 64);
  if (!body->finish()) return bad_field(body->error());
  store::TokenSpec spec;
  spec.user_id = user.value_or(call.user_id());
  if (spec.user_id != call.user_id() && !call.admin()) {
    return forbidden("creating a token for another user is for admins");
  }
  spec.name = *name;
  if (expires_in && expires_at) {
    return bad_field({"expires_at", "give expires_in_s or expires_at, not both"});
  }
  if (expires_in) spec.expires_at = call.now + absl::Seconds(*expires_in);
  if (expires_at) {
    spec.expires_at = parse_rfc3339(*expires_at);
    if (!spec.expires_at) return bad_field({"expires_at", "expected RFC 3339, e.g. 2026-12-31T18:00:00Z"});
    if (*spec.expires_at <= call.now) return bad_field({"expires_at", "is in the past"});
  }
  spec.allowed_networks = networks.value_or(std::vector<std::string>{});
  auto created = call.store().create_token(call.actor(), spec);
  if (!created.ok()) return store_error(created.status());
  // The one answer that carries a secret: the token's own, for its creator.
  std::string json = store::to_json(created->token);
  json.pop_back();  // the object's closing brace
  json += ",\"secret\":";
  JsonWriter::append_escaped(json, created->secret);
  json += ",\"bearer\":";
  JsonWriter::append_escaped(json, created->token.id + ":" + created->secret);
  json += "}";
  return json_answer(201, std::move(json));
}

ApiResponse tokens(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (call.method() == "POST") return create_token(call);
    if (call.method() != "GET") return method_not_allowed("GET, POST");
    std::string user = call.param("user");
    if (!call.admin()) {
      if (!user.empty() && user != call.user_id()) return forbidden("you may list only your tokens");
      user = call.user_id();
    }
    std::vector<policy::Token> list = call.store().list_tokens(user);
    std::sort(list.begin(), list.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return page(call, list, id_of<policy::Token>,
                [](JsonWriter& w, const policy::Token& t) { store::write_json(w, t); });
  }
  const std::string& id = seg[1];
  auto token = call.store().get_token(id);
  // Someone else's token reads as absent to a non-admin.
  if (!token.ok() || (!call.admin() && token->user_id != call.user_id())) {
    return token.ok() || token.status().code() == absl::StatusCode::kNotFound
               ? not_found("no token '" + id + "' of yours")
               : store_error(token.status());
  }
  if (seg.size() == 2) {
    if (call.method() != "GET") return method_not_allowed("GET");
    return json_answer(200, store::to_json(*token));
  }
  if (seg.size() == 3 && seg[2] == "revoke") {
    if (call.method() != "POST") return method_not_allowed("POST");
    return answer_change(200, call.store().revoke_token(call.actor(), id));
  }
  return not_found("tokens, tokens/{id} or tokens/{id}/revoke");
}

// Whether the caller may decide requests for the record (admin, or in its approver role).
bool approver_of(const Api::Call& call, const std::string& record_id) {
  if (call.admin()) return true;
  int32_t index = call.snapshot->record_index_by_id(record_id);
  if (index < 0) return false;
  const policy::AccessPolicy* p = call.snapshot->record(index).policy;
  return p != nullptr && !p->approver_role_id.empty() && call.in_role(p->approver_role_id);
}

ApiResponse write_request(const Api::Call& call, int status, const std::string& id) {
  auto r = call.store().get_request(id);
  if (!r.ok()) return store_error(r.status());
  JsonWriter w;
  store::write_json(w, *r, call.now);
  return json_answer(status, w.take());
}

ApiResponse create_request(Api::Call& call) {
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  auto record = body->string("record", kRequired, 1, 256);
  auto start = body->string("start_at", kOptional, 1, 64);
  auto duration = body->integer("duration_s", kOptional, 60, 366 * 86400);
  auto reason = body->string("reason", kRequired, 1, 1024);
  if (!body->finish()) return bad_field(body->error());
  int32_t index = find_record(call, *record, &error);
  if (index < 0) return error;
  store::RequestSpec spec;
  spec.user_id = call.user_id();
  spec.record_id = call.snapshot->record(index).record.id;
  if (start) {
    spec.start_at = parse_rfc3339(*start);
    if (!spec.start_at) return bad_field({"start_at", "expected RFC 3339, e.g. 2026-12-31T08:00:00Z"});
  }
  if (duration) spec.duration = absl::Seconds(*duration);
  spec.reason = *reason;
  auto change = call.store().create_request(call.actor(), spec);
  if (!change.ok()) return store_error(change.status());
  return write_request(call, 201, change->object_id);
}

ApiResponse requests(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (call.method() == "POST") return create_request(call);
    if (call.method() != "GET") return method_not_allowed("GET, POST");
    const std::string state = call.param("state");
    std::vector<policy::AccessRequest> shown;
    for (policy::AccessRequest& r : call.store().list_requests()) {
      if (!state.empty() && policy::request_state_name(r.effective_state(call.now)) != state) {
        continue;
      }
      if (r.user_id == call.user_id() || approver_of(call, r.record_id)) {
        shown.push_back(std::move(r));
      }
    }
    std::sort(shown.begin(), shown.end(), [](auto& a, auto& b) { return a.id < b.id; });
    const absl::Time now = call.now;
    return page(call, shown, id_of<policy::AccessRequest>,
                [now](JsonWriter& w, const policy::AccessRequest& r) {
                  store::write_json(w, r, now);
                });
  }
  const std::string& id = seg[1];
  auto request = call.store().get_request(id);
  if (!request.ok() ||
      (request->user_id != call.user_id() && !approver_of(call, request->record_id))) {
    return request.ok() || request.status().code() == absl::StatusCode::kNotFound
               ? not_found("no access request '" + id + "' you may see")
               : store_error(request.status());
  }
  if (seg.size() == 2) {
    if (call.method() != "GET") return method_not_allowed("GET");
    return write_request(call, 200, id);
  }
  if (seg.size() != 3) return not_found("requests/{id}/approve, /deny or /revoke");
  if (call.method() != "POST") return method_not_allowed("POST");
  const std::string& action = seg[2];
  absl::StatusOr<store::AdminChange> change;
  if (action == "approve" || action == "deny") {
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    std::string note = body->string("note", kOptional, 0, 1024).value_or("");
    if (!body->finish()) return bad_field(body->error());
    change = action == "approve" ? call.store().approve_request(call.actor(), id, note)
                                 : call.store().deny_request(call.actor(), id, note);
  } else if (action == "revoke") {
    change = call.store().revoke_request(call.actor(), id);
  } else {
    return not_found("requests/{id}/approve, /deny or /revoke");
  }
  if (!change.ok()) return store_error(change.status());
  return write_request(call, 200, id);
}

}  // namespace

ApiResponse handle_users(Api::Call& call) { return users(call); }
ApiResponse handle_roles(Api::Call& call) { return roles(call); }
ApiResponse handle_grants(Api::Call& call) { return grants(call); }
ApiResponse handle_tokens(Api::Call& call) { return tokens(call); }
ApiResponse handle_requests(Api::Call& call) { return requests(call); }

}  // namespace pamproxy::admin
