// pamctl's sign-in through the OpenID Connect provider (docs/identity.md), on the admin API
// without a bearer token (the person has none yet, or hers is about to end):
//
//   POST /api/v1/auth/device        -> the provider's device flow started: a handle to poll
//                                      with, the user code and where to enter it
//   POST /api/v1/auth/device/poll   {"handle"} -> 202 while the person has not finished at the
//                                      provider; then the login answer below
//   POST /api/v1/auth/cli/exchange  {"code", "verifier"} -> after a browser sign-in
//                                      (/auth/oidc/start?cli_port=...): the login answer
//   POST /api/v1/auth/refresh       {"refresh"} -> the provider asked again; the next login
//                                      answer, or 403 ProviderRefused and the token revoked
//   POST /api/v1/auth/logout        {"refresh"} -> the token revoked, the sign-in forgotten
//
// The login answer is the one place a login's secrets leave the appliance: the new REST API
// token (id, secret, expiry) and the refresh secret that renews it. Neither is logged or
// audited; the audit has token.sign_in, token.refresh, token.refresh_refused and token.sign_out
// with the token's id.

#include "api_internal.h"
#include "pamproxy/base/log.h"
#include "pamproxy/identity/cli_return.h"
#include "pamproxy/store/json.h"

namespace pamproxy::admin {
namespace {

// A provider or sign-in failure as its HTTP answer.
ApiResponse sign_in_error(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kUnavailable: return error_answer(503, "ProviderUnreachable", message);
    case absl::StatusCode::kResourceExhausted: return error_answer(429, "Busy", message);
    case absl::StatusCode::kFailedPrecondition: return error_answer(400, "NotSupported", message);
    case absl::StatusCode::kNotFound: return error_answer(404, "NotFound", message);
    case absl::StatusCode::kPermissionDenied: return error_answer(403, "ProviderRefused", message);
    default: return store_error(status);
  }
}

ApiResponse login_answer(const store::CliLogin& login, std::string_view user_name,
                         int64_t recheck_s) {
  JsonWriter w;
  w.begin_object();
  w.key("user").begin_object();
  w.key("id").value(login.token.token.user_id).key("name").value(user_name).end_object();
  w.key("token_id").value(login.token.token.id);
  w.key("secret").value(login.token.secret);
  w.key("expires_at").value(store::format_time(login.token.token.expires_at));
  w.key("refresh").value(login.refresh_secret);
  w.key("recheck_s").value(recheck_s);
  w.end_object();
  return json_answer(200, w.take());
}

}  // namespace

// What a refresh's second step needs: the sign-in's row as read before the provider was asked,
// and the provider's answer (api.h: finish_cli_refresh).
struct Api::CliRefresh {
  store::CliLoginRow row;
  absl::StatusOr<identity::SignedIn> again = absl::UnknownError("not asked");
  net::IpAddress client;
};

// The person signed in at the provider: her user found or made, her groups' roles applied, and
// a login with its token issued. `via` says how, for the log.
ApiResponse Api::issue_cli_login(const net::IpAddress& client, const identity::SignedIn& who,
                                 std::string_view via) {
  const store::Actor actor{"", "", client.to_string()};
  absl::StatusOr<store::AdminChange> user =
      options_.store->sign_in_identity(actor, {.subject = who.claims.subject,
                                               .email = who.claims.email,
                                               .name = who.claims.name,
                                               .groups = who.claims.groups});
  if (!user.ok()) return store_error(user.status());
  return issue_cli_login_for(client, user->object_id, who.claims.subject, who.refresh_token, via);
}

ApiResponse Api::issue_cli_login_for(const net::IpAddress& client, const std::string& user_id,
                                     const std::string& subject, const std::string& refresh_token,
                                     std::string_view via) {
  const identity::RelyingParty::CliSettings cli = options_.identity->cli_settings();
  const store::Actor actor{user_id, "", client.to_string()};
  absl::StatusOr<store::CliLogin> login = options_.store->create_cli_login(
      actor, {.user_id = user_id,
              .subject = subject,
              .token_lifetime = absl::Seconds(cli.token_lifetime_s),
              .provider_refresh_token = refresh_token});
  if (!login.ok()) return store_error(login.status());
  absl::StatusOr<policy::User> user = options_.store->get_user(user_id);
  const std::string name = user.ok() ? user->name : user_id;
  log::info("admin.cli_signed_in")
      .kv("client", client.to_string())
      .kv("user_id", user_id)
      .kv("token_id", login->token.token.id)
      .kv("via", via);
  return login_answer(*login, name, cli.recheck_s);
}

