// The OpenID Connect relying party (see include/pamproxy/identity/relying_party.h).

#include "pamproxy/identity/relying_party.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_join.h"
#include "pamproxy/identity/https_client.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

constexpr size_t kClientSecretBytesMax = 4096;

absl::StatusOr<std::string> read_secret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(internal::cat("cannot read ", path));
  std::string secret(kClientSecretBytesMax + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<size_t>(in.gcount()));
  if (secret.size() > kClientSecretBytesMax) {
    return absl::InvalidArgumentError(
        internal::cat(path, " is larger than ", kClientSecretBytesMax, " bytes"));
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return absl::InvalidArgumentError(internal::cat(path, " is empty"));
  return secret;
}

HttpsClient client_for(const config::IdentitySection& identity, size_t body_bytes_max) {
  return HttpsClient({.ca_file = identity.ca_file,
                      .timeout_ms = identity.provider_timeout_ms,
                      .body_bytes_max = body_bytes_max});
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A provider's error answer ({"error":...,"error_description":...}) as text, bounded.
std::string provider_error(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body.substr(0, 64 * 1024));
  simdjson::dom::object doc;
  std::string_view error, description;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS ||
      doc["error"].get_string().get(error) != simdjson::SUCCESS) {
    return "no OAuth error in the answer";
  }
  std::string out(error.substr(0, 100));
  if (doc["error_description"].get_string().get(description) == simdjson::SUCCESS) {
    out += internal::cat(": ", description.substr(0, 300));
  }
  for (char& c : out) {
    if (c < ' ' || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

absl::Status RelyingParty::configure(const config::IdentitySection& identity) {
  std::shared_ptr<const Settings> next;
  absl::Status status;
  if (identity.enabled) {
    absl::StatusOr<std::string> secret = read_secret(identity.client_secret_file);
    if (secret.ok()) {
      std::string origin = identity.console_url;
      if (origin.ends_with('/')) origin.pop_back();
      next = std::make_shared<const Settings>(
          Settings{.identity = identity,
                   .client_secret = *std::move(secret),
                   .redirect_uri = internal::cat(origin, kCallbackPath)});
    } else {
      status = absl::FailedPreconditionError(
          internal::cat("identity.client_secret_file: ", secret.status().message()));
    }
  }
  std::lock_guard lock(mutex_);
  settings_ = std::move(next);
  ++generation_;
  provider_.reset();
  return status;
}

bool RelyingParty::enabled() const {
  return settings() != nullptr;
}

RelyingParty::CliSettings RelyingParty::cli_settings() const {
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return {};
  return {.token_lifetime_s = s->identity.cli_token_lifetime_s,
          .recheck_s = s->identity.cli_recheck_s};
}

std::shared_ptr<const RelyingParty::Settings> RelyingParty::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

absl::StatusOr<std::shared_ptr<const Jwks>> RelyingParty::fetch_jwks(const Settings& s,
                                                                     const ProviderMetadata& m) {
  absl::StatusOr<HttpsResponse> r = client_for(s.identity, Jwks::kJwksBytesMax).get(m.jwks_uri);
  if (!r.ok()) {
    return absl::UnavailableError(
        internal::cat("the provider's keys cannot be read: ", r.status().message()));
  }
  if (r->status != 200) {
    return absl::UnavailableError(internal::cat("the provider's keys answered HTTP ", r->status));
  }
  absl::StatusOr<Jwks> jwks = Jwks::parse(r->body);
  if (!jwks.ok()) return absl::UnavailableError(jwks.status().message());
  return std::make_shared<const Jwks>(*std::move(jwks));
}

absl::StatusOr<std::shared_ptr<const RelyingParty::Provider>> RelyingParty::provider(
    const Settings& s, absl::Time now) {
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    if (provider_ && now - provider_->fetched < kProviderMaxAge) return provider_;
    generation = generation_;
  }
  const std::string url = discovery_url(s.identity.issuer);
  absl::StatusOr<HttpsResponse> r = client_for(s.identity, kDiscoveryBytesMax).get(url);
  if (!r.ok()) {
    return absl::UnavailableError(
        internal::cat("the identity provider cannot be reached: ", r.status().message()));
  }
  if (r->status != 200) {
    return absl::UnavailableError(
        internal::cat("the identity provider's discovery document answered HTTP ", r->status));
  }
  absl::StatusOr<ProviderMetadata> metadata = parse_discovery(r->body, s.identity.issuer);
  if (!metadata.ok()) return absl::UnavailableError(metadata.status().message());
  auto jwks = fetch_jwks(s, *metadata);
  if (!jwks.ok()) return jwks.status();
  auto fetched = std::make_shared<const Provider>(Provider{.metadata = *std::move(metadata),
                                                           .jwks = *std::move(jwks),
                                                           .fetched = now,
                                                           .jwks_fetched = now});
  std::lock_guard lock(mutex_);
  if (generation == generation_) provider_ = fetched;
  return fetched;
}

std::string RelyingParty::scope(const Settings& s, bool offline) const {
  std::string out = absl::StrJoin(s.identity.scopes, " ");
  // A command-line sign-in lives on the provider's refresh token, which most providers give only
  // for offline_access.
  if (offline && std::find(s.identity.scopes.begin(), s.identity.scopes.end(), "offline_access") ==
                     s.identity.scopes.end()) {
    out += " offline_access";
  }
  return out;
}

absl::StatusOr<RelyingParty::Redirect> RelyingParty::start(absl::Time now, CliReturn cli) {
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  const bool offline = cli.port != 0;
  std::optional<PendingSignIns::Started> started;
  {
    std::lock_guard lock(mutex_);
    started = pending_.start(now, std::move(cli));
  }
  if (!started) {
    return absl::ResourceExhaustedError("too many sign-ins are under way; try again shortly");
  }
  const std::string& endpoint = (*p)->metadata.authorization_endpoint;
  std::string url = internal::cat(
      endpoint, endpoint.find('?') == std::string::npos ? "?" : "&",
      "response_type=code&client_id=", form_encode(s->identity.client_id),
      "&redirect_uri=", form_encode(s->redirect_uri), "&scope=", form_encode(scope(*s, offline)),
      "&state=", started->state, "&nonce=", started->nonce,
      "&code_challenge=", started->code_challenge, "&code_challenge_method=S256");
  if (offline) url += "&prompt=consent";  // what offline_access needs (OpenID Connect Core 11)
  return Redirect{.url = std::move(url), .state = std::move(started->state)};
}

absl::StatusOr<TokenAnswer> RelyingParty::call_token_endpoint(const Settings& s,
                                                              const ProviderMetadata& m,
                                                              std::string form,
                                                              std::string_view what,
                                                              long* http_status) {
  std::string authorization;
  if (s.identity.token_endpoint_auth == config::TokenEndpointAuth::kClientSecretBasic) {
    // RFC 6749 section 2.3.1: both form-encoded before they are joined.
    authorization = "Basic " + base64(internal::cat(form_encode(s.identity.client_id), ":",
                                                    form_encode(s.client_secret)));
  } else {
    form += internal::cat("&client_id=", form_encode(s.identity.client_id),
                          "&client_secret=", form_encode(s.client_secret));
  }
  absl::StatusOr<HttpsResponse> r =
      client_for(s.identity, kTokenAnswerBytesMax).post_form(m.token_endpoint, form, authorization);
  if (!r.ok()) {
    return absl::UnavailableError(
        internal::cat("the identity provider cannot be reached: ", r.status().message()));
  }
  if (http_status != nullptr) *http_status = r->status;
  absl::StatusOr<TokenAnswer> answer = parse_token_answer(r->body);
  if (r->status == 200 && answer.ok() && answer->error.empty()) return answer;
  if (r->status >= 500) {
    return absl::UnavailableError(
        internal::cat("the identity provider's token endpoint answered HTTP ", r->status));
  }
  if (answer.ok() && !answer->error.empty()) {
    // The caller reads the error (authorization_pending, slow_down, invalid_grant, ...).
    return answer;
  }
  return absl::PermissionDeniedError(internal::cat(
      "the provider refused ", what, " (HTTP ", r->status, ": ",
      answer.ok() ? provider_error(r->body) : std::string(answer.status().message()), ")"));
}

IdTokenExpectations RelyingParty::expectations(const Settings& s, std::string_view nonce,
                                               absl::Time now) const {
  const config::IdentitySection& i = s.identity;
  return IdTokenExpectations{.issuer = i.issuer,
                             .client_id = i.client_id,
                             .nonce = nonce,
                             .nonce_sent = !nonce.empty(),
                             .now = now,
                             .clock_skew = absl::Seconds(i.clock_skew_s),
                             .subject_claim = i.subject_claim,
                             .email_claim = i.email_claim,
                             .name_claim = i.name_claim,
                             .groups_claim = i.groups_claim};
}

absl::StatusOr<IdTokenClaims> RelyingParty::verify(const Settings& s,
                                                   std::shared_ptr<const Provider> p,
                                                   std::string_view id_token,
                                                   const IdTokenExpectations& expect,
                                                   absl::Time now) {
  IdTokenCheck check = verify_id_token(id_token, *p->jwks, expect);
  if (check.refusal == Refusal::kUnknownKeyId && now - p->jwks_fetched >= kJwksRefetchInterval) {
    // The provider may have rotated its keys since they were cached: read them once more.
    auto jwks = fetch_jwks(s, p->metadata);
    if (!jwks.ok()) return jwks.status();
    auto refreshed = std::make_shared<const Provider>(Provider{
        .metadata = p->metadata, .jwks = *jwks, .fetched = p->fetched, .jwks_fetched = now});
    {
      std::lock_guard lock(mutex_);
      if (provider_ == p) provider_ = refreshed;
    }
    check = verify_id_token(id_token, **jwks, expect);
  }
  if (!check.ok()) return absl::PermissionDeniedError(check.reason);
  return std::move(check.claims);
}

absl::StatusOr<SignedIn> RelyingParty::finish(std::string_view state, std::string_view code,
                                              absl::Time now) {
  std::optional<PendingSignIn> sign_in;
  {
    std::lock_guard lock(mutex_);
    sign_in = pending_.take(state, now);
  }
  if (!sign_in) {
    return absl::PermissionDeniedError(
        "this sign-in is unknown, was already used or took too long: start again");
  }
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  long http_status = 0;
  absl::StatusOr<TokenAnswer> answer =
      call_token_endpoint(*s, (*p)->metadata,
                          internal::cat("grant_type=authorization_code&code=", form_encode(code),
                                        "&redirect_uri=", form_encode(s->redirect_uri),
                                        "&code_verifier=", form_encode(sign_in->code_verifier)),
                          "the code", &http_status);
  if (!answer.ok()) return answer.status();
  if (!answer->error.empty()) {
    return absl::PermissionDeniedError(internal::cat(
        "the provider refused the code (HTTP ", http_status, ": ", token_error_text(*answer), ")"));
  }
  if (answer->id_token.empty()) {
    return absl::PermissionDeniedError("the provider's token answer holds no id_token");
  }
  absl::StatusOr<IdTokenClaims> claims =
      verify(*s, *p, answer->id_token, expectations(*s, sign_in->nonce, now), now);
  if (!claims.ok()) return claims.status();
  return SignedIn{.claims = *std::move(claims),
                  .refresh_token = std::move(answer->refresh_token),
                  .cli = std::move(sign_in->cli)};
}

absl::StatusOr<RelyingParty::DeviceStart> RelyingParty::start_device(absl::Time now) {
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  const std::string& endpoint = (*p)->metadata.device_authorization_endpoint;
  if (endpoint.empty()) {
    return absl::FailedPreconditionError(
        "the identity provider has no device_authorization_endpoint (RFC 8628 device flow): "
        "sign in with a browser instead (pamctl login without --device)");
  }
  std::string form = internal::cat("client_id=", form_encode(s->identity.client_id),
                                   "&scope=", form_encode(scope(*s, true)));
  std::string authorization;
  if (s->identity.token_endpoint_auth == config::TokenEndpointAuth::kClientSecretBasic) {
    authorization = "Basic " + base64(internal::cat(form_encode(s->identity.client_id), ":",
                                                    form_encode(s->client_secret)));
  } else {
    form += internal::cat("&client_secret=", form_encode(s->client_secret));
  }
  absl::StatusOr<HttpsResponse> r =
      client_for(s->identity, kTokenAnswerBytesMax).post_form(endpoint, form, authorization);
  if (!r.ok()) {
    return absl::UnavailableError(
        internal::cat("the identity provider cannot be reached: ", r.status().message()));
  }
  if (r->status >= 500) {
    return absl::UnavailableError(internal::cat(
        "the identity provider's device authorization endpoint answered HTTP ", r->status));
  }
  if (r->status != 200) {
    return absl::PermissionDeniedError(
        internal::cat("the provider refused the device sign-in (HTTP ", r->status, ": ",
                      provider_error(r->body), ")"));
  }
  absl::StatusOr<DeviceAuthorization> d = parse_device_authorization(r->body);
  if (!d.ok()) return absl::UnavailableError(d.status().message());
  std::optional<std::string> handle;
  {
    std::lock_guard lock(mutex_);
    handle = devices_.add(d->device_code, now, absl::Seconds(d->expires_in_s), d->interval_s);
  }
  if (!handle) {
    return absl::ResourceExhaustedError(
        "too many device sign-ins are under way; try again shortly");
  }
  return DeviceStart{.handle = *std::move(handle),
                     .user_code = std::move(d->user_code),
                     .verification_uri = std::move(d->verification_uri),
                     .verification_uri_complete = std::move(d->verification_uri_complete),
                     .expires_in_s = d->expires_in_s,
                     .interval_s = d->interval_s};
}

absl::StatusOr<RelyingParty::DevicePoll> RelyingParty::poll_device(std::string_view handle,
                                                                   absl::Time now) {
  // The table is shared with the admin server's worker threads: it is read and changed under the
  // lock, which is never held while the provider is asked.
  auto unknown = [] {
    return absl::NotFoundError(
        "this device sign-in is unknown, was finished or has expired: run pamctl login again");
  };
  std::string device_code;
  {
    std::lock_guard lock(mutex_);
    PendingDevice* device = devices_.find(handle, now);
    if (device == nullptr) return unknown();
    // A client that polls faster than the provider allows is answered here, so the provider
    // never sees it (and never slows every poll down for it).
    if (now < device->next_poll) {
      return DevicePoll{.pending = true, .interval_s = device->interval_s};
    }
    device_code = device->device_code;
  }
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  absl::StatusOr<TokenAnswer> answer = call_token_endpoint(
      *s, (*p)->metadata,
      internal::cat("grant_type=", form_encode("urn:ietf:params:oauth:grant-type:device_code"),
                    "&device_code=", form_encode(device_code)),
      "the device code");
  {
    std::lock_guard lock(mutex_);
    PendingDevice* device = devices_.find(handle, now);
    if (device == nullptr) return unknown();  // expired, or finished by another poll meanwhile
    if (!answer.ok()) {
      if (!absl::IsUnavailable(answer.status())) devices_.remove(handle);
      return answer.status();
    }
    if (answer->error == "authorization_pending" || answer->error == "slow_down") {
      // RFC 8628 section 3.5: slow_down adds 5 seconds to the interval for good.
      if (answer->error == "slow_down") {
        device->interval_s = std::min(device->interval_s + 5, kPollIntervalMaxS);
      }
      device->interval_s = std::max(device->interval_s, answer->interval_s);
      device->next_poll = now + absl::Seconds(device->interval_s);
      return DevicePoll{.pending = true, .interval_s = device->interval_s};
    }
    devices_.remove(handle);
  }
  if (!answer->error.empty()) {
    return absl::PermissionDeniedError(
        internal::cat("the provider refused the device sign-in: ", token_error_text(*answer)));
  }
  if (answer->id_token.empty()) {
    return absl::PermissionDeniedError("the provider's token answer holds no id_token");
  }
  absl::StatusOr<IdTokenClaims> claims =
      verify(*s, *p, answer->id_token, expectations(*s, "", now), now);
  if (!claims.ok()) return claims.status();
  return DevicePoll{.pending = false,
                    .signed_in = {.claims = *std::move(claims),
                                  .refresh_token = std::move(answer->refresh_token)}};
}

absl::StatusOr<SignedIn> RelyingParty::refresh(std::string_view refresh_token,
                                               std::string_view subject, absl::Time now) {
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  absl::StatusOr<TokenAnswer> answer = call_token_endpoint(
      *s, (*p)->metadata,
      internal::cat("grant_type=refresh_token&refresh_token=", form_encode(refresh_token)),
      "the refresh token");
  if (!answer.ok()) return answer.status();
  if (!answer->error.empty()) {
    return absl::PermissionDeniedError(
        internal::cat("the provider refused: ", token_error_text(*answer)));
  }
  const IdTokenExpectations expect = expectations(*s, "", now);
  SignedIn signed_in;
  if (!answer->id_token.empty()) {
    absl::StatusOr<IdTokenClaims> claims = verify(*s, *p, answer->id_token, expect, now);
    if (!claims.ok()) return claims.status();
    if (!secrets_equal(claims->subject, subject)) {
      return absl::PermissionDeniedError("the refreshed ID token names another person");
    }
    signed_in.claims = *std::move(claims);
  } else {
    const std::string& userinfo = (*p)->metadata.userinfo_endpoint;
    if (userinfo.empty()) {
      return absl::PermissionDeniedError(
          "the provider's refresh answer holds no id_token and it has no userinfo_endpoint");
    }
    absl::StatusOr<HttpsResponse> r =
        client_for(s->identity, kIdTokenBytesMax).get(userinfo, "Bearer " + answer->access_token);
    if (!r.ok()) {
      return absl::UnavailableError(
          internal::cat("the identity provider cannot be reached: ", r.status().message()));
    }
    if (r->status != 200) {
      return absl::PermissionDeniedError(
          internal::cat("the provider's userinfo endpoint refused (HTTP ", r->status, ")"));
    }
    IdTokenCheck check = claims_from_userinfo(r->body, subject, expect);
    if (!check.ok()) return absl::PermissionDeniedError(check.reason);
    signed_in.claims = std::move(check.claims);
  }
  signed_in.refresh_token =
      answer->refresh_token.empty() ? std::string(refresh_token) : std::move(answer->refresh_token);
  return signed_in;
}

}  // namespace pamproxy::identity
