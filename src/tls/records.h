#pragma once
// TLS 1.3 record protection for one direction of an established session, done by pamproxy
// itself so a record is decrypted from the receive buffer straight into the relay's plaintext
// buffer and encrypted from it straight into the send buffer: the cipher pass is the only pass
// over the bytes (OpenSSL's record layer adds a copy into its read buffer, one out of it and one
// out of its write buffer). The handshake, certificates and everything before the first
// application key stay OpenSSL's; Session switches to these once both directions' application
// keys are known (see OwnPath::take_over). Private to src/tls/.
//
// RFC 8446 section 5: a record is header(23, 0x0303, length) || AEAD(plaintext || type || zeros)
// with nonce = iv XOR sequence and the header as additional data. Suites: TLS_AES_128_GCM_SHA256,
// TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 (all three have a 16-byte tag and a
// 12-byte nonce).

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "pamproxy/tls/session.h"

namespace pamproxy::tls {

class RecordProtection {
 public:
  static constexpr size_t kHeader = 5;
  static constexpr size_t kTag = 16;
  static constexpr size_t kMaxPlain = 16384;                 // 2^14
  static constexpr size_t kMaxCiphertext = kMaxPlain + 256;  // RFC 8446 5.2
  static constexpr size_t kOverhead = kHeader + 1 + kTag;    // header, inner type, tag

  RecordProtection() = default;
  ~RecordProtection();
  RecordProtection(const RecordProtection&) = delete;
  RecordProtection& operator=(const RecordProtection&) = delete;

  // Keys from a traffic secret (RFC 8446 7.3) for `suite` (0x1301, 0x1302 or 0x1303); the next
  // record has number `sequence`. False for another suite or when OpenSSL fails.
  bool init(uint16_t suite, const uint8_t* secret, size_t secret_len, uint64_t sequence,
            bool encrypt);
  // KeyUpdate (RFC 8446 7.2): the next traffic secret, its keys, sequence 0.
  bool update();

  // Seals `plain` (at most kMaxPlain bytes) as one record of inner `type` at `out`, which must
  // hold plain.size() + kOverhead bytes. Returns the record's size (0 when OpenSSL fails).
  size_t seal(uint8_t type, std::span<const uint8_t> plain, uint8_t* out);

  // Opens the whole record `record` (header included, body of kTag..kMaxCiphertext bytes) into
  // `out`, which must hold body - kTag bytes. On success sets the inner type and the plaintext
  // length (padding and type removed) and returns true: type 0 when the inner plaintext has no
  // non-zero byte (RFC 8446 5.4: unexpected_message). A record that does not authenticate
  // returns false.
  bool open(std::span<const uint8_t> record, uint8_t* out, uint8_t* type, size_t* length);

  uint64_t sequence() const { return sequence_; }

  // This direction's key, IV and next record number, for the kernel (kTLS). False after a
  // KeyUpdate: the kernel would have to follow it.
  bool export_keys(TrafficKeys* out) const;

 private:
  bool install();  // key and iv from secret_, cipher context keyed

  EVP_CIPHER_CTX* ctx_ = nullptr;
  const EVP_CIPHER* cipher_ = nullptr;
  const char* digest_ = nullptr;
  uint8_t secret_[48] = {};
  size_t secret_len_ = 0;
  size_t key_len_ = 0;
  uint8_t iv_[12] = {};
  uint64_t sequence_ = 0;
  uint16_t suite_ = 0;
  bool encrypt_ = false;
  bool updated_ = false;  // a KeyUpdate moved past the first secret
};

}  // namespace pamproxy::tls