ApiResponse Api::handle_cli_auth(Call& call) {
  if (!identity_enabled()) {
    return not_found("sign-in through an identity provider is off ([identity] enabled)");
  }
  if (call.method() != "POST") return method_not_allowed("POST");
  // The calls that wait for the provider do so on the admin server's worker (defer), and what
  // follows from its answer (the store, the answer) on the admin thread.
  std::shared_ptr<identity::RelyingParty> rp = options_.identity;
  const net::IpAddress client = call.request.client;
  const std::vector<std::string>& seg = call.segments;
  const size_t n = seg.size();
  ApiResponse error;

  if (n == 2 && seg[1] == "device") {
    auto d = std::make_shared<absl::StatusOr<identity::RelyingParty::DeviceStart>>(
        absl::UnknownError("not started"));
    return defer(
        call, [rp, d, now = call.now] { *d = rp->start_device(now); },
        [d] {
          if (!d->ok()) return sign_in_error(d->status());
          const identity::RelyingParty::DeviceStart& started = **d;
          JsonWriter w;
          w.begin_object()
              .key("handle")
              .value(started.handle)
              .key("user_code")
              .value(started.user_code)
              .key("verification_uri")
              .value(started.verification_uri);
          if (!started.verification_uri_complete.empty()) {
            w.key("verification_uri_complete").value(started.verification_uri_complete);
          }
          w.key("interval")
              .value(started.interval_s)
              .key("expires_in")
              .value(started.expires_in_s)
              .end_object();
          return json_answer(200, w.take());
        });
  }

  auto body = read_body(call, &error);
  if (!body) return error;

  if (n == 3 && seg[1] == "device" && seg[2] == "poll") {
    auto handle = body->string("handle", kRequired, 1, 256);
    if (!body->finish()) return bad_field(body->error());
    auto poll = std::make_shared<absl::StatusOr<identity::RelyingParty::DevicePoll>>(
        absl::UnknownError("not polled"));
    return defer(
        call,
        [rp, poll, handle = *handle, now = call.now] { *poll = rp->poll_device(handle, now); },
        [this, poll, client] {
          if (!poll->ok()) {
            log::warn("admin.identity_sign_in_failed")
                .kv("client", client.to_string())
                .kv("error", "device")
                .kv("reason", std::string(poll->status().message()));
            return sign_in_error(poll->status());
          }
          if ((*poll)->pending) {
            JsonWriter w;
            w.begin_object()
                .key("status")
                .value("pending")
                .key("interval")
                .value((*poll)->interval_s);
            w.end_object();
            return json_answer(202, w.take());
          }
          return issue_cli_login(client, (*poll)->signed_in, "device");
        });
  }

  if (n == 3 && seg[1] == "cli" && seg[2] == "exchange") {
    auto code = body->string("code", kRequired, 1, 256);
    auto verifier = body->string("verifier", kRequired, 43, 128);
    if (!body->finish()) return bad_field(body->error());
    identity::CliCodes::Taken taken = cli_codes_.take(*code, *verifier, call.now);
    if (taken.refusal == identity::CliCodes::Refusal::kUnknownCode) {
      return error_answer(400, "InvalidCode",
                          "this sign-in code is unknown, was already used or has expired: run "
                          "pamctl login again",
                          "code");
    }
    if (taken.refusal == identity::CliCodes::Refusal::kWrongVerifier) {
      return error_answer(400, "InvalidVerifier",
                          "the verifier is not the one this sign-in's challenge was made from; "
                          "the code is spent: run pamctl login again",
                          "verifier");
    }
    return issue_cli_login_for(client, taken.grant.user_id, taken.grant.subject,
                               taken.grant.refresh_token, "browser");
  }

  if (n == 2 && (seg[1] == "refresh" || seg[1] == "logout")) {
    auto refresh = body->string("refresh", kRequired, 1, 256);
    if (!body->finish()) return bad_field(body->error());
    absl::StatusOr<store::CliLoginRow> row = call.store().find_cli_login(*refresh);
    if (absl::IsNotFound(row.status())) {
      return error_answer(401, "Unauthenticated",
                          "this refresh secret is unknown or was replaced: sign in again: pamctl "
                          "login");
    }
    if (!row.ok()) return store_error(row.status());
    if (seg[1] == "logout") {
      const store::Actor actor{row->user_id, row->token_id, client.to_string()};
      absl::StatusOr<store::AdminChange> ended =
          call.store().end_cli_login(actor, row->id, "token.sign_out");
      if (!ended.ok()) return store_error(ended.status());
      return deleted(row->token_id);
    }
    // One refresh of a sign-in at a time: a second one would present the provider's refresh
    // token again while the first is renewing it, and a provider that rotates refresh tokens
    // would take that as a replay and refuse, ending a sign-in that is fine.
    // Longer than a refresh can wait for the provider (a few calls of provider_timeout_ms each).
    constexpr absl::Duration kRefreshStale = absl::Minutes(5);
    auto [at, fresh] = cli_refreshing_.try_emplace(row->id, call.now);
    if (!fresh && call.now - at->second < kRefreshStale) {
      return error_answer(409, "RefreshUnderWay",
                          "this sign-in is being renewed by another call; try again in a moment");
    }
    at->second = call.now;
    auto r = std::make_shared<CliRefresh>(CliRefresh{.row = *std::move(row), .client = client});
    return defer(
        call,
        [rp, r, now = call.now] {
          r->again = rp->refresh(r->row.provider_refresh_token, r->row.subject, now);
        },
        [this, r] {
          cli_refreshing_.erase(r->row.id);
          return finish_cli_refresh(*r);
        });
  }
  return not_found(
      "no such sign-in call (auth/device, auth/device/poll, auth/cli/exchange, auth/refresh, "
      "auth/logout)");
}

