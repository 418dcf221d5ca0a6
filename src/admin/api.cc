// The admin API's entry point: hands paths outside /api/v1/ to the web console (console.cc),
// parses the target, answers the unauthenticated calls, authenticates the bearer token against
// the current snapshot (or the console's session cookie, api_console.cc), and routes to the
// resource handlers (api_*.cc). Shared answer helpers live here too.

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "activity.h"
#include "api_internal.h"
#include "console.h"
#include "pamproxy/admin/cookie.h"
#include "pamproxy/base/log.h"
#include "pamproxy/policy/authenticate.h"
#include "pamproxy/policy/record_ref.h"
#include "pamproxy/policy/resolve.h"
#include "pamproxy/store/json.h"

namespace pamproxy::admin {
namespace {

constexpr std::string_view kPrefix = "/api/v1/";
constexpr size_t kTargetBytesMax = 4096;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict percent-decoding: "%" must be followed by two hex digits; a decoded NUL or control
// character is refused (no name or reference in this API has one).
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

// The pieces of `s` between `sep`s (an empty `s` gives one empty piece).
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

}  // namespace

// Splits "/api/v1/a/b?x=1&y=2" into segments and parameters. False when malformed.
bool parse_target(std::string_view target, Api::Call* call, std::string* why,
                  std::string_view prefix) {
  if (target.size() > kTargetBytesMax) {
    *why = "the request target is longer than 4096 bytes";
    return false;
  }
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path.substr(0, prefix.size()) != prefix) {
    *why = "unknown path: the API lives under /api/v1/";
    return false;
  }
  path.remove_prefix(prefix.size());
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (std::string_view seg : split(path, '/')) {
    auto decoded = percent_decode(seg);
    if (!decoded || decoded->empty()) {
      *why = "malformed path segment";
      return false;
    }
    call->segments.push_back(std::move(*decoded));
  }
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value || name->empty()) {
      *why = "malformed query string";
      return false;
    }
    if (!call->query.emplace(std::move(*name), std::move(*value)).second) {
      *why = "query parameter given twice";
      return false;
    }
  }
  return true;
}

namespace {

ApiResponse unauthenticated(std::string_view why) {
  return error_answer(401, "Unauthenticated", why);
}

}  // namespace

std::string error_json(std::string_view code, std::string_view message, std::string_view field) {
  JsonWriter w;
  w.begin_object().key("error").begin_object();
  w.key("code").value(code).key("message").value(message);
  if (!field.empty()) w.key("field").value(field);
  w.end_object().end_object();
  return w.take();
}

ApiResponse defer(const Api::Call& call, std::function<void()> work,
                  std::function<ApiResponse()> finish) {
  if (!call.request.may_defer) {
    work();
    return finish();
  }
  ApiResponse r;
  r.deferred = std::make_shared<Deferred>(Deferred{std::move(work), std::move(finish)});
  return r;
}

ApiResponse json_answer(int status, std::string body) {
  return ApiResponse{status, "application/json", std::move(body)};
}

ApiResponse error_answer(int status, std::string_view code, std::string_view message,
                         std::string_view field) {
  return json_answer(status, error_json(code, message, field));
}

ApiResponse bad_field(const JsonError& error) {
  return error_answer(400, error.field.empty() ? "BadRequest" : "InvalidField", error.to_string(),
                      error.field);
}

ApiResponse forbidden(std::string_view why) { return error_answer(403, "Forbidden", why); }

ApiResponse not_found(std::string_view what) { return error_answer(404, "NotFound", what); }

ApiResponse method_not_allowed(std::string_view allowed) {
  return error_answer(405, "MethodNotAllowed", std::string("allowed here: ") + std::string(allowed));
}

ApiResponse store_error(const absl::Status& s) {
  const std::string message(s.message());
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: {
      std::string field = store::field_of(s);
      return error_answer(400, field.empty() ? "BadRequest" : "InvalidField", message, field);
    }
    case absl::StatusCode::kNotFound: return error_answer(404, "NotFound", message);
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted: return error_answer(409, "Conflict", message);
    case absl::StatusCode::kPermissionDenied: return error_answer(403, "Forbidden", message);
    case absl::StatusCode::kUnavailable: return error_answer(503, "Unavailable", message);
    default:
      log::error("admin.store_failed").kv("error", message);
      return error_answer(500, "Internal", "the store failed; the appliance log has the details");
  }
}

ApiResponse deleted(std::string_view id) {
  JsonWriter w;
  w.begin_object().key("deleted").value(id).end_object();
  return json_answer(200, w.take());
}

ApiResponse answer_change(int status, const absl::StatusOr<store::AdminChange>& change) {
  if (!change.ok()) return store_error(change.status());
  return json_answer(status, change->after_json);
}

