// The SHA256_* block API is marked deprecated in OpenSSL 3.0 in favour of EVP, but it is the same
// assembly without the per-call provider dispatch and with a copyable context: copying a
// precomputed HMAC state through EVP_MD_CTX_copy_ex allocates, which the hot path must not.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "pamproxy/sigv4/crypto.h"

#include <openssl/crypto.h>

#include <cstring>

namespace pamproxy::sigv4 {

Sha256::Sha256() {
  SHA256_Init(&ctx_);
}

void Sha256::update(std::string_view data) {
  SHA256_Update(&ctx_, data.data(), data.size());
}

void Sha256::update(const void* data, size_t size) {
  SHA256_Update(&ctx_, data, size);
}

Digest Sha256::finish() {
  Digest d;
  SHA256_Final(d.data(), &ctx_);
  return d;
}

Digest sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

void HmacKey::set(std::string_view key) {
  uint8_t block[SHA256_CBLOCK] = {};
  if (key.size() > SHA256_CBLOCK) {
    Digest k = sha256(key);
    std::memcpy(block, k.data(), k.size());
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  uint8_t pad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, sizeof pad);
  for (size_t i = 0; i < SHA256_CBLOCK; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

Digest HmacKey::mac(std::string_view message) const {
  SHA256_CTX c = inner_;
  SHA256_Update(&c, message.data(), message.size());
  Digest inner_digest;
  SHA256_Final(inner_digest.data(), &c);
  c = outer_;
  SHA256_Update(&c, inner_digest.data(), inner_digest.size());
  Digest out;
  SHA256_Final(out.data(), &c);
  OPENSSL_cleanse(&c, sizeof c);
  return out;
}

void HmacKey::clear() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

Digest hmac_sha256(std::string_view key, std::string_view message) {
  HmacKey k(key);
  Digest d = k.mac(message);
  k.clear();
  return d;
}

void hex_encode(const Digest& d, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kHex[d[i] >> 4];
    out[2 * i + 1] = kHex[d[i] & 0xf];
  }
}

bool is_lower_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pamproxy::sigv4
