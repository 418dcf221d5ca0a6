#pragma once
// pamproxy's own TLS 1.3 path for one Session: the server handshake of own_handshake.h and the
// record layer of records.h, driven for the connection once they are in force. Session keeps
// OpenSSL's path (its BIO, SSL_read/SSL_write, alerts through OpenSSL) in session.cc and hands
// every call to this object instead once own records are on; the two never run at once for a
// direction. Private to src/tls/.
//
// Owns: the switch from OpenSSL's record layer (once OpenSSL holds nothing in either direction),
// the server's flight and the check of the client's Finished, both directions' record
// protection, a record split across receive() calls, plaintext that did not fit the caller's
// room, post-handshake messages (KeyUpdate, tickets), and one control record (alert, KeyUpdate)
// waiting for output room.
//
// Must never: call into OpenSSL's record layer (SSL_read, SSL_write, SSL_shutdown) once it has
// taken over; hold a pointer to the caller's buffers between calls; allocate per record in
// steady state (rx_partial_, held_ and handshake_bytes_ keep their capacity); hand the caller the
// bytes of a control record as plaintext; or change what the caller sees of Session (states,
// failures and their text, alerts) from what OpenSSL's path would report for the same fault.
//
// Of Session it reads and writes only the connection's outcome (state_, failure_, the failure
// text through fail()), the SNI check of a server session, and for the switch the OpenSSL
// objects and counters it takes over from.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::tls {

class RecordProtection;  // src/tls/records.h
struct ServerFlight;     // src/tls/own_handshake.h

class OwnPath {
 public:
  // `records`: take the records over from OpenSSL after its handshake (TLS 1.3 only).
  // `handshake`: a server session tries its own handshake on the first bytes received.
  OwnPath(Session& session, bool records, bool handshake);
  ~OwnPath();
  OwnPath(const OwnPath&) = delete;
  OwnPath& operator=(const OwnPath&) = delete;

  // The first receive of a server session with own_handshake: the server's flight for a
  // ClientHello this path serves, and whatever follows it in `cipher_in`. False (nothing
  // consumed, nothing written) when OpenSSL is to take the same bytes; tried once.
  bool try_handshake(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                     std::span<uint8_t> cipher_out, IoResult* result);
  // After OpenSSL's handshake: takes the records over when they are wanted and OpenSSL holds
  // nothing in either direction, once the record number counted for sending is proven (see
  // count_proven(); the session fails when it is not). True once the records are ours (from
  // then on, always).
  bool take_over();

  // The records are sealed and opened here (the handshake was ours, or take_over() succeeded).
  bool records() const { return rx_ != nullptr; }
  // The handshake was ours, not OpenSSL's.
  bool handshake() const { return handshake_; }