std::unique_ptr<JsonBody> read_body(const Api::Call& call, ApiResponse* error_response) {
  std::string_view text = call.request.body;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) text = "{}";
  JsonError error;
  auto body = JsonBody::parse(
      text, JsonBody::Limits{.body_bytes_max = call.body_bytes_max, .depth_max = 8},
      &error);
  if (!body) *error_response = bad_field(error);
  return body;
}

std::optional<size_t> page_limit(const Api::Call& call, ApiResponse* error_response) {
  std::string text = call.param("limit");
  if (text.empty()) return 100;
  size_t limit = 0;
  if (!absl::SimpleAtoi(text, &limit) || limit < 1 || limit > 1000) {
    *error_response = error_answer(400, "InvalidField", "limit: expected 1..1000", "limit");
    return std::nullopt;
  }
  return limit;
}

std::optional<absl::Time> parse_rfc3339(std::string_view text) {
  absl::Time t;
  std::string err;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return std::nullopt;
  return t;
}

store::Actor Api::Call::actor() const {
  return store::Actor{user_id(), token_id, request.client.to_string()};
}

policy::Permissions Api::Call::permissions(uint32_t record_index) const {
  if (admin()) return policy::kAllPermissions;
  return snapshot->permissions(user_index, record_index);
}

bool Api::Call::in_role(std::string_view role_id) const {
  const policy::Role* role = snapshot->find_role(role_id);
  return role != nullptr && std::binary_search(role->member_user_ids.begin(),
                                               role->member_user_ids.end(), user_id());
}

std::string Api::Call::param(std::string_view name) const {
  auto it = query.find(std::string(name));
  return it == query.end() ? std::string() : it->second;
}

int32_t find_record(const Api::Call& call, std::string_view text, ApiResponse* error) {
  const policy::Snapshot& s = *call.snapshot;
  auto visible = [&](int32_t i) { return i >= 0 && call.permissions(i) != 0; };
  auto ref = policy::parse_record_ref(text);
  if (!ref.ok()) {
    *error = error_answer(400, "BadRequest", std::string(ref.status().message()));
    return -1;
  }
  if (ref->bare) {
    int32_t i = s.record_index_by_id(text);
    if (i < 0) i = s.record_index_by_name(text);
    if (visible(i)) return i;
    *error = not_found("no record with id or name '" + std::string(text) + "' that you may view");
    return -1;
  }
  int32_t found = -1;
  size_t count = 0;
  std::string names;
  for (uint32_t i = 0; i < s.records().size(); ++i) {
    if (!policy::record_matches(*ref, s.record(i).record) || !visible(i)) continue;
    if (count++ == 0) found = static_cast<int32_t>(i);
    if (count <= 5) names += (count > 1 ? ", " : "") + s.record(i).record.id;
  }
  if (count == 1) return found;
  if (count == 0) {
    *error = not_found("no record you may view matches '" + std::string(text) + "'");
  } else {
    *error = error_answer(409, "Conflict",
                          "'" + std::string(text) + "' matches " + std::to_string(count) +
                              " records (" + names + (count > 5 ? ", ..." : "") +
                              "); use a record id or narrow the criteria");
  }
  return -1;
}

namespace {

// GET /settings, /records and /records/{ref}: read from the snapshot the call was authenticated
// against, not from the database.
bool answered_from_snapshot(const Api::Call& call) {
  const std::string& resource = call.segments[0];
  if (call.method() != "GET") return false;
  return (resource == "settings" && call.segments.size() == 1) ||
         (resource == "records" && call.segments.size() <= 2);
}

}  // namespace

Api::Api(ApiOptions options)
    : options_(std::move(options)),
      activity_(std::make_unique<Activity>(options_.audit_directory)) {}

Api::~Api() = default;

