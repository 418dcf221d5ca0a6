#pragma once
// SHA-256 and HMAC-SHA256 on OpenSSL's SHA-256 block functions (SHA-NI/AVX2 assembly), with
// plain-struct contexts: no provider fetches, no heap, and a precomputed HMAC key is two copied
// contexts. Hot-path signing and chunk hashing use only this file.

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace pamproxy::sigv4 {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  void update(const void* data, size_t size);
  Digest finish();

 private:
  SHA256_CTX ctx_;
};

Digest sha256(std::string_view data);

// An HMAC-SHA256 key with its inner and outer pads already absorbed (RFC 2104), so each MAC costs
// the message plus two blocks.
class HmacKey {
 public:
  HmacKey() = default;
  explicit HmacKey(std::string_view key) { set(key); }
  void set(std::string_view key);
  Digest mac(std::string_view message) const;
  // Wipes the pad states.
  void clear();

 private:
  SHA256_CTX inner_{};
  SHA256_CTX outer_{};
};

Digest hmac_sha256(std::string_view key, std::string_view message);

// Lowercase hex of 32 bytes into exactly 64 chars at `out`.
void hex_encode(const Digest& d, char* out);
inline std::string_view as_view(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}
// True when `s` is exactly 64 lowercase hex characters.
bool is_lower_hex64(std::string_view s);

// Constant-time equality of equal-length byte strings (CRYPTO_memcmp); false on length mismatch.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace pamproxy::sigv4
