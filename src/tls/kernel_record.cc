// One record sealed from the keys handed to the kernel (see kernel_record.h).

#include "src/tls/kernel_record.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstring>

namespace pamproxy::tls {
namespace {

constexpr size_t kHeader = 5;
constexpr size_t kTag = 16;
constexpr size_t kExplicitNonce = 8;
constexpr size_t kMaxPlain = 16384;  // 2^14

enum class Layout { kTls13, kTls12Gcm, kTls12Chacha };

struct Shape {
  const EVP_CIPHER* cipher = nullptr;
  Layout layout = Layout::kTls13;
};

// Which cipher and record layout `keys` describe, as to_crypto_info reads them (ChaCha20 by its
// suite id, AES-GCM by its key length); false for anything the kernel would not take.
bool shape_of(const TrafficKeys& keys, Shape* out) {
  static const EVP_CIPHER* const kAes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static const EVP_CIPHER* const kAes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static const EVP_CIPHER* const kChacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  const bool tls13 = keys.version == TLS1_3_VERSION;
  if (!tls13 && keys.version != TLS1_2_VERSION) return false;
  const bool chacha =
      keys.cipher_id == 0x1303 || keys.cipher_id == 0xCCA8 || keys.cipher_id == 0xCCA9;
  if (chacha) {
    if (keys.key_len != 32 || keys.iv_len != 12) return false;
    *out = {kChacha, tls13 ? Layout::kTls13 : Layout::kTls12Chacha};
  } else {
    if (keys.key_len != 16 && keys.key_len != 32) return false;
    if (keys.iv_len != (tls13 ? 12u : 4u)) return false;
    *out = {keys.key_len == 16 ? kAes128 : kAes256, tls13 ? Layout::kTls13 : Layout::kTls12Gcm};
  }
  return out->cipher != nullptr;
}

void put_u64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

// One AEAD pass: `plain` to `ct` (the same length) and the tag after it.
bool aead_seal(const EVP_CIPHER* cipher, const uint8_t* key, const uint8_t nonce[12],
               std::span<const uint8_t> aad, std::span<const uint8_t> plain, uint8_t* ct) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  int final_n = 0;
  const bool ok =
      ctx != nullptr && EVP_EncryptInit_ex(ctx, cipher, nullptr, key, nonce) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, ct, &n, plain.data(), static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, ct + n, &final_n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, ct + plain.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);  // wipes the key schedule
  return ok;
}

}  // namespace

size_t kernel_record_size(const TrafficKeys& keys, size_t plain_len) {
  Shape shape;
  if (!shape_of(keys, &shape)) return 0;
  switch (shape.layout) {
    case Layout::kTls13: return kHeader + plain_len + 1 + kTag;
    case Layout::kTls12Gcm: return kHeader + kExplicitNonce + plain_len + kTag;
    case Layout::kTls12Chacha: return kHeader + plain_len + kTag;
  }
  return 0;
}

size_t seal_kernel_record(const TrafficKeys& keys, uint8_t type, std::span<const uint8_t> plain,
                          uint64_t explicit_nonce, std::span<uint8_t> out) {
  Shape shape;
  const size_t size = kernel_record_size(keys, plain.size());
  if (!shape_of(keys, &shape) || plain.size() > kMaxPlain || size == 0 || out.size() < size) {
    return 0;
  }
  const size_t body = size - kHeader;
  uint8_t* const record = out.data();
  record[0] = shape.layout == Layout::kTls13 ? SSL3_RT_APPLICATION_DATA : type;
  record[1] = 0x03;
  record[2] = 0x03;
  record[3] = static_cast<uint8_t>(body >> 8);
  record[4] = static_cast<uint8_t>(body);

  uint8_t nonce[12];
  uint8_t seq[8];
  put_u64(keys.sequence, seq);
  if (shape.layout == Layout::kTls12Gcm) {
    std::memcpy(nonce, keys.iv, 4);
    put_u64(explicit_nonce, nonce + 4);
  } else {
    std::memcpy(nonce, keys.iv, 12);
    for (int i = 0; i < 8; ++i) nonce[4 + i] ^= seq[i];
  }

  bool ok = false;
  if (shape.layout == Layout::kTls13) {
    // The inner plaintext (content, then its type) is gathered in the output, then sealed in
    // place: the cipher reads each byte before it writes it.
    uint8_t* inner = record + kHeader;
    std::memcpy(inner, plain.data(), plain.size());
    inner[plain.size()] = type;
    ok = aead_seal(shape.cipher, keys.key, nonce, {record, kHeader}, {inner, plain.size() + 1},
                   inner);
  } else {
    uint8_t aad[13];
    std::memcpy(aad, seq, 8);
    aad[8] = type;
    aad[9] = 0x03;
    aad[10] = 0x03;
    aad[11] = static_cast<uint8_t>(plain.size() >> 8);
    aad[12] = static_cast<uint8_t>(plain.size());
    uint8_t* ct = record + kHeader;
    if (shape.layout == Layout::kTls12Gcm) {
      std::memcpy(ct, nonce + 4, kExplicitNonce);
      ct += kExplicitNonce;
    }
    ok = aead_seal(shape.cipher, keys.key, nonce, aad, plain, ct);
  }
  OPENSSL_cleanse(nonce, sizeof(nonce));
  if (!ok) {
    OPENSSL_cleanse(record, size);
    return 0;
  }
  return size;
}

}  // namespace pamproxy::tls
