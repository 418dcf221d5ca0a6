// Verifying an ID token (see include/pamproxy/identity/id_token.h).
//
// The header is decoded and its algorithm checked here, before cjose sees the token: cjose would
// verify whatever algorithm the token names with whatever key it is handed, and the algorithm is
// chosen by whoever made the token. Only after the algorithm is one of ours, and the key found by
// kid is of the type that algorithm needs, does cjose check the signature.

#include "pamproxy/identity/id_token.h"

#include <cjose/base64.h>
#include <cjose/jws.h>
#include <cjose/util.h>
#include <openssl/crypto.h>
#include <simdjson.h>

#include <cmath>
#include <optional>

#include "src/identity/base64url.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

IdTokenCheck refuse(Refusal refusal, std::string reason) {
  IdTokenCheck check;
  check.refusal = refusal;
  check.reason = std::move(reason);
  return check;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (!internal::base64url_text(text)) return std::nullopt;
  uint8_t* bytes = nullptr;
  size_t length = 0;
  cjose_err err;
  if (!cjose_base64url_decode(text.data(), text.size(), &bytes, &length, &err)) {
    return std::nullopt;
  }
  std::string out(reinterpret_cast<const char*>(bytes), length);
  cjose_get_dealloc()(bytes);
  return out;
}

// A name the reason quotes: printable, and short, since it came from the token's maker.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) out.push_back(c >= ' ' && c < 0x7f ? c : '?');
  if (text.size() > 64) out += "...";
  return out + "\"";
}

// A NumericDate (RFC 7519 section 2): seconds since the epoch, integer or not.
std::optional<absl::Time> numeric_date(simdjson::dom::object claims, std::string_view name) {
  simdjson::dom::element value;
  if (claims[name].get(value) != simdjson::SUCCESS) return std::nullopt;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  if (value.get_int64().get(i) == simdjson::SUCCESS) return absl::FromUnixSeconds(i);
  if (value.get_uint64().get(u) == simdjson::SUCCESS) return absl::InfiniteFuture();
  if (value.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d)) {
    if (d > 1e15) return absl::InfiniteFuture();
    if (d < -1e15) return absl::InfinitePast();
    return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(d)));
  }
  return std::nullopt;
}

std::string rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// A string claim, "" when absent; nullopt when present but not a string of bounded size.
std::optional<std::string> string_claim(simdjson::dom::object claims, std::string_view name) {
  if (name.empty()) return std::string();
  simdjson::dom::element value;
  if (claims[name].get(value) != simdjson::SUCCESS || value.is_null()) return std::string();
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS || s.size() > kClaimBytesMax) {
    return std::nullopt;
  }
  return std::string(s);
}

// The groups claim: an array of strings (Okta, Keycloak, Entra ID) or one string.
std::vector<std::string> groups_claim(simdjson::dom::object claims, std::string_view name) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  simdjson::dom::element value;
  if (claims[name].get(value) != simdjson::SUCCESS) return out;
  std::string_view s;
  if (value.get_string().get(s) == simdjson::SUCCESS) {
    if (!s.empty() && s.size() <= kClaimBytesMax) out.emplace_back(s);
    return out;
  }
  simdjson::dom::array list;
  if (value.get_array().get(list) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element item : list) {
    if (out.size() == kGroupsMax) break;
    if (item.get_string().get(s) == simdjson::SUCCESS && !s.empty() && s.size() <= kClaimBytesMax) {
      out.emplace_back(s);
    }
  }
  return out;
}

// iss, aud and azp.
std::optional<IdTokenCheck> check_parties(simdjson::dom::object claims,
                                          const IdTokenExpectations& expect) {
  std::string_view iss;
  if (claims["iss"].get_string().get(iss) != simdjson::SUCCESS) {
    return refuse(Refusal::kIssuer, "the ID token has no iss claim");
  }
  if (iss != expect.issuer) {
    return refuse(Refusal::kIssuer,
                  internal::cat("the ID token's issuer ", quoted(iss),
                                " is not the configured issuer ", quoted(expect.issuer)));
  }
  simdjson::dom::element aud;
  if (claims["aud"].get(aud) != simdjson::SUCCESS) {
    return refuse(Refusal::kAudience, "the ID token has no aud claim");
  }
  bool ours = false;
  size_t audiences = 0;
  std::string_view s;
  if (aud.get_string().get(s) == simdjson::SUCCESS) {
    ours = s == expect.client_id;
    audiences = 1;
  } else {
    simdjson::dom::array list;
    if (aud.get_array().get(list) != simdjson::SUCCESS) {
      return refuse(Refusal::kAudience, "the ID token's aud is neither a string nor an array");
    }
    for (simdjson::dom::element item : list) {
      ++audiences;
      if (item.get_string().get(s) == simdjson::SUCCESS && s == expect.client_id) ours = true;
    }
  }
  if (!ours) {
    return refuse(Refusal::kAudience, internal::cat("the ID token's audience does not include "
                                                    "this client (",
                                                    quoted(expect.client_id), ")"));
  }
  std::string_view azp;
  const bool has_azp = claims["azp"].get_string().get(azp) == simdjson::SUCCESS;
  if (audiences > 1 && !has_azp) {
    return refuse(Refusal::kAuthorizedParty,
                  "the ID token names several audiences but no authorized party (azp)");
  }
  if (has_azp && azp != expect.client_id) {
    return refuse(Refusal::kAuthorizedParty, internal::cat("the ID token's authorized party (azp) ",
                                                           quoted(azp), " is not this client"));
  }
  return std::nullopt;
}

