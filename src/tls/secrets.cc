// Handshake secrets and record counters for kTLS (see secrets.h).

#include "src/tls/secrets.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace pamproxy::tls {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes `hex` into `out`; returns the byte count, 0 when malformed or too long.
size_t unhex(std::string_view hex, uint8_t* out, size_t out_max) {
  if (hex.size() % 2 != 0 || hex.size() / 2 > out_max) return 0;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return hex.size() / 2;
}

struct SuiteKeys {
  const char* digest;
  size_t key_len;
  size_t iv_len;  // TLS 1.2: implicit part from the key block
};

bool suite_keys(uint16_t version, uint16_t id, SuiteKeys* out) {
  if (version == TLS1_3_VERSION) {
    switch (id) {
      case 0x1301: *out = {"SHA256", 16, 12}; return true;
      case 0x1302: *out = {"SHA384", 32, 12}; return true;
      case 0x1303: *out = {"SHA256", 32, 12}; return true;
      default: return false;
    }
  }
  switch (id) {
    case 0xC02B:
    case 0xC02F: *out = {"SHA256", 16, 4}; return true;
    case 0xC02C:
    case 0xC030: *out = {"SHA384", 32, 4}; return true;
    case 0xCCA8:
    case 0xCCA9: *out = {"SHA256", 32, 12}; return true;
    default: return false;
  }
}

bool tls12_key_block(const SSL* ssl, const char* digest, uint8_t* out, size_t out_len) {
  uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
  size_t master_len = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof(master));
  uint8_t seed[13 + 2 * SSL3_RANDOM_SIZE];
  std::memcpy(seed, "key expansion", 13);
  SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE);
  SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
  EVP_KDF_CTX* ctx = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, master_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
      OSSL_PARAM_construct_end()};
  bool ok = ctx != nullptr && master_len > 0 && EVP_KDF_derive(ctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  OPENSSL_cleanse(master, sizeof(master));
  return ok;
}

}  // namespace

namespace {
// One HMAC context per digest and thread, keyed anew per call: OpenSSL 3.0's EVP_KDF and
// EVP_Q_mac fetch the digest by name and build their contexts on every call (about 4 µs per
// derivation here, a dozen of them per handshake).
EVP_MAC_CTX* hmac_context_of_thread(const char* digest) {
  struct PerThread {
    EVP_MAC_CTX* sha256 = nullptr;
    EVP_MAC_CTX* sha384 = nullptr;
    ~PerThread() {
      EVP_MAC_CTX_free(sha256);
      EVP_MAC_CTX_free(sha384);
    }
  };
  thread_local PerThread contexts;
  const bool is_384 = std::string_view(digest) == "SHA384";
  if (!is_384 && std::string_view(digest) != "SHA256") return nullptr;
  EVP_MAC_CTX*& ctx = is_384 ? contexts.sha384 : contexts.sha256;
  if (ctx == nullptr) {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* c = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
        OSSL_PARAM_construct_end()};
    if (c == nullptr || EVP_MAC_CTX_set_params(c, params) != 1) {
      EVP_MAC_CTX_free(c);
      return nullptr;
    }
    ctx = c;
  }
  return ctx;
}
}  // namespace

EVP_MAC_CTX* thread_hmac_context(const char* digest) {
  return hmac_context_of_thread(digest);
}

size_t hmac(const char* digest, std::span<const uint8_t> key,
            std::initializer_list<std::span<const uint8_t>> parts, uint8_t* out) {
  EVP_MAC_CTX* ctx = hmac_context_of_thread(digest);
  if (ctx == nullptr) return 0;
  // OpenSSL keeps a copy of the key, and the pads made from it, in the context until it is
  // keyed again: the context lives as long as the thread, so it is keyed with a zero byte
  // before this returns, whichever way it does.
  struct Rekey {
    EVP_MAC_CTX* ctx;
    ~Rekey() {
      static constexpr uint8_t kZero[1] = {};
      EVP_MAC_init(ctx, kZero, sizeof(kZero), nullptr);
    }
  } rekey{ctx};
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1) return 0;
  for (std::span<const uint8_t> part : parts) {
    if (EVP_MAC_update(ctx, part.data(), part.size()) != 1) return 0;
  }
  size_t n = 0;
  return EVP_MAC_final(ctx, out, &n, EVP_MAC_CTX_get_mac_size(ctx)) == 1 ? n : 0;
}

bool hkdf_expand_label(const char* digest, const uint8_t* secret, size_t secret_len,
                       std::string_view label, uint8_t* out, size_t out_len,
                       std::span<const uint8_t> context) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255>; }
  uint8_t info[2 + 1 + 6 + 64 + 1 + 64];
  if (label.size() > 64 || context.size() > 64 || out_len > 255 * 32) return false;
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out_len >> 8);
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + label.size());
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) std::memcpy(info + n, context.data(), context.size());
  n += context.size();
  // HKDF-Expand (RFC 5869 2.3): T(i) = HMAC(secret, T(i-1) || info || i).
  uint8_t t[EVP_MAX_MD_SIZE];
  ScopedCleanse wipe_t(t, sizeof(t));
  size_t t_len = 0;
  size_t done = 0;
  for (uint8_t i = 1; done < out_len; ++i) {
    const uint8_t counter[1] = {i};
    t_len =
        hmac(digest, {secret, secret_len},
             {std::span<const uint8_t>(t, t_len), std::span<const uint8_t>(info, n), counter}, t);
    if (t_len == 0) return false;
    const size_t take = std::min(t_len, out_len - done);
    std::memcpy(out + done, t, take);
    done += take;
  }
  return true;
}

