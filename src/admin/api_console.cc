// The web console's sign-in (/api/v1/console/session) and the authentication of the API calls it
// makes with its session cookie. docs/console.md has the design; in short:
//   - Signing in presents a REST API token id and secret, checked exactly as a bearer token is.
//     The browser then holds only the session cookie (HttpOnly: no script reads it); the secret
//     stays on the appliance only as the token's own, and the session as its digest.
//   - A cookie call is the token's call: the token is checked again on every call (revoked,
//     expired, networks, its user disabled), and a changed secret ends the session.
//   - Sessions live in the store (console_sessions.h): a restart keeps them, every node sharing
//     a PostgreSQL database knows them. Each cookie call reads its row (and writes its last use
//     at most once a second): console calls are a person's clicks on the admin thread, far from
//     the proxy's requests, so no cache sits in front, and a session ended on one node (sign-out,
//     a disabled user) is ended on all at once.
//   - CSRF: a browser attaches the cookie to requests another site makes it send. SameSite=Strict
//     already stops most; a cookie call that changes something must also come from the console's
//     own origin and carry the session's CSRF token in X-Pamproxy-CSRF, which another site can
//     neither read nor guess.

#include <openssl/crypto.h>

#include "api_internal.h"
#include "console.h"
#include "pamproxy/admin/cookie.h"
#include "pamproxy/base/log.h"
#include "pamproxy/policy/authenticate.h"
#include "pamproxy/store/json.h"

