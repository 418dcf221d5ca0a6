#pragma once
// Verifying an OpenID Connect ID token (a compact JWS, OpenID Connect Core section 3.1.3.7)
// against the provider's keys and what the sign-in expects. Pure: time and keys are parameters.
//
//   IdTokenCheck check = verify_id_token(token, jwks, {.issuer = ..., .client_id = ...,
//                                                      .nonce = sent_nonce, .now = now});
//   if (check.refusal == Refusal::kUnknownKeyId) { refetch the JWKS once, verify again }
//   if (!check.ok()) show check.reason;
//
// Checked, in this order, each refusal naming its cause:
//   - the header: `alg` is RS256 or ES256; "none", HS256 (a provider's public key used as an
//     HMAC secret) and anything else are refused by name before any key is looked at;
//   - the signature, with the JWKS key named by `kid` of the type the algorithm needs;
//   - `iss` exactly the issuer; `aud` holds the client id; `azp`, required when `aud` holds
//     several audiences, is the client id when present;
//   - `exp`, `iat` and `nbf` against now, each with the clock skew;
//   - `nonce` equal to the one sent with the authorization request (constant time), when one was
//     sent;
//   - the subject claim present: a non-empty string.
// Bounds: a token of at most kIdTokenBytesMax bytes; at most kGroupsMax groups are read.
//
// Thread safety: none needed; nothing is shared.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "pamproxy/identity/jwks.h"

namespace pamproxy::identity {

inline constexpr size_t kIdTokenBytesMax = 64 * 1024;
inline constexpr size_t kGroupsMax = 256;
inline constexpr size_t kClaimBytesMax = 1024;

struct IdTokenExpectations {
  std::string_view issuer;
  std::string_view client_id;
  std::string_view nonce;
  // False for the grants that send no nonce (device code, refresh token): a nonce in the token is
  // then not looked at.
  bool nonce_sent = true;
  absl::Time now;
  absl::Duration clock_skew = absl::Seconds(60);
  // Which claims carry what ([identity] *_claim).
  std::string_view subject_claim = "sub";
  std::string_view email_claim = "email";
  std::string_view name_claim = "name";
  std::string_view groups_claim = "groups";  // "" = not read
};

enum class Refusal {
  kNone,
  kMalformed,        // not a compact JWS with JSON header and claims
  kAlgorithm,        // alg not RS256 or ES256
  kUnknownKeyId,     // no key of the JWKS has the token's kid: refetch once, then refuse
  kKeyType,          // the key named by kid is not of the type the algorithm needs
  kSignature,        // the signature does not verify
  kIssuer,           // iss differs
  kAudience,         // aud lacks the client id
  kAuthorizedParty,  // azp missing (several audiences) or not the client id
  kExpired,          // exp + skew <= now
  kIssuedInFuture,   // iat > now + skew
  kNotYetValid,      // nbf > now + skew
  kNonce,            // nonce missing or not the one sent
  kSubject,          // the subject claim missing or not a non-empty string
  kGroupsElsewhere,  // the groups claim named in _claim_names: the provider left it out
};

// The person the token names.
struct IdTokenClaims {
  std::string subject;
  std::string email;                // "" when absent
  std::string name;                 // "" when absent
  std::vector<std::string> groups;  // empty when absent
  absl::Time expires_at;
};

struct IdTokenCheck {
  Refusal refusal = Refusal::kNone;
  std::string reason;    // for the log and the sign-in page; never holds the token
  IdTokenClaims claims;  // filled when ok()
  bool ok() const { return refusal == Refusal::kNone; }
};

IdTokenCheck verify_id_token(std::string_view token, const Jwks& jwks,
                             const IdTokenExpectations& expect);

// The person a userinfo answer (OpenID Connect Core section 5.3) names, read with the same
// claims as an ID token's; refused (kSubject) unless its subject claim is `subject`, the one
// the person signed in with. Used when a refresh answers without an ID token.
IdTokenCheck claims_from_userinfo(std::string_view json, std::string_view subject,
                                  const IdTokenExpectations& expect);

// Whether two secrets (state, nonce, PKCE verifier) are equal, in a time that depends only on
// their lengths.
bool secrets_equal(std::string_view a, std::string_view b);

}  // namespace pamproxy::identity