Secrets::~Secrets() {
  OPENSSL_cleanse(client_app_, sizeof(client_app_));
  OPENSSL_cleanse(server_app_, sizeof(server_app_));
}

void Secrets::note_keylog(const char* line) {
  // "LABEL <client random hex> <secret hex>"
  std::string_view text(line);
  size_t a = text.find(' ');
  size_t b = a == std::string_view::npos ? a : text.find(' ', a + 1);
  if (b == std::string_view::npos) return;
  std::string_view label = text.substr(0, a);
  std::string_view secret = text.substr(b + 1);
  if (label == "CLIENT_TRAFFIC_SECRET_0") {
    client_app_len_ = unhex(secret, client_app_, sizeof(client_app_));
  } else if (label == "SERVER_TRAFFIC_SECRET_0") {
    server_app_len_ = unhex(secret, server_app_, sizeof(server_app_));
  }
}

void Secrets::note_message(bool write, bool tls13, int content_type, const uint8_t* data,
                           size_t len) {
  uint64_t& records = write ? tx_records_ : rx_records_;
  bool& new_keys = write ? tx_new_keys_ : rx_new_keys_;
  if (content_type == SSL3_RT_HEADER) {
    ++records;
  } else if (content_type == SSL3_RT_HANDSHAKE && len > 0) {
    if (data[0] == SSL3_MT_FINISHED) {
      // TLS 1.3: application keys start with the next record. TLS 1.2: Finished was record 0
      // under the new keys (right after ChangeCipherSpec), so the next one is record 1.
      records = tls13 ? 0 : 1;
      new_keys = true;
    } else if (data[0] == SSL3_MT_KEY_UPDATE) {
      key_update_ = true;
    }
  }
}

absl::StatusOr<TrafficKeys> Secrets::derive(const SSL* ssl, bool server_secret,
                                            bool local_writes) const {
  if (key_update_) {
    return absl::FailedPreconditionError("a KeyUpdate happened: the kernel cannot follow it");
  }
  if (!(local_writes ? tx_new_keys_ : rx_new_keys_)) {
    return absl::FailedPreconditionError("the traffic keys of this direction are not in force");
  }
  TrafficKeys keys;
  keys.version = static_cast<uint16_t>(SSL_version(ssl));
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  keys.cipher_id = cipher != nullptr ? SSL_CIPHER_get_protocol_id(cipher) : 0;
  SuiteKeys suite;
  if (!suite_keys(keys.version, keys.cipher_id, &suite)) {
    return absl::FailedPreconditionError(
        absl::StrCat("suite ", cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "?",
                     " is not one the kernel takes"));
  }
  keys.key_len = suite.key_len;
  keys.iv_len = suite.iv_len;
  keys.sequence = local_writes ? tx_records_ : rx_records_;
  if (keys.version == TLS1_3_VERSION) {
    const uint8_t* secret = server_secret ? server_app_ : client_app_;
    size_t secret_len = server_secret ? server_app_len_ : client_app_len_;
    if (secret_len == 0) return absl::FailedPreconditionError("no traffic secret was captured");
    if (!hkdf_expand_label(suite.digest, secret, secret_len, "key", keys.key, keys.key_len) ||
        !hkdf_expand_label(suite.digest, secret, secret_len, "iv", keys.iv, keys.iv_len)) {
      return absl::InternalError("HKDF-Expand-Label failed");
    }
    return keys;
  }
  // TLS 1.2 key block: client key, server key, client IV, server IV (AEAD suites: no MAC keys).
  uint8_t block[2 * 32 + 2 * 12];
  size_t block_len = 2 * suite.key_len + 2 * suite.iv_len;
  if (!tls12_key_block(ssl, suite.digest, block, block_len)) {
    OPENSSL_cleanse(block, sizeof(block));
    return absl::InternalError("TLS 1.2 key expansion failed");
  }
  size_t key_at = server_secret ? suite.key_len : 0;
  size_t iv_at = 2 * suite.key_len + (server_secret ? suite.iv_len : 0);
  std::memcpy(keys.key, block + key_at, suite.key_len);
  std::memcpy(keys.iv, block + iv_at, suite.iv_len);
  OPENSSL_cleanse(block, sizeof(block));
  return keys;
}

bool Secrets::tls13_direction(bool server_secret, bool local_writes, const uint8_t** secret,
                              size_t* secret_len, uint64_t* sequence) const {
  if (key_update_ || !(local_writes ? tx_new_keys_ : rx_new_keys_)) return false;
  *secret = server_secret ? server_app_ : client_app_;
  *secret_len = server_secret ? server_app_len_ : client_app_len_;
  *sequence = local_writes ? tx_records_ : rx_records_;
  return *secret_len != 0;
}

}  // namespace pamproxy::tls
