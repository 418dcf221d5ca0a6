// TLS 1.3 record protection done by pamproxy (see records.h).

#include "src/tls/records.h"

#include <openssl/crypto.h>

#include <cstring>

#include "src/tls/secrets.h"

namespace pamproxy::tls {
namespace {

// The ciphers are fetched once and kept: a cipher fetched by name never goes back to the
// provider's method store per record (EVP_aes_128_gcm() would, on every key set).
struct Suite {
  const char* digest;
  const EVP_CIPHER* cipher;
  size_t key_len;
  size_t secret_len;
};

bool suite_of(uint16_t id, Suite* out) {
  static const EVP_CIPHER* const kAes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static const EVP_CIPHER* const kAes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static const EVP_CIPHER* const kChacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  switch (id) {
    case 0x1301: *out = {"SHA256", kAes128, 16, 32}; break;
    case 0x1302: *out = {"SHA384", kAes256, 32, 48}; break;
    case 0x1303: *out = {"SHA256", kChacha, 32, 32}; break;
    default: return false;
  }
  return out->cipher != nullptr;
}

}  // namespace

RecordProtection::~RecordProtection() {
  EVP_CIPHER_CTX_free(ctx_);
  OPENSSL_cleanse(secret_, sizeof(secret_));
  OPENSSL_cleanse(iv_, sizeof(iv_));
}

bool RecordProtection::init(uint16_t suite, const uint8_t* secret, size_t secret_len,
                            uint64_t sequence, bool encrypt) {
  Suite s;
  if (!suite_of(suite, &s) || secret_len != s.secret_len) return false;
  cipher_ = s.cipher;
  digest_ = s.digest;
  key_len_ = s.key_len;
  std::memcpy(secret_, secret, secret_len);
  secret_len_ = secret_len;
  sequence_ = sequence;
  suite_ = suite;
  encrypt_ = encrypt;
  updated_ = false;
  return install();
}

bool RecordProtection::export_keys(TrafficKeys* out) const {
  if (updated_ || secret_len_ == 0) return false;
  out->version = TLS1_3_VERSION;
  out->cipher_id = suite_;
  out->key_len = key_len_;
  out->iv_len = sizeof(iv_);
  std::memcpy(out->iv, iv_, sizeof(iv_));
  out->sequence = sequence_;
  return hkdf_expand_label(digest_, secret_, secret_len_, "key", out->key, key_len_);
}

bool RecordProtection::install() {
  uint8_t key[32];
  bool ok = hkdf_expand_label(digest_, secret_, secret_len_, "key", key, key_len_) &&
            hkdf_expand_label(digest_, secret_, secret_len_, "iv", iv_, sizeof(iv_));
  if (ok) {
    if (ctx_ == nullptr) ctx_ = EVP_CIPHER_CTX_new();
    ok = ctx_ != nullptr &&
         EVP_CipherInit_ex(ctx_, cipher_, nullptr, key, nullptr, encrypt_ ? 1 : 0) == 1;
  }
  OPENSSL_cleanse(key, sizeof(key));
  return ok;
}

bool RecordProtection::update() {
  uint8_t next[48];
  if (!hkdf_expand_label(digest_, secret_, secret_len_, "traffic upd", next, secret_len_)) {
    return false;
  }
  std::memcpy(secret_, next, secret_len_);
  OPENSSL_cleanse(next, sizeof(next));
  sequence_ = 0;
  updated_ = true;
  return install();
}

namespace {
void nonce_for(const uint8_t iv[12], uint64_t sequence, uint8_t nonce[12]) {
  std::memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(sequence >> (8 * i));
}
}  // namespace

size_t RecordProtection::seal(uint8_t type, std::span<const uint8_t> plain, uint8_t* out) {
  if (plain.size() > kMaxPlain || !encrypt_) return 0;
  const size_t body = plain.size() + 1 + kTag;
  out[0] = 23;  // application_data, whatever the inner type
  out[1] = 0x03;
  out[2] = 0x03;
  out[3] = static_cast<uint8_t>(body >> 8);
  out[4] = static_cast<uint8_t>(body);
  uint8_t nonce[12];
  nonce_for(iv_, sequence_, nonce);
  int n = 0;
  int m = 0;
  int f = 0;
  bool ok =
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, 1) == 1 &&
      EVP_CipherUpdate(ctx_, nullptr, &n, out, kHeader) == 1 &&
      (plain.empty() || EVP_CipherUpdate(ctx_, out + kHeader, &n, plain.data(),
                                         static_cast<int>(plain.size())) == 1) &&
      EVP_CipherUpdate(ctx_, out + kHeader + plain.size(), &m, &type, 1) == 1 &&
      EVP_CipherFinal_ex(ctx_, out + kHeader + plain.size() + 1, &f) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTag, out + kHeader + plain.size() + 1) == 1;
  if (!ok) return 0;
  ++sequence_;
  return kHeader + body;
}

bool RecordProtection::open(std::span<const uint8_t> record, uint8_t* out, uint8_t* type,
                            size_t* length) {
  if (encrypt_ || record.size() < kHeader + kTag + 1 || record.size() > kHeader + kMaxCiphertext) {
    return false;
  }
  const size_t body = record.size() - kHeader;
  const size_t sealed = body - kTag;
  uint8_t nonce[12];
  nonce_for(iv_, sequence_, nonce);
  int n = 0;
  int f = 0;
  bool ok =
      EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, 0) == 1 &&
      EVP_CipherUpdate(ctx_, nullptr, &n, record.data(), kHeader) == 1 &&
      EVP_CipherUpdate(ctx_, out, &n, record.data() + kHeader, static_cast<int>(sealed)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, kTag,
                          const_cast<uint8_t*>(record.data() + kHeader + sealed)) == 1 &&
      EVP_CipherFinal_ex(ctx_, out + n, &f) == 1;
  if (!ok) {
    OPENSSL_cleanse(out, sealed);  // nothing unauthenticated is left where a caller may look
    return false;
  }
  ++sequence_;
  // The inner type is the last non-zero byte; zeros after it are padding. Nothing but padding
  // leaves type 0, which no content type has.
  size_t end = sealed;
  while (end > 0 && out[end - 1] == 0) --end;
  *type = end > 0 ? out[end - 1] : 0;
  *length = end > 0 ? end - 1 : 0;
  return true;
}

}  // namespace pamproxy::tls
