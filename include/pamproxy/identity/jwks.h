#pragma once
// A provider's signing keys (its JWKS, RFC 7517), parsed once and then only read.
//
//   absl::StatusOr<Jwks> keys = Jwks::parse(body_of_jwks_uri);
//   const Jwks::Key* key = keys->find("kid-2024");
//
// Only keys that may sign an ID token this appliance accepts are kept: RSA keys (RS256) and
// P-256 EC keys (ES256) whose `use` is absent or "sig" and whose `alg`, when given, is that
// algorithm. A symmetric ("oct") key is never kept: an ID token checked with a provider's
// published key must be signed with its private half, never with a secret anybody could read.
// Other keys are skipped, not refused, so a provider that also publishes encryption keys works.
//
// Bounds: a JWKS of at most kJwksBytesMax bytes and kKeysMax keys.
//
// Thread safety: immutable after parse(); share it as std::shared_ptr<const Jwks>.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

struct _cjose_jwk_int;

namespace pamproxy::identity {

enum class KeyType { kRsa, kEcP256 };

class Jwks {
 public:
  static constexpr size_t kJwksBytesMax = 256 * 1024;
  static constexpr size_t kKeysMax = 64;

  struct Key {
    std::string kid;  // "" when the provider gave none
    KeyType type;
    std::shared_ptr<_cjose_jwk_int> jwk;
  };

  // InvalidArgument naming what is wrong when the text is not a JWKS ({"keys": [...]}); a JWKS
  // with no usable key parses, and then finds nothing.
  static absl::StatusOr<Jwks> parse(std::string_view json);

  // The key with that kid; for a token without a kid, the only key when there is exactly one.
  // nullptr when none.
  const Key* find(std::string_view kid) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<Key> keys_;
};

}  // namespace pamproxy::identity
