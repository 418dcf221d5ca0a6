#pragma once
// The appliance's Ed25519 audit key: signs checkpoints (SigningKey) and checks them offline
// (PublicKey). OpenSSL EVP underneath. The private key file is PEM (PKCS#8), created 0600 with
// O_EXCL on first use and never printed; only the public key leaves the appliance.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace pamproxy::audit {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

inline constexpr size_t kSignatureHexBytes = 128;

class PublicKey {
 public:
  // PEM "PUBLIC KEY" (as printed by `pamctl audit export-key`).
  static absl::StatusOr<PublicKey> from_pem(std::string_view pem);
  // True when `signature_hex` (128 hex characters) is a valid signature of `message`.
  bool verify_hex(std::string_view message, std::string_view signature_hex) const;
  std::string pem() const;
  // First 16 hex characters of the SHA-256 of the raw 32-byte key: names the key in checkpoints.
  const std::string& key_id() const { return key_id_; }

 private:
  friend class SigningKey;
  explicit PublicKey(PkeyPtr key);
  PkeyPtr key_;
  std::string key_id_;
};

class SigningKey {
 public:
  // Loads the key at `path`; when the file does not exist, generates one and writes it with mode
  // 0600 (never overwriting a file that appears meanwhile).
  static absl::StatusOr<SigningKey> load_or_create(const std::string& path);
  // Loads an existing key only.
  static absl::StatusOr<SigningKey> load(const std::string& path);
  // A fresh key held in memory only (tests, benchmarks).
  static SigningKey generate();

  std::string sign_hex(std::string_view message) const;  // kSignatureHexBytes characters
  const PublicKey& public_key() const { return public_; }

 private:
  SigningKey(PkeyPtr priv, PublicKey pub) : private_(std::move(priv)), public_(std::move(pub)) {}
  PkeyPtr private_;
  PublicKey public_;
};

}  // namespace pamproxy::audit