ApiResponse Api::finish_cli_refresh(const CliRefresh& r) {
  const store::CliLoginRow& row = r.row;
  const store::Actor actor{row.user_id, row.token_id, r.client.to_string()};
  const absl::StatusOr<identity::SignedIn>& again = r.again;
  if (!again.ok() && !absl::IsUnavailable(again.status())) {
    // The provider no longer vouches for her: the token she holds stops now, not at its expiry.
    log::warn("admin.identity_refresh_refused")
        .kv("client", r.client.to_string())
        .kv("user_id", row.user_id)
        .kv("token_id", row.token_id)
        .kv("reason", std::string(again.status().message()));
    absl::StatusOr<store::AdminChange> ended =
        options_.store->end_cli_login(actor, row.id, "token.refresh_refused");
    if (!ended.ok()) return store_error(ended.status());
    return error_answer(403, "ProviderRefused",
                        "the identity provider refused to renew this sign-in (" +
                            std::string(again.status().message()) +
                            "); the token is revoked: sign in again: pamctl login");
  }
  if (!again.ok()) return sign_in_error(again.status());
  absl::StatusOr<store::AdminChange> user =
      options_.store->sign_in_identity(actor, {.subject = again->claims.subject,
                                               .email = again->claims.email,
                                               .name = again->claims.name,
                                               .groups = again->claims.groups});
  if (!user.ok()) return store_error(user.status());
  const identity::RelyingParty::CliSettings cli = options_.identity->cli_settings();
  absl::StatusOr<store::CliLogin> next =
      options_.store->refresh_cli_login(actor, row.id,
                                        {.user_id = row.user_id,
                                         .subject = row.subject,
                                         .token_lifetime = absl::Seconds(cli.token_lifetime_s),
                                         .provider_refresh_token = again->refresh_token});
  if (!next.ok()) return store_error(next.status());
  absl::StatusOr<policy::User> u = options_.store->get_user(row.user_id);
  return login_answer(*next, u.ok() ? u->name : row.user_id, cli.recheck_s);
}

}  // namespace pamproxy::admin
