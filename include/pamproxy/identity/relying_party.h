#pragma once
// The appliance as an OpenID Connect relying party: the authorization code flow with PKCE (S256)
// for the web console's sign-in and pamctl's with a browser, the device flow (RFC 8628) for
// pamctl's without one, and the refresh grant that checks the person again (docs/identity.md).
//
//   RelyingParty rp;
//   rp.configure(config.identity);                        // at start and on every reload
//   absl::StatusOr<RelyingParty::Redirect> go = rp.start(now);   // GET /auth/oidc/start
//   ... the browser signs in at the provider and comes back ...
//   absl::StatusOr<IdTokenClaims> who = rp.finish(state, code, now);  // GET /auth/oidc/callback
//
// Owns: the provider's metadata (discovery document) and keys (JWKS), cached for kProviderMaxAge
// and dropped on every configure(), so a reload reads them again; the sign-ins under way
// (sign_ins.h); the token exchange (client_secret_basic or client_secret_post, over TLS verified
// with ca_file or the system store) and the ID token's verification (id_token.h). An ID token
// naming a key the cached JWKS lacks makes it fetch the JWKS again, at most once per
// kJwksRefetchInterval, then refuses. Never: keeps a token the provider returns beyond the call
// (the refresh token goes back to the caller, which seals it in the store), logs a code, a token
// or the client secret.
//
// A provider that is down costs a sign-in attempt at most [identity] provider_timeout_ms per call
// it makes, and is named in the error (UnavailableError); nothing else depends on it.
//
// Thread safety: any thread, several at once (the admin server's workers call start(),
// finish(), start_device(), poll_device() and refresh(), each of which waits for the provider;
// configure() comes from the reload). The settings, the cached provider and its keys, and the
// sign-ins and device sign-ins under way are each read and replaced under one mutex, never held
// while the provider is asked: two sign-ins that both find the keys stale may both read them,
// and the last one read stays.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pamproxy/config/config.h"
#include "pamproxy/identity/discovery.h"
#include "pamproxy/identity/id_token.h"
#include "pamproxy/identity/jwks.h"
#include "pamproxy/identity/sign_ins.h"
#include "pamproxy/identity/token_answer.h"

namespace pamproxy::identity {

inline constexpr absl::Duration kSignInLifetime = absl::Minutes(10);
inline constexpr size_t kSignInsMax = 1024;
inline constexpr absl::Duration kJwksRefetchInterval = absl::Seconds(60);
// The provider's metadata and keys are read again at a sign-in this long after they were read, so
// a provider that went away is noticed (and named on the sign-in page) without a reload.
inline constexpr absl::Duration kProviderMaxAge = absl::Minutes(5);
inline constexpr std::string_view kCallbackPath = "/auth/oidc/callback";

inline constexpr size_t kDevicesMax = 256;

// What a sign-in yields: the person, and for a command-line sign-in the provider's refresh token
// and where pamctl waits (a console sign-in: cli.port 0).
struct SignedIn {
  IdTokenClaims claims;
  std::string refresh_token;  // "" when the provider gave none
  CliReturn cli;
};

class RelyingParty {
 public:
  RelyingParty() = default;

  // Takes [identity]; reads the client secret file. An error (the file is unreadable) leaves
  // sign-in off until the next configure() succeeds.
  absl::Status configure(const config::IdentitySection& identity);
  bool enabled() const;
  // [identity] cli_token_lifetime_s and cli_recheck_s as configured now (defaults when off).
  struct CliSettings {
    int64_t token_lifetime_s = 8 * 3600;
    int64_t recheck_s = 300;
  };
  CliSettings cli_settings() const;

  struct Redirect {
    std::string url;    // the provider's authorization endpoint with the request's parameters
    std::string state;  // also bound to the browser by the caller (a cookie)
  };
  // UnavailableError when the provider's metadata cannot be read; ResourceExhausted when too
  // many sign-ins are under way; FailedPrecondition when sign-in is off.
  // With `cli` (a port), the sign-in is pamctl's: offline_access is asked for too, and finish()
  // hands back where pamctl waits.
  absl::StatusOr<Redirect> start(absl::Time now, CliReturn cli = {});