ApiResponse Api::handle(const ApiRequest& request) {
  Call call{.options = options_,
            .request = request,
            .now = options_.now(),
            .body_bytes_max = body_bytes_max_.load(std::memory_order_relaxed),
            .activity = activity_.get()};
  std::string why;
  const bool console_enabled = console_enabled_.load(std::memory_order_relaxed);
  if (console_enabled && request.target.starts_with(kIdentityPrefix)) {
    if (!parse_target(request.target, &call, &why, kIdentityPrefix)) {
      return error_answer(400, "BadRequest", why);
    }
    return handle_identity_sign_in(call);
  }
  if (console_enabled && !request.target.starts_with(kPrefix)) {
    return serve_console(request, console_enabled);
  }
  if (!parse_target(request.target, &call, &why, kPrefix)) {
    return error_answer(request.target.substr(0, kPrefix.size()) == kPrefix ? 400 : 404,
                        request.target.substr(0, kPrefix.size()) == kPrefix ? "BadRequest"
                                                                            : "NotFound",
                        why);
  }
  if (call.segments.empty()) return not_found("no resource named");
  const std::string& resource = call.segments[0];

  // Unauthenticated: what a client needs before it has a token.
  if (resource == "health" && call.segments.size() == 1) {
    if (request.method != "GET") return method_not_allowed("GET");
    JsonWriter w;
    w.begin_object().key("status").value("ok").key("version").value(PAMPROXY_VERSION).end_object();
    return json_answer(200, w.take());
  }
  if (resource == "ca.pem" && call.segments.size() == 1) {
    if (request.method != "GET") return method_not_allowed("GET");
    return ApiResponse{200, "application/x-pem-file", options_.ca_pem};
  }

  if (resource == "auth" && call.segments.size() >= 2) return handle_cli_auth(call);

  if (resource == "console" && call.segments.size() == 2 && call.segments[1] == "session") {
    if (!console_enabled) return not_found("the web console is off ([console] enabled)");
    return handle_console_session(call);
  }
  if (resource == "console" && call.segments.size() == 2 && call.segments[1] == "identity") {
    if (!console_enabled) return not_found("the web console is off ([console] enabled)");
    return handle_console_identity(call);
  }

  // Everything else needs `Authorization: Bearer <id>:<secret>`, or the web console's session
  // cookie, which stands for the token the session signed in with.
  std::string_view auth = request.authorization;
  constexpr std::string_view kBearer = "Bearer ";
  std::optional<std::string_view> session_id;
  if (console_enabled && auth.empty()) session_id = find_cookie(request.cookie, kSessionCookie);
  if (session_id) {
    if (std::optional<ApiResponse> refused = authenticate_cookie(call, *session_id)) {
      return *refused;
    }
    return route(call);
  }
  if (auth.empty()) {
    return unauthenticated("this call needs Authorization: Bearer <token id>:<secret>");
  }
  if (auth.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return unauthenticated("the Authorization field must be Bearer <token id>:<secret>");
  }
  std::string_view bearer = auth.substr(kBearer.size());
  size_t colon = bearer.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == bearer.size()) {
    return unauthenticated("the bearer token must be <token id>:<secret>");
  }
  call.snapshot = options_.store->snapshot();
  policy::TokenCheck check = policy::authenticate_bearer(
      *call.snapshot, bearer.substr(0, colon), bearer.substr(colon + 1), request.client, call.now);
  if (check.deny != policy::DenyKind::kNone) return unauthenticated(check.reason);
  call.user = check.user;
  call.user_index = static_cast<uint32_t>(check.user - call.snapshot->users().data());
  call.token_id = check.token->token.id;
  return route(call);
}

ApiResponse Api::route(Call& call) {
  const std::string& resource = call.segments[0];
  const ApiRequest& request = call.request;
  if (resource == "whoami" && call.segments.size() == 1) {
    if (request.method != "GET") return method_not_allowed("GET");
    JsonWriter w;
    w.begin_object().key("user");
    store::write_json(w, call.user->user);
    w.key("token_id").value(call.token_id).end_object();
    return json_answer(200, w.take());
  }
  if (resource == "metrics" && call.segments.size() == 1) {
    if (request.method != "GET") return method_not_allowed("GET");
    if (!call.admin()) return forbidden("metrics are for admins");
    if (!options_.metrics) return not_found("this appliance serves no metrics");
    return ApiResponse{200, "text/plain; version=0.0.4", options_.metrics()};
  }
  // The database away (a shared PostgreSQL store): the snapshot still answers what it holds,
  // every other call (a change, or a read of the database) waits until it is back.
  if (!options_.store->reachable() && !answered_from_snapshot(call)) {
    return error_answer(503, "Unavailable",
                        "database " + options_.store->database_name() +
                            " is unreachable: this node serves from its last snapshot and "
                            "takes no change until the database is back");
  }
  if (resource == "settings") return handle_settings(call);
  if (resource == "record-types") return handle_record_types(call);
  if (resource == "records") return handle_records(call);
  if (resource == "users") return handle_users(call);
  if (resource == "roles") return handle_roles(call);
  if (resource == "group-roles") return handle_group_roles(call);
  if (resource == "grants") return handle_grants(call);
  if (resource == "tokens") return handle_tokens(call);
  if (resource == "requests") return handle_requests(call);
  if (resource == "sessions") return handle_sessions(call);
  if (resource == "audit") return handle_audit(call);
  if (resource == "dashboard") return handle_dashboard(call);
  return not_found("no resource '" + resource + "' (see docs/admin-api.md)");
}

}  // namespace pamproxy::admin
