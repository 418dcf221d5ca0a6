#pragma once
// One TLS connection driven over the caller's buffers: no socket, no thread, no allocation per
// call. The engine hands it received ciphertext and gets plaintext back; hands it plaintext and
// gets ciphertext to send. Works the same for the client-facing (server) side and the upstream
// (client) side.
//
// Copies per byte with ContextOptions::own_records (TLS 1.3): none beyond the cipher, which reads
// the caller's ciphertext and writes the caller's plaintext (and the reverse); a record split
// between two calls is gathered first (one memcpy of that record). Otherwise, through OpenSSL's
// record layer (the custom BIO reads from and writes to the caller's spans directly):
//   receive: caller's ciphertext --memcpy--> OpenSSL record buffer --decrypt in place-->
//            --memcpy--> caller's plain_out                     (2 memcpy + 1 cipher pass)
//   send:    caller's plaintext --encrypt--> OpenSSL write buffer --memcpy--> caller's cipher_out
//                                                               (1 memcpy + 1 cipher pass)
// A memory BIO would add one more memcpy each way. OpenSSL 3.0 has no API to decrypt from or
// encrypt into a buffer it does not own, so these are the minimum without kTLS.
//
//   Session s = ...;                          // Session::server(ctx) or Session::client(...)
//   s.set_expected_host(connect_host);        // server side: SNI must equal the CONNECT host
//   on recv:  r = s.receive(bytes, plain, out);  drop r.cipher_consumed bytes of input,
//             hand r.plain_bytes of `plain` on, send r.cipher_bytes of `out`;
//             call again while r.cipher_consumed < bytes.size() or s.has_buffered_plaintext()
//   to send:  r = s.send(data, out);           r.plain_bytes of data taken, r.cipher_bytes to send
//   when s.has_pending_output(): n = s.flush(out) before anything else is sent.
//
// States: kHandshaking -> kEstablished -> kClosed (close_notify either way), or kError from any
// state with a Failure saying why. After kClosed/kError, calls do nothing (a last alert may still
// be pending: flush it).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::tls {

class Secrets;  // src/tls/secrets.h
class OwnPath;  // src/tls/own_path.h

enum class State { kHandshaking, kEstablished, kClosed, kError };

enum class Failure {
  kNone,
  kNoSni,                 // server: the ClientHello named no host (and the CONNECT host is a name)
  kSniMismatch,           // server: SNI differs from the CONNECT host
  kBadSni,                // server: SNI is not a host name a certificate can be minted for
  kMintFailed,            // server: minting the leaf failed (detail says why)
  kUntrustedCertificate,  // client: the upstream chain did not verify (detail: verify error text)
  kHostnameMismatch,      // client: the upstream certificate does not name the host
  kProtocol,              // malformed records, unsupported version/cipher, bad MAC, alerts
  kUnexpectedEof,         // the transport ended without close_notify
  kPeerAlert,             // the peer sent a fatal alert (detail names it)
};
std::string_view failure_name(Failure failure);

struct IoResult {
  size_t cipher_consumed = 0;  // receive: bytes taken from cipher_in (offer the rest again)
  size_t plain_bytes = 0;      // receive: plaintext produced; send: plaintext taken
  size_t cipher_bytes = 0;     // ciphertext written at the start of cipher_out
};

// Keys and sequence number of one direction after the handshake, for the kernel (kTLS).
struct TrafficKeys {
  uint16_t version = 0;    // TLS1_2_VERSION or TLS1_3_VERSION
  uint16_t cipher_id = 0;  // IANA suite id: 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xCCA9...
  uint8_t key[32] = {};
  size_t key_len = 0;  // 16 or 32
  // TLS 1.3 and ChaCha20: the 12-byte static IV. TLS 1.2 AES-GCM: the 4-byte implicit salt.
  uint8_t iv[12] = {};
  size_t iv_len = 0;
  uint64_t sequence = 0;  // of the next record in this direction
  ~TrafficKeys();
};
enum class Direction { kTransmit, kReceive };

class Session {
 public:
  static absl::StatusOr<std::unique_ptr<Session>> server(const ServerContext& ctx);
  // `host` is the name (or IP literal) the certificate must carry; sent as SNI when a name.
  // `port` only keys the session cache.
  static absl::StatusOr<std::unique_ptr<Session>> client(ClientContext& ctx, std::string_view host,
                                                         uint16_t port);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Server side, before the first receive: the CONNECT host. The SNI must equal it (case
  // insensitive), else the handshake fails with kSniMismatch before anything is minted. With no
  // SNI, an IP-literal CONNECT host gets a certificate for that address; a name is kNoSni.
  // Without an expected host, any valid SNI is served (tests, admin API).
  void set_expected_host(std::string_view host);

  // Client side: writes the ClientHello. Server side: nothing to do (returns 0).
  size_t start(std::span<uint8_t> cipher_out);

  // Advances the handshake and decrypts application data. Handshake flights, alerts and
  // protocol replies go to cipher_out. Stops when cipher_in is used up, plain_out is full, or
  // cipher_out is full (then has_pending_output()).
  IoResult receive(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                   std::span<uint8_t> cipher_out);
  // Encrypts plaintext (only once established). Takes as much as fits in cipher_out as whole
  // records; give cipher_out at least kRecordOverheadMax + 1 bytes.
  IoResult send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out);
  // Moves ciphertext that did not fit an earlier cipher_out. Returns bytes written.
  size_t flush(std::span<uint8_t> cipher_out);
  // Sends close_notify (into cipher_out / pending output); state becomes kClosed.
  size_t shutdown(std::span<uint8_t> cipher_out);
  // The transport reached EOF: a handshake in progress fails, an established session without
  // close_notify becomes kError/kUnexpectedEof.
  void receive_eof();