  // The person signed in; PermissionDenied when the state is unknown, used or expired, or the ID
  // token is refused (the message says why); UnavailableError when the provider cannot be
  // reached.
  absl::StatusOr<SignedIn> finish(std::string_view state, std::string_view code, absl::Time now);

  // The device flow (RFC 8628) for `pamctl login --device`.
  struct DeviceStart {
    std::string handle;  // the client polls with it; the device code stays here
    std::string user_code;
    std::string verification_uri;
    std::string verification_uri_complete;  // "" when the provider gave none
    int64_t expires_in_s = 0;
    int64_t interval_s = 5;
  };
  // FailedPrecondition naming it when the provider has no device authorization endpoint (or
  // sign-in is off); UnavailableError when the provider cannot be reached; PermissionDenied when
  // it refuses; ResourceExhausted when too many are under way.
  absl::StatusOr<DeviceStart> start_device(absl::Time now);

  struct DevicePoll {
    bool pending = true;  // not yet: ask again after interval_s
    int64_t interval_s = 5;
    SignedIn signed_in;  // when !pending
  };
  // NotFound when the handle is unknown, finished or expired; PermissionDenied naming the
  // provider's error (access_denied, expired_token, ...) or the ID token's refusal, after which
  // the handle is gone; UnavailableError when the provider cannot be reached.
  absl::StatusOr<DevicePoll> poll_device(std::string_view handle, absl::Time now);

  // The person again, through the provider's refresh token (grant refresh_token): the new ID
  // token verified as at sign-in, or the userinfo endpoint's answer when the provider sent none;
  // either must name `subject`. The refresh token to keep comes back (the provider's new one, or
  // the one given). PermissionDenied naming the provider's refusal (the grant revoked, the person
  // disabled); UnavailableError when the provider cannot be reached.
  absl::StatusOr<SignedIn> refresh(std::string_view refresh_token, std::string_view subject,
                                   absl::Time now);

 private:
  struct Settings {
    config::IdentitySection identity;
    std::string client_secret;
    std::string redirect_uri;
  };
  struct Provider {
    ProviderMetadata metadata;
    std::shared_ptr<const Jwks> jwks;
    absl::Time fetched = absl::InfinitePast();  // the metadata
    absl::Time jwks_fetched = absl::InfinitePast();
  };

  std::shared_ptr<const Settings> settings() const;
  // The cached provider, fetched first when there is none.
  absl::StatusOr<std::shared_ptr<const Provider>> provider(const Settings& s, absl::Time now);
  absl::StatusOr<std::shared_ptr<const Jwks>> fetch_jwks(const Settings& s,
                                                         const ProviderMetadata& m);
  // The token endpoint's answer to `grant` (the form without the client's credentials).
  absl::StatusOr<TokenAnswer> call_token_endpoint(const Settings& s, const ProviderMetadata& m,
                                                  std::string form, std::string_view what,
                                                  long* http_status = nullptr);
  IdTokenExpectations expectations(const Settings& s, std::string_view nonce, absl::Time now) const;
  // Verifies an ID token, reading the provider's keys once more when it names a key not seen.
  absl::StatusOr<IdTokenClaims> verify(const Settings& s, std::shared_ptr<const Provider> p,
                                       std::string_view id_token, const IdTokenExpectations& e,
                                       absl::Time now);
  std::string scope(const Settings& s, bool offline) const;

  mutable std::mutex mutex_;
  std::shared_ptr<const Settings> settings_;  // null: sign-in is off
  uint64_t generation_ = 0;                   // bumped by configure(): drops what was fetched
  std::shared_ptr<const Provider> provider_;
  PendingSignIns pending_{kSignInsMax, kSignInLifetime};  // guarded by mutex_
  PendingDevices devices_{kDevicesMax};                   // guarded by mutex_
};

}  // namespace pamproxy::identity