// exp, iat, nbf.
std::optional<IdTokenCheck> check_times(simdjson::dom::object claims,
                                        const IdTokenExpectations& expect, absl::Time* exp_out) {
  const absl::Time now = expect.now;
  const absl::Duration skew = expect.clock_skew;
  std::optional<absl::Time> exp = numeric_date(claims, "exp");
  if (!exp) return refuse(Refusal::kExpired, "the ID token has no exp (expiry) claim");
  if (*exp + skew <= now) {
    return refuse(Refusal::kExpired, internal::cat("the ID token expired at ", rfc3339(*exp)));
  }
  std::optional<absl::Time> iat = numeric_date(claims, "iat");
  if (!iat) return refuse(Refusal::kIssuedInFuture, "the ID token has no iat (issued at) claim");
  if (*iat > now + skew) {
    return refuse(Refusal::kIssuedInFuture,
                  internal::cat("the ID token was issued in the future (iat ", rfc3339(*iat),
                                "): check the clocks"));
  }
  if (claims["nbf"].error() == simdjson::SUCCESS) {
    std::optional<absl::Time> nbf = numeric_date(claims, "nbf");
    if (!nbf) return refuse(Refusal::kNotYetValid, "the ID token's nbf is not a number");
    if (*nbf > now + skew) {
      return refuse(Refusal::kNotYetValid,
                    internal::cat("the ID token is not valid before ", rfc3339(*nbf)));
    }
  }
  *exp_out = *exp;
  return std::nullopt;
}

// The person the claims name (subject, e-mail, name, groups).
IdTokenCheck person(simdjson::dom::object claims, const IdTokenExpectations& expect,
                    std::string_view what) {
  IdTokenCheck check;
  std::optional<std::string> subject = string_claim(claims, expect.subject_claim);
  if (!subject || subject->empty()) {
    return refuse(Refusal::kSubject,
                  internal::cat(what, "'s subject claim ", quoted(expect.subject_claim),
                                " is missing or not a string"));
  }
  check.claims.subject = std::move(*subject);
  // A provider that moved the groups out of the token (OpenID Connect's distributed claims:
  // Entra ID does so for a person in more than 200 groups) has not said she is in none. Signing
  // her in with no groups would take away the roles her groups give her, so she is refused, and
  // told how the provider can send them.
  simdjson::dom::object elsewhere;
  simdjson::dom::element named;
  if (!expect.groups_claim.empty() &&
      claims["_claim_names"].get_object().get(elsewhere) == simdjson::SUCCESS &&
      elsewhere[expect.groups_claim].get(named) == simdjson::SUCCESS) {
    return refuse(Refusal::kGroupsElsewhere,
                  internal::cat(what, " leaves its groups claim ", quoted(expect.groups_claim),
                                " to another source (_claim_names; Entra ID does so past 200 "
                                "groups): have the provider send only the groups assigned to "
                                "the application, or app roles (docs/identity.md)"));
  }
  check.claims.email = string_claim(claims, expect.email_claim).value_or("");
  check.claims.name = string_claim(claims, expect.name_claim).value_or("");
  check.claims.groups = groups_claim(claims, expect.groups_claim);
  return check;
}

}  // namespace

bool secrets_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

