#pragma once
// Kernel TLS: after the user-space handshake, hand a connection's record keys to the kernel so
// it encrypts on send and decrypts on receive, and the worker moves plain bytes.
//
// Owns: finding out whether this kernel has the `tls` ULP (the /proc list, then a real
// setsockopt(TCP_ULP, "tls") on a connected loopback pair, which also autoloads the module for a
// caller with CAP_NET_ADMIN), the decision per [engine] ktls (auto / off / required), turning a
// Session's TrafficKeys into the kernel's tls12_crypto_info_* structures, installing them, and
// reading records through recvmsg so control records (alerts, NewSessionTicket, KeyUpdate) are
// told apart from application data by their TLS_GET_RECORD_TYPE cmsg.
// Never: guesses. A failed install leaves the connection on the user-space path with a reason.
//
// Known limits, handled by the caller: the kernel of Debian 12 does not follow a TLS 1.3
// KeyUpdate (a session that saw one is not offloaded, and one arriving later ends the
// connection); SEND_ZC is refused on kTLS sockets. Control records arrive decrypted through
// ktls_recv with their record type: classify_control_record says what to do with each
// (NewSessionTicket: drop, an upstream sends them right after the handshake; alert, KeyUpdate or
// anything else: close).
//
// When to offload: right after the handshake completes, before any application data is read
// from the socket into user space, with no ciphertext left unconsumed in the caller's buffer
// (the kernel takes over the sequence numbers from there). After ktls_offload succeeds for a
// direction, the Session must no longer be used for that direction.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pamproxy/config/config.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::tls {

struct KtlsProbe {
  bool ulp_listed = false;      // "tls" in /proc/sys/net/ipv4/tcp_available_ulp
  bool ulp_attachable = false;  // setsockopt(TCP_ULP, "tls") succeeded on a loopback socket
  std::string detail;           // what was found, for the start log line
  bool available() const { return ulp_attachable; }
};
// Probes the running kernel (a /proc read and a loopback socket pair; ~100 us, done at start).
KtlsProbe probe_ktls();
// The same, with the /proc path given (tests point it at their own file).
KtlsProbe probe_ktls(const std::string& available_ulp_path);

struct KtlsDecision {
  bool enabled = false;
  std::string reason;  // "auto: tls ULP available", "auto: ... unavailable, user-space TLS", ...
};
// [engine] ktls applied to a probe. "required" without the ULP: FailedPrecondition with a
// message telling how to get it (load the tls module) or how to do without (ktls = "auto").
absl::StatusOr<KtlsDecision> decide_ktls(config::Ktls mode, const KtlsProbe& probe);

// The kernel's description of one direction's keys: tls12_crypto_info_aes_gcm_128/256 or
// tls12_crypto_info_chacha20_poly1305, as bytes ready for setsockopt(SOL_TLS, TLS_TX/TLS_RX).
struct KtlsCryptoInfo {
  alignas(8) uint8_t bytes[64] = {};
  size_t size = 0;
  ~KtlsCryptoInfo();
};
absl::StatusOr<KtlsCryptoInfo> to_crypto_info(const TrafficKeys& keys);

// Attaches the ULP to a connected TCP socket (once) and installs one direction.
absl::Status ktls_attach(int fd);
absl::Status ktls_install(int fd, Direction direction, const KtlsCryptoInfo& info);

// Offloads both directions (TLS 1.2 keys from the key block, TLS 1.3 keys from the captured
// traffic secrets): the ULP, RX, then the proof of the TX keys (Session::transmit_keys_proven:
// OpenSSL and the keys seal the same probe record, sent nowhere), then TX. Which directions
// ended up in the kernel: both, none (the connection is untouched and stays in user space;
// `detail` says why), or, when the proof fails or the kernel refuses TX after taking RX, RX
// alone (the caller must close that connection; the session sends nothing more).
struct KtlsResult {
  bool tx = false;
  bool rx = false;
  bool connection_gone = false;  // the socket is no longer connected (the peer left)
  std::string detail;  // why a direction stayed in user space
};
KtlsResult ktls_offload(int fd, Session& session);

// Hand-overs of this process whose TX keys failed their proof (ktls_offload returned RX alone
// with a detail saying so): counted apart from the switch to pamproxy's own records.
uint64_t ktls_handoffs_unproven();

// Whether a kTLS RX socket has really reached its end: a non-blocking peek sees 0 (a receive that
// returned 0 while a record was still being decrypted is not the end).
bool ktls_at_eof(int fd);

// Sends a close_notify alert on a kTLS TX socket (non-blocking; false if it could not go now).
bool ktls_send_close_notify(int fd);

// One recvmsg on a kTLS RX socket. `record_type` is the TLS content type of the bytes read
// (23 = application data; 21 alert, 22 handshake: control records, read one at a time).
struct KtlsRead {
  ssize_t bytes = 0;  // as recvmsg: -1 with errno on error, 0 at EOF
  uint8_t record_type = 23;
};
KtlsRead ktls_recv(int fd, std::span<uint8_t> buffer);

// An alert record that is a close_notify (the peer's orderly end).
bool is_close_notify(uint8_t record_type, std::span<const uint8_t> body);

enum class ControlAction { kData, kDrop, kClose };
// What to do with what ktls_recv returned: application data is data; a TLS 1.3 NewSessionTicket
// (handshake type 4) is dropped; alerts (close_notify included), KeyUpdate and any other
// handshake message end the connection.
ControlAction classify_control_record(uint8_t record_type, std::span<const uint8_t> body);

}  // namespace pamproxy::tls
