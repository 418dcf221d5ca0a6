// A provider's signing keys (see include/pamproxy/identity/jwks.h).

#include "pamproxy/identity/jwks.h"

#include <cjose/jwk.h>
#include <simdjson.h>

#include "src/identity/base64url.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

std::string_view string_member(simdjson::dom::object key, std::string_view name) {
  std::string_view value;
  if (key[name].get_string().get(value) != simdjson::SUCCESS) return {};
  return value;
}

bool has_member(simdjson::dom::object key, std::string_view name) {
  return key[name].error() == simdjson::SUCCESS;
}

}  // namespace

absl::StatusOr<Jwks> Jwks::parse(std::string_view json) {
  if (json.size() > kJwksBytesMax) {
    return absl::InvalidArgumentError(
        internal::cat("the JWKS is larger than ", kJwksBytesMax, " bytes"));
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the JWKS is not JSON");
  }
  simdjson::dom::array keys;
  if (root["keys"].get_array().get(keys) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the JWKS has no \"keys\" array");
  }
  if (keys.size() > kKeysMax) {
    return absl::InvalidArgumentError(
        internal::cat("the JWKS holds more than ", kKeysMax, " keys"));
  }
  Jwks out;
  for (simdjson::dom::element element : keys) {
    simdjson::dom::object key;
    if (element.get_object().get(key) != simdjson::SUCCESS) continue;
    const std::string_view kty = string_member(key, "kty");
    const std::string_view use = string_member(key, "use");
    const std::string_view alg = string_member(key, "alg");
    if (has_member(key, "use") && use != "sig") continue;
    KeyType type;
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      type = KeyType::kRsa;
    } else if (kty == "EC" && string_member(key, "crv") == "P-256" &&
               (alg.empty() || alg == "ES256")) {
      type = KeyType::kEcP256;
    } else {
      continue;  // symmetric, another curve or algorithm, or not a key at all
    }
    // Private members are never wanted from a provider; a JWKS that holds them is a mistake
    // that would leak the key, and its public half is all a check needs.
    if (has_member(key, "d")) continue;
    // cjose is handed only the public members, as read here, and only when they decode: it
    // aborts on some base64url that does not, and would take the last of two members of one
    // name where this reads the first.
    const bool rsa = type == KeyType::kRsa;
    const std::string_view first = string_member(key, rsa ? "n" : "x");
    const std::string_view second = string_member(key, rsa ? "e" : "y");
    if (first.empty() || second.empty() || !internal::base64url_text(first) ||
        !internal::base64url_text(second)) {
      continue;
    }
    const std::string text =
        rsa ? internal::cat(R"({"kty":"RSA","n":")", first, R"(","e":")", second, "\"}")
            : internal::cat(R"({"kty":"EC","crv":"P-256","x":")", first, R"(","y":")", second,
                            "\"}");
    cjose_err err;
    cjose_jwk_t* jwk = cjose_jwk_import(text.data(), text.size(), &err);
    if (jwk == nullptr) continue;
    const cjose_jwk_kty_t imported = cjose_jwk_get_kty(jwk, &err);
    const bool matches = type == KeyType::kRsa
                             ? imported == CJOSE_JWK_KTY_RSA
                             : imported == CJOSE_JWK_KTY_EC &&
                                   cjose_jwk_EC_get_curve(jwk, &err) == CJOSE_JWK_EC_P_256;
    if (!matches) {
      cjose_jwk_release(jwk);
      continue;
    }
    out.keys_.push_back(Key{
        .kid = std::string(string_member(key, "kid")),
        .type = type,
        .jwk = std::shared_ptr<cjose_jwk_t>(jwk, [](cjose_jwk_t* k) { cjose_jwk_release(k); })});
  }
  return out;
}

const Jwks::Key* Jwks::find(std::string_view kid) const {
  if (kid.empty()) return keys_.size() == 1 ? &keys_[0] : nullptr;
  for (const Key& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

}  // namespace pamproxy::identity
