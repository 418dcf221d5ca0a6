#pragma once
// What the handler files of the admin API share: the call being answered (its parsed target, the
// authenticated caller, the snapshot it was authenticated against) and the answer helpers.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "pamproxy/admin/api.h"
#include "pamproxy/admin/json_body.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/policy/snapshot.h"

namespace pamproxy::admin {

struct Api::Call {
  const ApiOptions& options;
  const ApiRequest& request;
  absl::Time now;
  size_t body_bytes_max;  // [admin] body_bytes_max as of this request
  std::vector<std::string> segments;  // after "/api/v1/", percent-decoded
  absl::flat_hash_map<std::string, std::string> query;  // percent-decoded; '+' is literal

  // Set once authenticated.
  std::shared_ptr<const policy::Snapshot> snapshot;
  const policy::UserEntry* user = nullptr;
  uint32_t user_index = 0;
  std::string token_id;
  std::optional<ConsoleSession> console_session;  // set when authenticated by the cookie
  Activity* activity = nullptr;                   // the dashboard's per-minute counts

  store::Store& store() const { return *options.store; }
  bool admin() const { return user->user.admin; }
  const std::string& user_id() const { return user->user.id; }
  store::Actor actor() const;
  // The caller's permissions on a record of the snapshot (all of them for an admin).
  policy::Permissions permissions(uint32_t record_index) const;
  // Whether the caller is a member of the role.
  bool in_role(std::string_view role_id) const;
  std::string_view method() const { return request.method; }
  // The query parameter, or "" when absent.
  std::string param(std::string_view name) const;
};

// Splits "<prefix>a/b?x=1&y=2" into segments and parameters (percent-decoded). False when
// malformed, with the reason in `why`.
bool parse_target(std::string_view target, Api::Call* call, std::string* why,
                  std::string_view prefix);
inline constexpr std::string_view kIdentityPrefix = "/auth/oidc/";

// Runs `work` on the admin server's worker and then `finish` on the admin thread (an answer
// with `deferred`), or both inline at once when the caller cannot defer (request.may_defer).
ApiResponse defer(const Api::Call& call, std::function<void()> work,
                  std::function<ApiResponse()> finish);

// Answers.
ApiResponse json_answer(int status, std::string body);
ApiResponse error_answer(int status, std::string_view code, std::string_view message,
                         std::string_view field = {});
ApiResponse bad_field(const JsonError& error);
ApiResponse forbidden(std::string_view why);
ApiResponse not_found(std::string_view what);
ApiResponse method_not_allowed(std::string_view allowed);
// A store error as its HTTP status: InvalidArgument 400 (naming the field), NotFound 404,
// AlreadyExists/FailedPrecondition/Aborted 409, PermissionDenied 403, Unavailable 503, anything
// else 500 (logged).
ApiResponse store_error(const absl::Status& status);
ApiResponse deleted(std::string_view id);
// A change's answer: the object after it (or the store's error).
ApiResponse answer_change(int status, const absl::StatusOr<store::AdminChange>& change);

// Parses the request body as a JSON object (an empty body reads as {}). On failure returns
// nullptr and fills `error_response`.
std::unique_ptr<JsonBody> read_body(const Api::Call& call, ApiResponse* error_response);

// ?limit= (default 100, 1..1000); nullopt and a 400 in `error_response` when malformed.
std::optional<size_t> page_limit(const Api::Call& call, ApiResponse* error_response);

// Writes {"items":[...], "next_cursor":...} for items sorted by `key`, starting after the
// ?cursor= key, at most ?limit= of them. `write` writes one item.
template <typename T, typename Key, typename Write>
ApiResponse page(const Api::Call& call, const std::vector<T>& items, Key key, Write write) {
  ApiResponse error;
  std::optional<size_t> limit = page_limit(call, &error);
  if (!limit) return error;
  const std::string cursor = call.param("cursor");
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  size_t shown = 0;
  std::string last;
  bool more = false;
  for (const T& item : items) {
    const std::string& k = key(item);
    if (!cursor.empty() && k <= cursor) continue;
    if (shown == *limit) {
      more = true;
      break;
    }
    write(w, item);
    last = k;
    ++shown;
  }
  w.end_array();
  if (more) w.key("next_cursor").value(last);
  w.end_object();
  return json_answer(200, w.take());
}

// RFC 3339 ("2026-12-05T08:00:00Z") or nullopt.
std::optional<absl::Time> parse_rfc3339(std::string_view text);

// Resource handlers (api_*.cc). `rest` is the segments after the resource name.
ApiResponse handle_settings(Api::Call& call);
ApiResponse handle_record_types(Api::Call& call);
ApiResponse handle_records(Api::Call& call);
ApiResponse handle_users(Api::Call& call);
ApiResponse handle_roles(Api::Call& call);
ApiResponse handle_group_roles(Api::Call& call);
ApiResponse handle_grants(Api::Call& call);
ApiResponse handle_tokens(Api::Call& call);
ApiResponse handle_requests(Api::Call& call);
ApiResponse handle_sessions(Api::Call& call);
ApiResponse handle_audit(Api::Call& call);
ApiResponse handle_dashboard(Api::Call& call);

// A record reference from a URL or a body: an id, or a reference as in AWS_ACCESS_KEY_ID that
// must match exactly one record the caller may view. On failure returns -1 and fills `error`.
int32_t find_record(const Api::Call& call, std::string_view ref, ApiResponse* error);

}  // namespace pamproxy::admin