IdTokenCheck verify_id_token(std::string_view token, const Jwks& jwks,
                             const IdTokenExpectations& expect) {
  if (token.size() > kIdTokenBytesMax) {
    return refuse(Refusal::kMalformed,
                  internal::cat("the ID token is larger than ", kIdTokenBytesMax, " bytes"));
  }
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) == std::string_view::npos ||
      token.find('.', token.find('.', dot + 1) + 1) != std::string_view::npos) {
    return refuse(Refusal::kMalformed, "the ID token is not a compact JWS (three parts)");
  }
  for (std::string_view rest = token;;) {
    const size_t end = rest.find('.');
    if (!internal::base64url_text(rest.substr(0, end))) {
      return refuse(Refusal::kMalformed, "the ID token's parts are not base64url");
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  std::optional<std::string> header_json = base64url_decode(token.substr(0, dot));
  if (!header_json) return refuse(Refusal::kMalformed, "the ID token's header is not base64url");

  simdjson::dom::parser parser;
  simdjson::padded_string padded_header(*header_json);
  simdjson::dom::object header;
  if (parser.parse(padded_header).get_object().get(header) != simdjson::SUCCESS) {
    return refuse(Refusal::kMalformed, "the ID token's header is not a JSON object");
  }
  std::string_view alg;
  if (header["alg"].get_string().get(alg) != simdjson::SUCCESS) {
    return refuse(Refusal::kAlgorithm, "the ID token's header names no algorithm (alg)");
  }
  KeyType needed;
  if (alg == "RS256") {
    needed = KeyType::kRsa;
  } else if (alg == "ES256") {
    needed = KeyType::kEcP256;
  } else {
    return refuse(Refusal::kAlgorithm, internal::cat("the ID token's algorithm ", quoted(alg),
                                                     " is refused (only RS256 and ES256 are "
                                                     "accepted)"));
  }
  // A critical extension we do not understand must not be ignored (RFC 7515 section 4.1.11).
  if (header["crit"].error() == simdjson::SUCCESS) {
    return refuse(Refusal::kMalformed, "the ID token's header has critical extensions (crit)");
  }
  std::string_view kid;
  if (header["kid"].error() == simdjson::SUCCESS &&
      header["kid"].get_string().get(kid) != simdjson::SUCCESS) {
    return refuse(Refusal::kMalformed, "the ID token's kid is not a string");
  }
  const Jwks::Key* key = jwks.find(kid);
  if (key == nullptr) {
    return refuse(Refusal::kUnknownKeyId,
                  kid.empty() ? std::string("the ID token names no key (kid) and the provider "
                                            "publishes more than one")
                              : internal::cat("no signing key of the provider has the ID token's "
                                              "kid ",
                                              quoted(kid)));
  }
  if (key->type != needed) {
    return refuse(Refusal::kKeyType, internal::cat("the key ", quoted(kid), " is not a",
                                                   needed == KeyType::kRsa ? "n RSA" : " P-256 EC",
                                                   " key, which ", alg, " needs"));
  }

  cjose_err err;
  std::unique_ptr<cjose_jws_t, void (*)(cjose_jws_t*)> jws(
      cjose_jws_import(token.data(), token.size(), &err), cjose_jws_release);
  if (!jws) return refuse(Refusal::kMalformed, "the ID token is not a valid JWS");
  if (!cjose_jws_verify(jws.get(), key->jwk.get(), &err)) {
    return refuse(Refusal::kSignature, "the ID token's signature does not verify");
  }
  uint8_t* plaintext = nullptr;
  size_t plaintext_len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plaintext, &plaintext_len, &err)) {
    return refuse(Refusal::kMalformed, "the ID token has no claims");
  }
  // The plaintext belongs to the JWS; copied for simdjson's padding.
  simdjson::padded_string padded_claims(reinterpret_cast<const char*>(plaintext), plaintext_len);
  simdjson::dom::parser claims_parser;
  simdjson::dom::object claims;
  if (claims_parser.parse(padded_claims).get_object().get(claims) != simdjson::SUCCESS) {
    return refuse(Refusal::kMalformed, "the ID token's claims are not a JSON object");
  }

  if (auto refused = check_parties(claims, expect)) return *refused;
  absl::Time expires_at;
  if (auto refused = check_times(claims, expect, &expires_at)) return *refused;
  if (expect.nonce_sent) {
    std::string_view nonce;
    if (claims["nonce"].get_string().get(nonce) != simdjson::SUCCESS) {
      return refuse(Refusal::kNonce, "the ID token has no nonce");
    }
    if (expect.nonce.empty() || !secrets_equal(nonce, expect.nonce)) {
      return refuse(Refusal::kNonce, "the ID token's nonce is not the one this sign-in sent");
    }
  }
  IdTokenCheck check = person(claims, expect, "the ID token");
  check.claims.expires_at = expires_at;
  return check;
}

IdTokenCheck claims_from_userinfo(std::string_view json, std::string_view subject,
                                  const IdTokenExpectations& expect) {
  if (json.size() > kIdTokenBytesMax) {
    return refuse(Refusal::kMalformed,
                  internal::cat("the userinfo answer is larger than ", kIdTokenBytesMax, " bytes"));
  }
  simdjson::padded_string padded(json);
  simdjson::dom::parser parser;
  simdjson::dom::object claims;
  if (parser.parse(padded).get_object().get(claims) != simdjson::SUCCESS) {
    return refuse(Refusal::kMalformed, "the userinfo answer is not a JSON object");
  }
  IdTokenCheck check = person(claims, expect, "the userinfo answer");
  // OpenID Connect Core section 5.3.2: the answer must name the person the ID token named, else
  // it may speak of somebody else (a token substitution).
  if (check.ok() && !secrets_equal(check.claims.subject, subject)) {
    return refuse(Refusal::kSubject, "the userinfo answer names another person than the sign-in");
  }
  return check;
}

}  // namespace pamproxy::identity
