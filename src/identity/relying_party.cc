// The OpenID Connect relying party (see include/pamproxy/identity/relying_party.h).

#include "pamproxy/identity/relying_party.h"

#include <openssl/evp.h>
#include <simdjson.h>

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

absl::StatusOr<RelyingParty::Redirect> RelyingParty::start(absl::Time now) {
  std::shared_ptr<const Settings> s = settings();
  if (s == nullptr) return absl::FailedPreconditionError("sign-in through a provider is off");
  auto p = provider(*s, now);
  if (!p.ok()) return p.status();
  std::optional<PendingSignIns::Started> started;
  {
    std::lock_guard lock(mutex_);
    started = pending_.start(now);
  }
  if (!started) {
    return absl::ResourceExhaustedError("too many sign-ins are under way; try again shortly");
  }
  const std::string& endpoint = (*p)->metadata.authorization_endpoint;
  std::string url =
      internal::cat(endpoint, endpoint.find('?') == std::string::npos ? "?" : "&",
                    "response_type=code&client_id=", form_encode(s->identity.client_id),
                    "&redirect_uri=", form_encode(s->redirect_uri),
                    "&scope=", form_encode(absl::StrJoin(s->identity.scopes, " ")),
                    "&state=", started->state, "&nonce=", started->nonce,
                    "&code_challenge=", started->code_challenge, "&code_challenge_method=S256");
  return Redirect{.url = std::move(url), .state = std::move(started->state)};
}

absl::StatusOr<std::string> RelyingParty::exchange_code(const Settings& s,
                                                        const ProviderMetadata& m,
                                                        std::string_view code,
                                                        std::string_view verifier) {
  std::string form = internal::cat("grant_type=authorization_code&code=", form_encode(code),
                                   "&redirect_uri=", form_encode(s.redirect_uri),
                                   "&code_verifier=", form_encode(verifier));
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
      client_for(s.identity, 256 * 1024).post_form(m.token_endpoint, form, authorization);
  if (!r.ok()) {
    return absl::UnavailableError(
        internal::cat("the identity provider cannot be reached: ", r.status().message()));
  }
  if (r->status != 200) {
    return absl::PermissionDeniedError(internal::cat(
        "the provider refused the code (HTTP ", r->status, ": ", provider_error(r->body), ")"));
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(r->body);
  simdjson::dom::object doc;
  std::string_view id_token;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS ||
      doc["id_token"].get_string().get(id_token) != simdjson::SUCCESS) {
    return absl::PermissionDeniedError("the provider's token answer holds no id_token");
  }
  return std::string(id_token);
}

absl::StatusOr<IdTokenClaims> RelyingParty::finish(std::string_view state, std::string_view code,
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
  absl::StatusOr<std::string> id_token =
      exchange_code(*s, (*p)->metadata, code, sign_in->code_verifier);
  if (!id_token.ok()) return id_token.status();
  const config::IdentitySection& i = s->identity;
  const IdTokenExpectations expect{.issuer = i.issuer,
                                   .client_id = i.client_id,
                                   .nonce = sign_in->nonce,
                                   .now = now,
                                   .clock_skew = absl::Seconds(i.clock_skew_s),
                                   .subject_claim = i.subject_claim,
                                   .email_claim = i.email_claim,
                                   .name_claim = i.name_claim,
                                   .groups_claim = i.groups_claim};
  IdTokenCheck check = verify_id_token(*id_token, *(*p)->jwks, expect);
  if (check.refusal == Refusal::kUnknownKeyId && now - (*p)->jwks_fetched >= kJwksRefetchInterval) {
    // The provider may have rotated its keys since they were cached: read them once more.
    auto jwks = fetch_jwks(*s, (*p)->metadata);
    if (!jwks.ok()) return jwks.status();
    auto refreshed = std::make_shared<const Provider>(Provider{
        .metadata = (*p)->metadata, .jwks = *jwks, .fetched = (*p)->fetched, .jwks_fetched = now});
    {
      std::lock_guard lock(mutex_);
      if (provider_ == *p) provider_ = refreshed;
    }
    check = verify_id_token(*id_token, **jwks, expect);
  }
  if (!check.ok()) return absl::PermissionDeniedError(check.reason);
  return std::move(check.claims);
}

}  // namespace pamproxy::identity
