#pragma once
// Encryption at rest for the store: the master key, AES-256-GCM sealing of secrets, and random
// identifiers and secrets. Each sealed value is bound to where it lives (table, column, row id)
// through the GCM associated data, so a ciphertext copied to another row does not open.
//
// Sealed layout: 0x01 | nonce (12 bytes, random) | ciphertext | tag (16 bytes).
//
// Never log a key, a plaintext or an error that carries one.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::store {

class MasterKey {
 public:
  // Reads a key file: 32 raw bytes, or 64 hex digits with an optional trailing newline. Refuses a
  // file that other users may read or write.
  static absl::StatusOr<MasterKey> load(const std::string& path);
  // Creates a new random key file (mode 0600, never overwriting) and returns the key.
  static absl::StatusOr<MasterKey> create(const std::string& path);
  static MasterKey from_bytes(const std::array<uint8_t, 32>& bytes);

  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  ~MasterKey();

  std::string seal(std::string_view plaintext, std::string_view aad) const;
  // Fails (without saying more) when the key is wrong, the data was changed, or `aad` differs.
  absl::StatusOr<policy::Secret> open(std::string_view sealed, std::string_view aad) const;

 private:
  MasterKey() = default;
  std::array<uint8_t, 32> key_{};
};

// Cryptographically random identifiers and secrets (RAND_bytes; aborts if the RNG fails).
// base32 lowercase [a-z2-7]: ids for users, roles, records, grants, requests.
std::string random_id(std::string_view prefix, size_t chars);
// Token ids: "PAM" + 17 of [A-Z2-7], AWS-access-key-like: no '#', '/', '+' or '='.
std::string random_token_id();
// Token secrets: 40 of [A-Za-z0-9] (like an AWS secret key, ~238 bits).
std::string random_token_secret();

}  // namespace pamproxy::store
