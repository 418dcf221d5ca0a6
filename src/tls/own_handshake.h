#pragma once
// pamproxy's own TLS 1.3 server handshake for the ClientHello nearly every client sends: one
// record, TLS 1.3 offered, an X25519 key share, ECDSA P-256 with SHA-256 accepted, and
// TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256. OpenSSL 3.0 spends about 300 µs of a
// worker's CPU on such a handshake, two thirds of it outside the cryptography (algorithm fetches
// by name, parameter marshalling, allocations, the key-log text); this path does the same
// exchange in the cryptography plus a few microseconds. Private to src/tls/; OwnPath drives it.
//
// Anything else (TLS 1.2, another group or suite, a ClientHello over two records, a PSK offer,
// early data, a malformed or duplicated extension, an SNI that does not serve) is left to
// OpenSSL with the same bytes, before anything was sent: OpenSSL then answers, resumes or
// refuses with the right alert exactly as before. No session tickets are issued on this path.
//
//   ClientHello                 parse_client_hello()
//   ServerHello                 write_server_flight(): X25519, key schedule (RFC 8446 7.1),
//   [ChangeCipherSpec]            middlebox compatibility when the client sent a session id,
//   {EncryptedExtensions}         ALPN http/1.1 when offered, the server_name acknowledged,
//   {Certificate}                 the leaf and the context's chain,
//   {CertificateVerify}           ECDSA P-256 over the transcript,
//   {Finished}                    and the client's Finished it must send back.
//   [ChangeCipherSpec]          OwnPath: skipped once
//   {Finished}                  OwnPath: checked in constant time, then application keys

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "src/tls/records.h"

namespace pamproxy::tls {

struct ClientHello {
  size_t record_size = 0;               // header included: what the handshake consumes
  std::span<const uint8_t> message;     // the handshake message (type and length included)
  std::span<const uint8_t> session_id;  // echoed; non-empty asks for a ChangeCipherSpec
  std::span<const uint8_t> x25519;      // the client's key share (32 bytes)
  std::string_view sni;                 // raw host_name ("" when none was sent)
  uint16_t suite = 0;                   // 0x1301 or 0x1303
  bool alpn_http11 = false;             // http/1.1 was offered
};

// nullptr when the record at the start of `in` is a ClientHello this path serves (filled into
// `out`); otherwise why not, for tests and logs ("the ClientHello is not complete in one
// record", "no X25519 key share", ...). Never fails on any input.
const char* parse_client_hello(std::span<const uint8_t> in, ClientHello* out);

// What the rest of the handshake needs once the server's flight is out.
struct ServerFlight {
  size_t written = 0;                    // bytes of `out` holding ServerHello .. Finished
  std::unique_ptr<RecordProtection> tx;  // the server's application key
  std::unique_ptr<RecordProtection> rx;  // the client's handshake key (its Finished)
  uint8_t client_finished[32] = {};      // the verify_data the client must send
  uint8_t client_app_secret[32] = {};    // its application traffic secret, for after it
  ServerFlight() = default;
  ServerFlight(const ServerFlight&) = delete;
  ServerFlight& operator=(const ServerFlight&) = delete;
  ~ServerFlight();
};

// Writes the server's flight for `hello` into `out`, with the leaf certificate `leaf_der` (and
// `chain`, its issuers) and the leaf's key `key`. False (nothing to send) when the key is not
// P-256, `out` is too small, or OpenSSL fails: the caller falls back to OpenSSL.
bool write_server_flight(const ClientHello& hello, std::span<const uint8_t> leaf_der,
                         const STACK_OF(X509) * chain, EVP_PKEY* key, std::span<uint8_t> out,
                         ServerFlight* flight);

}  // namespace pamproxy::tls