  State state() const { return state_; }
  Failure failure() const { return failure_; }
  // Human text for the failure: the verify error ("unable to get local issuer certificate"), the
  // SNI that did not match, the alert, the OpenSSL reason. Never key material.
  const std::string& failure_detail() const { return failure_detail_; }
  bool has_pending_output() const;
  bool has_buffered_plaintext() const;
  // Input taken from the caller but not yet handed out: decrypted plaintext, or part of a record
  // still waiting for the rest (what kTLS must not be started behind).
  bool has_unread_input() const;

  std::string_view sni() const;           // server: what the client asked for ("" = none)
  std::string_view alpn() const;          // negotiated protocol ("" = none)
  bool resumed() const;                   // the handshake resumed an earlier session
  std::string_view version_name() const;  // "TLSv1.3"
  std::string_view cipher_name() const;   // "TLS_AES_128_GCM_SHA256"
  bool is_server() const { return server_; }
  // Null once our own handshake has answered (server side): OpenSSL then has no part in the
  // connection.
  SSL* native() const { return ssl_.get(); }

  // Frees OpenSSL's record buffers (~33 KiB) while the connection waits (keep-alive idle); they
  // come back on the next record. False (nothing freed) while a record is partly read or
  // written.
  bool release_buffers();

  // Records are sealed and opened by pamproxy now (ContextOptions::own_records, TLS 1.3). The
  // switch proves the record number it takes over for sending, or the session fails.
  bool own_records() const;
  // Server side: the handshake was pamproxy's own (ContextOptions::own_handshake), not OpenSSL's.
  bool own_handshake() const;
  // Own records: how many records one key seals before pamproxy sends a KeyUpdate and moves to
  // the next (default 2^23, well inside RFC 8446 5.5's limit for AES-GCM). For tests.
  void set_records_per_key(uint64_t records) { records_per_key_ = records; }
  // For tests: `records` added to the record number counted for sending, to show that the
  // switch to own records and the proof of the kernel's transmit keys catch a wrong count.
  void skew_counted_records_for_testing(int64_t records) { count_skew_ = records; }

  // After the handshake, with ContextOptions::capture_secrets: the keys and next sequence number
  // of one direction, for kTLS. FailedPrecondition when not established, secrets were not
  // captured, a KeyUpdate happened, or the suite is not one the kernel takes.
  absl::StatusOr<TrafficKeys> traffic_keys(Direction direction) const;
  // kTLS, right before the transmit keys go to the kernel: OpenSSL seals a one-byte probe record
  // into a scratch buffer that is never sent, and `keys` (from traffic_keys(kTransmit)) seal the
  // same byte as the kernel would: true when the bytes are the same. OpenSSL is then a record
  // ahead of the peer, so from this call on the session must not send again; false also fails
  // the session (kProtocol). True without a probe after pamproxy's own handshake (its record
  // layer counts the records it sealed).
  bool transmit_keys_proven(const TrafficKeys& keys);

  // receive() writes handshake flights, tickets, alerts and KeyUpdate replies to cipher_out; the
  // largest (the server's first flight with a P-256 leaf) is ~1.5 KiB, so this always fits.
  static constexpr size_t kReceiveOutputMin = 4096;

  // Largest ciphertext overhead of one record among the suites offered (TLS 1.2 AES-GCM: 5 header
  // + 8 explicit nonce + 16 tag).
  static constexpr size_t kRecordOverheadMax = 29;

  // Internal (the BIO and OpenSSL callbacks of session.cc); not for callers.
  struct Internals;

 private:
  Session(SslPtr ssl, bool server);
  void fail(Failure failure, std::string detail);
  void fail_from_ssl(int ssl_error);
  bool drive_handshake();
  bool retry_write();
  // The SNI check of a server session: the host to serve, or false with failure_ set.
  bool resolve_sni(std::string_view name, std::string* host);
  // Largest plaintext per record: 2^14, or the max_fragment_length the peer negotiated.
  size_t max_fragment() const;

  friend struct Internals;
  friend class OwnPath;  // pamproxy's own handshake and records, when they are on

  SslPtr ssl_;
  const bool server_;
  State state_ = State::kHandshaking;
  Failure failure_ = Failure::kNone;
  std::string failure_detail_;
  std::string expected_host_;  // normalized; "" = any
  std::string sni_;
  std::string cache_key_;  // client: "host:port"
  ClientContext* client_ctx_ = nullptr;
  const ServerContext* server_ctx_ = nullptr;

  // The caller's spans for the duration of one call (the BIO reads/writes them).
  std::span<const uint8_t> in_;
  std::span<uint8_t> out_;
  size_t in_used_ = 0;
  size_t out_used_ = 0;
  bool eof_ = false;
  size_t pending_write_len_ = 0;  // plaintext of a record OpenSSL holds encrypted but unsent
  bool want_write_ = false;       // OpenSSL has ciphertext that did not fit the last cipher_out

  // Secrets and record counters for kTLS (capture_secrets) and own records.
  std::unique_ptr<Secrets> secrets_;

  // pamproxy's own handshake and records (ContextOptions::own_handshake, own_records); null
  // when neither is on. Once it holds the records, every call goes to it.
  std::unique_ptr<OwnPath> own_;
  bool app_data_read_ = false;  // client: the server's tickets came before (OpenSSL took them)
  uint64_t records_per_key_ = uint64_t{1} << 23;
  int64_t count_skew_ = 0;
};

// Connections of this process whose switch to own records failed because OpenSSL's record
// number was not the one counted (the log line tls.own_records_unproven says when).
uint64_t own_record_switches_unproven();

}  // namespace pamproxy::tls