  // Session's calls of the same names, once records() is true.
  IoResult receive(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                   std::span<uint8_t> cipher_out);
  IoResult send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out);
  size_t flush(std::span<uint8_t> out);
  size_t shutdown(std::span<uint8_t> out);
  bool has_pending_output() const { return tx_pending_len_ > 0; }
  bool has_buffered_plaintext() const { return held_at_ < held_.size(); }
  bool has_unread_input() const { return held_at_ < held_.size() || !rx_partial_.empty(); }
  bool release_buffers();

  // Once handshake() is true: what was negotiated, and each direction's keys for the kernel.
  std::string_view alpn() const { return alpn_ ? "http/1.1" : ""; }
  std::string_view cipher_name() const;
  absl::StatusOr<TrafficKeys> traffic_keys(Direction direction) const;

 private:
  // OpenSSL and a key schedule of ours keyed with `counted` seal the same probe record, which
  // goes nowhere: true when the bytes are the same.
  bool count_proven(uint16_t suite, const uint8_t* secret, size_t secret_len, uint64_t counted);
  bool server_flight(std::span<const uint8_t> cipher_in, std::span<uint8_t> cipher_out,
                     IoResult* result);
  void on_finished(std::span<uint8_t> out, size_t* written);
  // Records flow once established, and after our own handshake's flight (the client's Finished).
  bool open_for_records() const;
  // The next whole record of `in` from `*at` on: in place when it came whole, else gathered in
  // rx_partial_ (a length TLS 1.3 does not allow stops at its header). False: wait for more.
  bool next_record(std::span<const uint8_t> in, size_t* at, std::span<const uint8_t>* record);
  // A plaintext ChangeCipherSpec or alert before the client's Finished; true when taken.
  bool plaintext_before_finished(std::span<const uint8_t> record, std::span<uint8_t> out,
                                 size_t* written);
  // Checks, opens and hands on one record; false when receive() must stop.
  bool open_record(std::span<const uint8_t> record, std::span<uint8_t> plain_out,
                   std::span<uint8_t> cipher_out, IoResult* result);
  // Application data of `length` bytes opened: false (refused) when it is one empty record too
  // many, or comes inside a post-handshake message.
  bool on_application_data(size_t length, std::span<uint8_t> out, size_t* written);
  // A fault of the peer's records: the fatal alert RFC 8446 section 6 names for it (under our
  // key, into `out` or held for flush()), then the failure.
  void refuse(uint8_t alert, std::string detail, std::span<uint8_t> out, size_t* written);
  size_t take_held_plaintext(std::span<uint8_t> out);
  // A control record of ours (alert, KeyUpdate) into `out`, or held until flush() when it does
  // not fit. Returns the bytes written to `out`.
  size_t control(uint8_t type, std::span<const uint8_t> body, std::span<uint8_t> out);
  // Our KeyUpdate (update_not_requested) into `out` and the move to our next key; 0 when it
  // does not fit (it stays owed).
  size_t key_update(std::span<uint8_t> out);
  void on_alert(const uint8_t* body, size_t length, std::span<uint8_t> out, size_t* written);
  void on_handshake(const uint8_t* body, size_t length, std::span<uint8_t> out, size_t* written);
  // The header of a post-handshake message at `m`, before its body: false (refused) for a
  // message this side never takes or a KeyUpdate of another length than 1.
  bool on_post_handshake_header(const uint8_t* m, size_t len, std::span<uint8_t> out,
                                size_t* written);
  // One complete post-handshake message at `m` (header included); false when it failed.
  bool on_post_handshake_message(const uint8_t* m, size_t len, bool last, std::span<uint8_t> out,
                                 size_t* written);

  Session& s_;

  // Own handshake: tried on the first receive; `flight_` lives until the client's Finished.
  bool handshake_wanted_ = false;
  bool handshake_ = false;
  bool alpn_ = false;
  bool change_cipher_spec_seen_ = false;
  uint16_t suite_ = 0;
  std::unique_ptr<ServerFlight> flight_;

  // Own records: both set at the switch (or by our handshake), never unset.
  bool records_wanted_ = false;
  std::unique_ptr<RecordProtection> tx_;
  std::unique_ptr<RecordProtection> rx_;
  std::vector<uint8_t> rx_partial_;       // a record whose end has not arrived yet
  std::vector<uint8_t> held_;             // plaintext of a record that did not fit plain_out
  size_t held_at_ = 0;                    // bytes of held_ already handed out
  std::vector<uint8_t> handshake_bytes_;  // post-handshake message not complete yet
  bool key_update_owed_ = false;  // the peer asked for our KeyUpdate (sent before our next data)
  bool close_notify_sent_ = false;
  uint8_t tx_pending_[32] = {};  // a control record that did not fit
  size_t tx_pending_len_ = 0;

  // Records that move nothing forward, since the last application data with content: each
  // kind is refused past kNoProgressMax in a row, so a peer cannot keep a worker busy forever on
  // records that carry nothing. OpenSSL 3.0 refuses the 33rd empty record too, but already the
  // fifth warning alert in a row, and sets no bound on KeyUpdates; RFC 8446 names none
  // (tests/fuzz/tls_record_differential.cc compares the two record layers).
  static constexpr uint32_t kNoProgressMax = 32;
  uint32_t empty_records_ = 0;
  uint32_t warning_alerts_ = 0;
  uint32_t key_updates_ = 0;
};

}  // namespace pamproxy::tls