namespace pamproxy::admin {
namespace {

ApiResponse unauthenticated(std::string_view why) {
  return error_answer(401, "Unauthenticated", why);
}

// The origin a browser shows for a page of this listener: https://<Host>.
bool same_origin(const ApiRequest& request) {
  constexpr std::string_view kScheme = "https://";
  const std::string_view origin = request.origin;
  return !request.host.empty() && origin.size() == kScheme.size() + request.host.size() &&
         origin.starts_with(kScheme) && origin.substr(kScheme.size()) == request.host;
}

bool changes_something(std::string_view method) {
  return method != "GET" && method != "HEAD";
}

std::string session_cookie(std::string_view id) {
  return std::string(kSessionCookie) + "=" + std::string(id) +
         "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

// Who is signed in, and what the page needs to make changes (the CSRF token).
ApiResponse session_answer(int status, const Api::Call& call, const ConsoleSession& session,
                           absl::Duration idle, absl::Duration absolute) {
  JsonWriter w;
  w.begin_object().key("user");
  store::write_json(w, call.user->user);
  w.key("token_id").value(call.token_id);
  w.key("csrf_token").value(session.csrf);
  w.key("idle_timeout_s").value(static_cast<int64_t>(absl::ToInt64Seconds(idle)));
  w.key("expires_at")
      .value(absl::FormatTime(absl::RFC3339_sec, session.created + absolute, absl::UTCTimeZone()));
  // For the HTTPS_PROXY the console's exports name (with the host the console was reached at).
  if (call.options.proxy_port != 0) {
    w.key("proxy_port").value(static_cast<int64_t>(call.options.proxy_port));
  }
  w.end_object();
  return json_answer(status, w.take());
}

}  // namespace

std::optional<ApiResponse> Api::authenticate_cookie(Call& call, std::string_view session_id) {
  const absl::Duration idle =
      absl::Seconds(session_idle_timeout_s_.load(std::memory_order_relaxed));
  const absl::Duration absolute =
      absl::Seconds(session_absolute_timeout_s_.load(std::memory_order_relaxed));
  absl::StatusOr<std::optional<ConsoleSession>> found =
      console_sessions_.find(session_id, call.now, idle, absolute);
  if (!found.ok()) return store_error(found.status());
  if (!*found) {
    return unauthenticated("the console session is unknown or has ended: sign in again");
  }
  call.console_session = std::move(**found);
  const ConsoleSession* session = &*call.console_session;
  call.snapshot = options_.store->snapshot();
  if (session->token_id.empty()) {
    // Signed in through the provider: the session stands for the user, as long as she exists
    // and sign-in through the provider is on.
    const policy::UserEntry* user = call.snapshot->find_user(session->user_id);
    if (user == nullptr || user->user.disabled || !identity_enabled()) {
      console_sessions_.end(session_id).IgnoreError();  // it is refused either way
      return unauthenticated(user == nullptr ? "the user of this console session no longer exists"
                             : user->user.disabled
                                 ? "user " + user->user.name + " is disabled"
                                 : "sign-in through the identity provider is off: sign in again");
    }
    call.user = user;
  } else {
    policy::TokenCheck check =
        policy::check_token(*call.snapshot, session->token_id, call.request.client, call.now);
    if (check.deny == policy::DenyKind::kNone &&
        (check.user->user.id != session->user_id ||
         !ConsoleSessions::same_secret(session_id, *session, check.token->token.secret.reveal()))) {
      check.deny = policy::DenyKind::kTokenUnknown;
      check.reason = "the token of this console session has changed: sign in again";
    }
    if (check.deny != policy::DenyKind::kNone) {
      console_sessions_.end(session_id).IgnoreError();  // it is refused either way
      return unauthenticated(check.reason);
    }
    call.user = check.user;
    call.token_id = check.token->token.id;
  }
  if (changes_something(call.request.method)) {
    const std::string_view csrf = call.request.csrf;
    const bool csrf_ok = csrf.size() == session->csrf.size() &&
                         CRYPTO_memcmp(csrf.data(), session->csrf.data(), csrf.size()) == 0;
    if (!same_origin(call.request) || !csrf_ok) {
      return forbidden(
          "a console request that changes something must come from the console's own origin "
          "(Origin: https://<this host>) with the X-Pamproxy-CSRF header of its session");
    }
  }
  call.user_index = static_cast<uint32_t>(call.user - call.snapshot->users().data());
  return std::nullopt;
}

ApiResponse Api::handle_console_session(Call& call) {
  const ApiRequest& request = call.request;
  const absl::Duration idle =
      absl::Seconds(session_idle_timeout_s_.load(std::memory_order_relaxed));
  const absl::Duration absolute =
      absl::Seconds(session_absolute_timeout_s_.load(std::memory_order_relaxed));
  if (request.method == "POST") {
    // Sign-in changes nothing a session could be tricked into, but a page of another origin has
    // no business signing this browser in either.
    if (!request.origin.empty() && !same_origin(request)) {
      return forbidden("sign in from the console's own origin");
    }
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    auto token_id = body->string("token_id", kRequired, 1, 128);
    auto secret = body->string("secret", kRequired, 1, 256);
    if (!body->finish()) return bad_field(body->error());
    call.snapshot = options_.store->snapshot();
    policy::TokenCheck check =
        policy::authenticate_bearer(*call.snapshot, *token_id, *secret, request.client, call.now);
    if (check.deny != policy::DenyKind::kNone) return unauthenticated(check.reason);
    call.user = check.user;
    call.token_id = check.token->token.id;
    // Signing in again replaces this browser's session rather than leaving it behind.
    if (auto previous = find_cookie(request.cookie, kSessionCookie)) {
      if (absl::Status s = console_sessions_.end(*previous); !s.ok()) return store_error(s);
    }
    auto created =
        console_sessions_.create({.user_id = check.user->user.id, .token_id = call.token_id},
                                 *secret, call.now, idle, absolute);
    if (!created.ok()) {
      if (!absl::IsResourceExhausted(created.status())) return store_error(created.status());
      return error_answer(503, "Unavailable",
                          "too many console sessions are open; try again when some have ended");
    }
    log::info("admin.console_signed_in")
        .kv("client", request.client.to_string())
        .kv("user_id", call.user_id())
        .kv("token_id", call.token_id);
    ApiResponse r = session_answer(201, call, created->session, idle, absolute);
    r.headers.emplace_back("Set-Cookie", session_cookie(created->id));
    return r;
  }
  if (request.method != "GET" && request.method != "DELETE") {
    return method_not_allowed("GET, POST, DELETE");
  }
  std::optional<std::string_view> session_id = find_cookie(request.cookie, kSessionCookie);
  if (!session_id) return unauthenticated("no console session: sign in first");
  if (std::optional<ApiResponse> refused = authenticate_cookie(call, *session_id)) {
    return *refused;
  }
  if (request.method == "GET")
    return session_answer(200, call, *call.console_session, idle, absolute);
  if (absl::Status s = console_sessions_.end(*session_id); !s.ok()) return store_error(s);
  log::info("admin.console_signed_out")
      .kv("client", request.client.to_string())
      .kv("user_id", call.user_id())
      .kv("token_id", call.token_id);
  JsonWriter w;
  w.begin_object().key("signed_out").value(true).end_object();
  ApiResponse r = json_answer(200, w.take());
  r.headers.emplace_back(
      "Set-Cookie",
      std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

}  // namespace pamproxy::admin
