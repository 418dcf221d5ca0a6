#pragma once
// What kTLS needs from a handshake that OpenSSL 3.0 does not expose: the TLS 1.3 application
// traffic secrets (from the key-log callback) and the sequence number of each direction (records
// counted through the message callback since the keys in force were installed). Private to
// src/tls/; wiped on destruction.
//
// Counting rule (both callbacks run inside OpenSSL, in record order):
//   every record header read or written  -> that direction's counter + 1
//   TLS 1.2 Finished read or written     -> that direction's counter = 1 (Finished is record 0
//                                           under the keys ChangeCipherSpec put in force)
//   TLS 1.3 Finished read or written     -> that direction's counter = 0 (application keys
//                                           start with the next record)
// OpenSSL reports a message after the record carrying it was counted, so the resets land
// between the last record under the old keys and the first under the new.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::tls {

class Secrets {
 public:
  Secrets() = default;
  ~Secrets();
  Secrets(const Secrets&) = delete;
  Secrets& operator=(const Secrets&) = delete;

  void note_keylog(const char* line);
  void note_message(bool write, bool tls13, int content_type, const uint8_t* data, size_t len);

  // Keys for one direction: `server_secret` picks whose secret, `local_writes` which counter.
  absl::StatusOr<TrafficKeys> derive(const SSL* ssl, bool server_secret, bool local_writes) const;

  // TLS 1.3, for pamproxy's own record layer: one side's application traffic secret and the
  // number of the next record in one direction. False when that direction's application keys
  // are not in force yet, a KeyUpdate happened, or the secret was not captured.
  bool tls13_direction(bool server_secret, bool local_writes, const uint8_t** secret,
                       size_t* secret_len, uint64_t* sequence) const;

 private:
  uint8_t client_app_[48] = {};
  size_t client_app_len_ = 0;
  uint8_t server_app_[48] = {};
  size_t server_app_len_ = 0;
  uint64_t tx_records_ = 0;
  uint64_t rx_records_ = 0;
  bool tx_new_keys_ = false;
  bool rx_new_keys_ = false;
  bool key_update_ = false;
};

// Wipes `size` bytes at `data` (OPENSSL_cleanse) when the scope ends, whichever way it is
// left: for key material on the stack of a function with early returns.
class ScopedCleanse {
 public:
  ScopedCleanse(void* data, size_t size) : data_(data), size_(size) {}
  ~ScopedCleanse() { OPENSSL_cleanse(data_, size_); }
  ScopedCleanse(const ScopedCleanse&) = delete;
  ScopedCleanse& operator=(const ScopedCleanse&) = delete;

 private:
  void* const data_;
  const size_t size_;
};

// HMAC of the concatenated `parts` with "SHA256" or "SHA384" into `out`, which holds the
// digest's size (32 or 48 bytes); returns that length, 0 on failure.
size_t hmac(const char* digest, std::span<const uint8_t> key,
            std::initializer_list<std::span<const uint8_t>> parts, uint8_t* out);

// The calling thread's HMAC context for "SHA256" or "SHA384" that hmac() keys anew per call
// (nullptr for another digest). Between calls it holds no key of a caller's: for tests.
EVP_MAC_CTX* thread_hmac_context(const char* digest);

// HKDF-Expand-Label (RFC 8446 section 7.1); `context` is at most 64 bytes (a transcript hash).
bool hkdf_expand_label(const char* digest, const uint8_t* secret, size_t secret_len,
                       std::string_view label, uint8_t* out, size_t out_len,
                       std::span<const uint8_t> context = {});

}  // namespace pamproxy::tls
