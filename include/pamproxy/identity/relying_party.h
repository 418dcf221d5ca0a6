#pragma once
// The appliance as an OpenID Connect relying party: the authorization code flow with PKCE (S256)
// for the web console's sign-in (docs/identity.md).
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
// kJwksRefetchInterval, then refuses. Never: keeps a token the provider returns beyond the call,
// logs a code, a token or the client secret.
//
// A provider that is down costs a sign-in attempt at most [identity] provider_timeout_ms per call
// it makes, and is named in the error (UnavailableError); nothing else depends on it.
//
// Thread safety: any thread, several at once (the admin server's workers call start() and
// finish(), each of which waits for the provider; configure() comes from the reload). The
// settings, the cached provider and its keys, and the sign-ins under way are each read and
// replaced under one mutex, never held while the provider is asked: two sign-ins that both find
// the keys stale may both read them, and the last one read stays.

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

namespace pamproxy::identity {

inline constexpr absl::Duration kSignInLifetime = absl::Minutes(10);
inline constexpr size_t kSignInsMax = 1024;
inline constexpr absl::Duration kJwksRefetchInterval = absl::Seconds(60);
// The provider's metadata and keys are read again at a sign-in this long after they were read, so
// a provider that went away is noticed (and named on the sign-in page) without a reload.
inline constexpr absl::Duration kProviderMaxAge = absl::Minutes(5);
inline constexpr std::string_view kCallbackPath = "/auth/oidc/callback";

class RelyingParty {
 public:
  RelyingParty() = default;

  // Takes [identity]; reads the client secret file. An error (the file is unreadable) leaves
  // sign-in off until the next configure() succeeds.
  absl::Status configure(const config::IdentitySection& identity);
  bool enabled() const;

  struct Redirect {
    std::string url;    // the provider's authorization endpoint with the request's parameters
    std::string state;  // also bound to the browser by the caller (a cookie)
  };
  // UnavailableError when the provider's metadata cannot be read; ResourceExhausted when too
  // many sign-ins are under way; FailedPrecondition when sign-in is off.
  absl::StatusOr<Redirect> start(absl::Time now);

  // The person signed in; PermissionDenied when the state is unknown, used or expired, or the ID
  // token is refused (the message says why); UnavailableError when the provider cannot be
  // reached.
  absl::StatusOr<IdTokenClaims> finish(std::string_view state, std::string_view code,
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
  absl::StatusOr<std::string> exchange_code(const Settings& s, const ProviderMetadata& m,
                                            std::string_view code, std::string_view verifier);

  mutable std::mutex mutex_;
  std::shared_ptr<const Settings> settings_;  // null: sign-in is off
  uint64_t generation_ = 0;                   // bumped by configure(): drops what was fetched
  std::shared_ptr<const Provider> provider_;
  PendingSignIns pending_{kSignInsMax, kSignInLifetime};  // guarded by mutex_
};

}  // namespace pamproxy::identity
