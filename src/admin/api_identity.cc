// Signing in to the web console through the OpenID Connect provider (docs/identity.md), and the
// provider groups mapped to roles.
//
//   GET /auth/oidc/start     -> 302 to the provider's authorization endpoint, with a cookie that
//                               binds the sign-in's state to this browser
//   GET /auth/oidc/callback  -> the code exchanged and the ID token verified (identity module),
//                               the user found or created from the claims with her groups' roles
//                               (store), a console session opened as the token sign-in opens one,
//                               302 to the console; for pamctl's sign-in (started with cli_port
//                               and cli_challenge) 302 to pamctl's listener on 127.0.0.1 with a
//                               one-time code instead (api_cli_login.cc takes it from there)
//
// The state cookie: without it, someone could start a sign-in as themselves and have another
// person's browser finish it (login CSRF), signing that person in to the attacker's account. It is
// SameSite=Lax, not Strict, because the provider's redirect back is a navigation from another
// site, and Lax is what lets a top-level GET carry it.
//
// A failure sends the browser to the sign-in page with ?signin_error=<code>, a fixed word the
// page turns into a sentence (no text of the provider's or an attacker's is shown on the page);
// the log has the reason.

#include "api_internal.h"
#include "console.h"
#include "pamproxy/admin/cookie.h"
#include "pamproxy/base/log.h"
#include "pamproxy/identity/cli_return.h"
#include "pamproxy/store/json.h"

namespace pamproxy::admin {
namespace {

constexpr std::string_view kStateCookie = "__Host-pamproxy-oidc";

ApiResponse redirect(std::string location) {
  ApiResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "See " + location + "\n";
  r.headers.emplace_back("Location", std::move(location));
  add_console_headers(&r);
  return r;
}

std::string clear_state_cookie() {
  return std::string(kStateCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0";
}

// Back to the sign-in page with the reason's code; the state cookie is spent either way.
ApiResponse sign_in_failed(const net::IpAddress& client, std::string_view code,
                           std::string_view reason) {
  log::warn("admin.identity_sign_in_failed")
      .kv("client", client.to_string())
      .kv("error", code)
      .kv("reason", reason);
  ApiResponse r = redirect("/?signin_error=" + std::string(code));
  r.headers.emplace_back("Set-Cookie", clear_state_cookie());
  return r;
}

ApiResponse sign_in_failed(const Api::Call& call, std::string_view code, std::string_view reason) {
  return sign_in_failed(call.request.client, code, reason);
}

std::string_view failure_code(const absl::Status& status) {
  if (absl::IsUnavailable(status)) return "provider_unreachable";
  if (absl::IsResourceExhausted(status)) return "busy";
  if (absl::IsFailedPrecondition(status)) return "identity_off";
  return "refused";
}

}  // namespace

struct Api::SignedIn {
  absl::StatusOr<identity::SignedIn> who;  // the worker's
  net::IpAddress client;
  absl::Time now;
  std::optional<std::string> previous_session;  // the console session cookie it came with
};

ApiResponse Api::handle_console_identity(Call& call) {
  if (call.request.method != "GET") return method_not_allowed("GET");
  JsonWriter w;
  w.begin_object().key("enabled").value(identity_enabled());
  if (identity_enabled()) w.key("start_url").value("/auth/oidc/start");
  w.end_object();
  return json_answer(200, w.take());
}

ApiResponse Api::handle_identity_sign_in(Call& call) {
  const ApiRequest& request = call.request;
  if (call.segments.size() != 1 ||
      (call.segments[0] != "start" && call.segments[0] != "callback")) {
    return not_found("no such sign-in step (/auth/oidc/start, /auth/oidc/callback)");
  }
  if (request.method != "GET") return method_not_allowed("GET");
  if (!identity_enabled()) {
    return sign_in_failed(call, "identity_off", "[identity] enabled is false");
  }
  // Both steps wait for the provider (its metadata, the token endpoint, its keys): that part runs
  // on the admin server's worker, and what follows from it on the admin thread.
  std::shared_ptr<identity::RelyingParty> rp = options_.identity;
  const net::IpAddress client = request.client;

  if (call.segments[0] == "start") {
    identity::CliReturn cli;
    const std::string cli_port = call.param("cli_port");
    if (!cli_port.empty() || call.query.contains("cli_challenge")) {
      // pamctl's sign-in: it waits on 127.0.0.1 at that port, and only there is the browser
      // ever sent back (cli_return.h).
      std::optional<uint16_t> port = identity::parse_cli_port(cli_port);
      if (!port) {
        return error_answer(400, "InvalidField", "cli_port: expected a port number 1 to 65535",
                            "cli_port");
      }
      cli.challenge = call.param("cli_challenge");
      if (!identity::valid_cli_challenge(cli.challenge)) {
        return error_answer(400, "InvalidField",
                            "cli_challenge: expected an S256 challenge (43 base64url characters)",
                            "cli_challenge");
      }
      cli.port = *port;
    }
    auto go = std::make_shared<absl::StatusOr<identity::RelyingParty::Redirect>>(
        absl::UnknownError("not started"));
    return defer(
        call, [rp, go, now = call.now, cli] { *go = rp->start(now, cli); },
        [go, client] {
          if (!go->ok()) {
            return sign_in_failed(client, failure_code(go->status()),
                                  std::string(go->status().message()));
          }
          ApiResponse r = redirect((*go)->url);
          r.headers.emplace_back(
              "Set-Cookie", std::string(kStateCookie) + "=" + (*go)->state +
                                "; Path=/; Secure; HttpOnly; SameSite=Lax; "
                                "Max-Age=" +
                                std::to_string(absl::ToInt64Seconds(identity::kSignInLifetime)));
          return r;
        });
  }

  // The callback. The provider reports a refusal (the person cancelled, or may not use this
  // client) as ?error=.
  const std::string provider_error = call.param("error");
  if (!provider_error.empty()) {
    return sign_in_failed(call, "refused",
                          "the provider answered " + provider_error.substr(0, 64) + ": " +
                              call.param("error_description").substr(0, 200));
  }
  const std::string state = call.param("state");
  const std::string code = call.param("code");
  if (state.empty() || code.empty()) {
    return sign_in_failed(call, "refused", "the callback lacks its state or code");
  }
  std::optional<std::string_view> bound = find_cookie(request.cookie, kStateCookie);
  if (!bound || !identity::secrets_equal(*bound, state)) {
    return sign_in_failed(call, "expired",
                          "the callback's state is not the one this browser started with");
  }
  // The code exchanged and the ID token verified on the worker; the person and her session on
  // the admin thread.
  auto done = std::make_shared<SignedIn>(
      SignedIn{.who = absl::UnknownError("not exchanged"), .client = client, .now = call.now});
  if (auto previous = find_cookie(request.cookie, kSessionCookie)) {
    done->previous_session = std::string(*previous);
  }
  return defer(
      call, [rp, done, state, code] { done->who = rp->finish(state, code, done->now); },
      [this, done] { return finish_identity_sign_in(*done); });
}

ApiResponse Api::finish_identity_sign_in(const SignedIn& done) {
  if (!done.who.ok()) {
    const absl::Status& status = done.who.status();
    const bool expired = absl::IsPermissionDenied(status) &&
                         status.message().find("start again") != std::string_view::npos;
    return sign_in_failed(done.client, expired ? "expired" : failure_code(status),
                          std::string(status.message()));
  }
  const identity::SignedIn& finished = *done.who;
  const identity::IdTokenClaims* who = &finished.claims;
  const store::Actor actor{"", "", done.client.to_string()};
  absl::StatusOr<store::AdminChange> signed_in = options_.store->sign_in_identity(
      actor,
      {.subject = who->subject, .email = who->email, .name = who->name, .groups = who->groups});
  if (!signed_in.ok()) {
    const bool disabled = absl::IsPermissionDenied(signed_in.status());
    return sign_in_failed(done.client, disabled ? "disabled" : "refused",
                          std::string(signed_in.status().message()));
  }
  if (finished.cli.port != 0) {
    // pamctl's sign-in: no console session; a one-time code for pamctl's listener, worth
    // nothing without the verifier pamctl kept.
    if (finished.refresh_token.empty()) {
      return sign_in_failed(done.client, "refused",
                            "the provider gave no refresh token: allow refresh tokens "
                            "(offline_access) for pamproxy's client at the provider");
    }
    std::optional<std::string> cli_code = cli_codes_.add({.challenge = finished.cli.challenge,
                                                          .user_id = signed_in->object_id,
                                                          .subject = who->subject,
                                                          .refresh_token = finished.refresh_token},
                                                         done.now);
    if (!cli_code) {
      return sign_in_failed(done.client, "busy", "too many sign-ins of pamctl are under way");
    }
    ApiResponse r = redirect(identity::cli_callback_url(finished.cli.port, *cli_code));
    r.headers.emplace_back("Set-Cookie", clear_state_cookie());
    return r;
  }
  const absl::Duration idle =
      absl::Seconds(session_idle_timeout_s_.load(std::memory_order_relaxed));
  const absl::Duration absolute =
      absl::Seconds(session_absolute_timeout_s_.load(std::memory_order_relaxed));
  if (done.previous_session) {
    console_sessions_.end(*done.previous_session).IgnoreError();  // a new session replaces it
  }
  auto created =
      console_sessions_.create({.user_id = signed_in->object_id}, "", done.now, idle, absolute);
  if (!created.ok()) {
    return sign_in_failed(done.client, "busy", std::string(created.status().message()));
  }
  log::info("admin.console_signed_in")
      .kv("client", done.client.to_string())
      .kv("user_id", signed_in->object_id)
      .kv("identity_subject", who->subject);
  ApiResponse r = redirect("/");
  r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + created->id +
                                           "; Path=/; Secure; HttpOnly; SameSite=Strict");
  r.headers.emplace_back("Set-Cookie", clear_state_cookie());
  return r;
}

// GET /api/v1/group-roles, POST {group, role_id}, DELETE /api/v1/group-roles/<group>/<role id>.
ApiResponse handle_group_roles(Api::Call& call) {
  if (!call.admin()) return forbidden("mapping provider groups to roles is for admins");
  const size_t n = call.segments.size();
  if (n == 1 && call.method() == "GET") {
    JsonWriter w;
    w.begin_object().key("items").begin_array();
    for (const store::GroupRole& g : call.store().list_group_roles()) {
      w.begin_object()
          .key("group")
          .value(g.group)
          .key("role_id")
          .value(g.role_id)
          .key("created_at")
          .value(store::format_time(g.created_at))
          .end_object();
    }
    w.end_array().end_object();
    return json_answer(200, w.take());
  }
  if (n == 1 && call.method() == "POST") {
    ApiResponse error;
    auto body = read_body(call, &error);
    if (!body) return error;
    auto group = body->string("group", kRequired, 1, 256);
    auto role = body->string("role_id", kRequired, 1, 128);
    if (!body->finish()) return bad_field(body->error());
    ApiResponse r = answer_change(201, call.store().map_group(call.actor(), *group, *role));
    return r;
  }
  if (n == 3 && call.method() == "DELETE") {
    auto change = call.store().unmap_group(call.actor(), call.segments[1], call.segments[2]);
    if (!change.ok()) return store_error(change.status());
    return deleted(call.segments[1] + "/" + call.segments[2]);
  }
  if (n == 1) return method_not_allowed("GET, POST");
  if (n == 3) return method_not_allowed("DELETE");
  return not_found("no such group-roles resource");
}

}  // namespace pamproxy::admin
