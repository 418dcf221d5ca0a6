// pamproxy's own TLS 1.3 path for one Session (see own_path.h): the switch from OpenSSL's record
// layer, our server handshake's flight and the client's Finished, and both directions' records.
//
//   cipher_in [record | record | rec..]   a record that came whole is opened in place, straight
//              ^at                         into the caller's plain_out (or into held_ when it
//                                          does not fit); the head of one that did not is
//   rx_partial_ [rec..]                    gathered in rx_partial_ until its end comes
//   tx_pending_ [one control record]       an alert or KeyUpdate that did not fit cipher_out,
//                                          sent by flush() before anything else

#include "src/tls/own_path.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/tls/leaf_cache.h"
#include "src/tls/own_handshake.h"
#include "src/tls/records.h"
#include "src/tls/secrets.h"

namespace pamproxy::tls {

using RP = RecordProtection;

namespace {
// Switches to own records that failed because the counted record number was not proven.
std::atomic<uint64_t> g_switches_unproven{0};
}  // namespace

OwnPath::OwnPath(Session& session, bool records, bool handshake)
    : s_(session), handshake_wanted_(handshake), records_wanted_(records) {}

OwnPath::~OwnPath() = default;

// ---------------------------------------------------------------- the switch from OpenSSL

bool OwnPath::take_over() {
  if (rx_ != nullptr) return true;
  if (!records_wanted_ || s_.state_ != State::kEstablished) return false;
  SSL* ssl = s_.ssl_.get();
  // A client waits for the first application data: a TLS 1.3 server sends its tickets before
  // that, and OpenSSL must take them for the session cache.
  if (!s_.server_ && !s_.app_data_read_) return false;
  if (s_.secrets_ == nullptr || SSL_version(ssl) != TLS1_3_VERSION) {
    records_wanted_ = false;  // TLS 1.2 keeps OpenSSL's record layer
    return false;
  }
  // Nothing may be left inside OpenSSL: no record half read or unsent, no plaintext.
  if (s_.want_write_ || s_.pending_write_len_ > 0 || SSL_pending(ssl) > 0 ||
      SSL_has_pending(ssl) == 1) {
    return false;
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const uint16_t suite = cipher != nullptr ? SSL_CIPHER_get_protocol_id(cipher) : 0;
  const uint8_t* tx_secret = nullptr;
  const uint8_t* rx_secret = nullptr;
  size_t tx_len = 0;
  size_t rx_len = 0;
  uint64_t tx_seq = 0;
  uint64_t rx_seq = 0;
  // The server sends with the server's secret and reads with the client's; the client the other
  // way round.
  auto tx = std::make_unique<RecordProtection>();
  auto rx = std::make_unique<RecordProtection>();
  if (!s_.secrets_->tls13_direction(s_.server_, true, &tx_secret, &tx_len, &tx_seq) ||
      !s_.secrets_->tls13_direction(!s_.server_, false, &rx_secret, &rx_len, &rx_seq) ||
      !tx->init(suite, tx_secret, tx_len, tx_seq, true) ||
      !rx->init(suite, rx_secret, rx_len, rx_seq, false)) {
    records_wanted_ = false;  // a suite or state we do not take: OpenSSL goes on
    ERR_clear_error();
    return false;
  }
  if (!count_proven(suite, tx_secret, tx_len, tx_seq + static_cast<uint64_t>(s_.count_skew_))) {
    records_wanted_ = false;
    ERR_clear_error();
    g_switches_unproven.fetch_add(1, std::memory_order_relaxed);
    log::error("tls.own_records_unproven")
        .kv("side", s_.server_ ? "client" : "upstream")
        .kv("counted_record", tx_seq)
        .kv("reason",
            "OpenSSL's next record number is not the one counted from its callbacks: the "
            "connection is closed rather than risk sealing two records under one nonce");
    s_.fail(Failure::kProtocol,
            "TLS: the record number counted at the switch to pamproxy's records was not "
            "OpenSSL's");
    return false;
  }
  tx_ = std::move(tx);
  rx_ = std::move(rx);
  SSL_free_buffers(ssl);  // OpenSSL's record buffers (~33 KiB) are not used any more
  return true;
}

bool OwnPath::count_proven(uint16_t suite, const uint8_t* secret, size_t secret_len,
                           uint64_t counted) {
  // The record numbers of the switch come from counting OpenSSL's message callbacks
  // (secrets.h), an order no OpenSSL document promises. A count one short would seal our first
  // record under a nonce OpenSSL already put on the wire. So OpenSSL seals one probe record (one
  // byte of application data) into a scratch buffer that goes nowhere, and a probe key schedule
  // of ours seals the same byte under the counted number: the same bytes prove key and number.
  // The probe is never sent, so the peer never sees that record number twice (ours seals the
  // next real record under it), and sending nothing keeps a peer that has already closed from
  // answering a stray record with a reset that would cut its last answer short. Once OpenSSL
  // has sealed the probe it is a record ahead of the peer: a failed proof cannot hand the
  // records back to it, so the connection fails (closed, not open with a repeated nonce). A
  // wrong count in the receiving direction needs no proof: it repeats no nonce, and the peer's
  // first record would not authenticate (bad_record_mac).
  static constexpr uint8_t kProbe[1] = {0};
  static constexpr size_t kProbeRecord = RP::kOverhead + sizeof(kProbe);
  uint8_t ours[kProbeRecord];
  uint8_t theirs[2 * kProbeRecord];  // room to see that OpenSSL wrote something else
  ScopedCleanse wipe_ours(ours, sizeof(ours));
  ScopedCleanse wipe_theirs(theirs, sizeof(theirs));
  RecordProtection probe;
  if (!probe.init(suite, secret, secret_len, counted, true) ||
      probe.seal(SSL3_RT_APPLICATION_DATA, kProbe, ours) != kProbeRecord) {
    return false;
  }
  const std::span<uint8_t> out = s_.out_;
  const size_t out_used = s_.out_used_;
  s_.out_ = theirs;
  s_.out_used_ = 0;
  size_t taken = 0;
  const bool sealed = SSL_write_ex(s_.ssl_.get(), kProbe, sizeof(kProbe), &taken) == 1;
  const size_t written = s_.out_used_;
  s_.out_ = out;
  s_.out_used_ = out_used;
  return sealed && written == kProbeRecord && CRYPTO_memcmp(theirs, ours, kProbeRecord) == 0;
}

uint64_t own_record_switches_unproven() {
  return g_switches_unproven.load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------- our handshake

bool OwnPath::try_handshake(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                            std::span<uint8_t> cipher_out, IoResult* result) {
  if (!handshake_wanted_ || cipher_in.empty()) return false;
  // The first bytes only: a ClientHello that did not come whole in them is OpenSSL's.
  handshake_wanted_ = false;
  if (!server_flight(cipher_in, cipher_out, result)) return false;
  IoResult more = receive(cipher_in.subspan(result->cipher_consumed), plain_out,
                          cipher_out.subspan(result->cipher_bytes));
  result->cipher_consumed += more.cipher_consumed;
  result->plain_bytes += more.plain_bytes;
  result->cipher_bytes += more.cipher_bytes;
  return true;
}

bool OwnPath::server_flight(std::span<const uint8_t> cipher_in, std::span<uint8_t> cipher_out,
                            IoResult* result) {
  ClientHello hello;
  if (parse_client_hello(cipher_in, &hello) != nullptr) return false;
  std::string host;
  auto leave_to_openssl = [this] {
    // OpenSSL's callbacks reach the same verdict on the same bytes and say why.
    s_.failure_ = Failure::kNone;
    s_.failure_detail_.clear();
    s_.sni_.clear();
    ERR_clear_error();
    return false;
  };
  if (!s_.resolve_sni(hello.sni, &host)) return leave_to_openssl();
  const ServerContext& ctx = *s_.server_ctx_;
  auto leaf = ctx.leaves()->get(host);
  if (!leaf.ok()) return leave_to_openssl();
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get_extra_chain_certs_only(ctx.native(), &chain);
  auto flight = std::make_unique<ServerFlight>();
  if (!write_server_flight(hello, (*leaf)->der, chain, ctx.leaves()->key(), cipher_out,
                           flight.get())) {
    return leave_to_openssl();
  }
  result->cipher_consumed = hello.record_size;
  result->cipher_bytes = flight->written;
  tx_ = std::move(flight->tx);
  rx_ = std::move(flight->rx);
  flight_ = std::move(flight);
  handshake_ = true;
  records_wanted_ = false;  // the records are ours from the start
  suite_ = hello.suite;
  alpn_ = hello.alpn_http11;
  return true;
}

void OwnPath::on_finished(std::span<uint8_t> out, size_t* written) {
  // The client's Finished, alone at the end of its record: what follows is under its
  // application key (RFC 8446 5.1). A failure is answered with its alert under our application
  // key, which the client reads once it has sent its Finished.
  auto refuse = [&](uint8_t alert, std::string detail) {
    handshake_bytes_.clear();
    this->refuse(alert, std::move(detail), out, written);
  };
  if (handshake_bytes_.size() < 4) return;
  const size_t len =
      size_t{handshake_bytes_[1]} << 16 | size_t{handshake_bytes_[2]} << 8 | handshake_bytes_[3];
  if (handshake_bytes_[0] != SSL3_MT_FINISHED || len != sizeof(flight_->client_finished)) {
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           absl::StrCat("TLS protocol error: handshake message ",
                        static_cast<int>(handshake_bytes_[0]),
                        " instead of the client's Finished (unexpected_message)"));
    return;
  }
  if (handshake_bytes_.size() < 4 + len) return;  // the rest is in the next record
  if (handshake_bytes_.size() > 4 + len) {
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: data after the client's Finished in its record "
           "(unexpected_message)");
    return;
  }
  if (CRYPTO_memcmp(handshake_bytes_.data() + 4, flight_->client_finished, len) != 0) {
    refuse(SSL_AD_DECRYPT_ERROR,
           "TLS protocol error: the client's Finished did not verify (decrypt_error)");
    return;
  }
  handshake_bytes_.clear();
  if (!rx_->init(suite_, flight_->client_app_secret, sizeof(flight_->client_app_secret), 0,
                 false)) {
    s_.fail(Failure::kProtocol, openssl_error_text("deriving the client's application key"));
    return;
  }
  flight_.reset();
  s_.state_ = State::kEstablished;
}

std::string_view OwnPath::cipher_name() const {
  return suite_ == 0x1301 ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256";
}

absl::StatusOr<TrafficKeys> OwnPath::traffic_keys(Direction direction) const {
  // Our handshake: the record layer holds each direction's secret and count.
  const RecordProtection& rp = direction == Direction::kTransmit ? *tx_ : *rx_;
  TrafficKeys keys;
  if (!rp.export_keys(&keys)) {
    return absl::FailedPreconditionError("a KeyUpdate happened: the kernel cannot follow it");
  }
  return keys;
}

// ---------------------------------------------------------------- receiving

bool OwnPath::open_for_records() const {
  return s_.state_ == State::kEstablished ||
         (s_.state_ == State::kHandshaking && flight_ != nullptr);
}

IoResult OwnPath::receive(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                          std::span<uint8_t> cipher_out) {
  IoResult result;
  if (!open_for_records()) return result;
  result.cipher_bytes = flush(cipher_out);
  result.plain_bytes = take_held_plaintext(plain_out);
  size_t at = 0;
  // One record at a time; a record that does not fit the plaintext room is opened into held_,
  // and nothing more is taken until it has been handed out.
  while (open_for_records() && held_.empty()) {
    std::span<const uint8_t> record;
    if (!next_record(cipher_in, &at, &record)) break;
    if (plaintext_before_finished(record, cipher_out, &result.cipher_bytes)) continue;
    if (!open_record(record, plain_out, cipher_out, &result)) break;
  }
  result.cipher_consumed = at;
  return result;
}

bool OwnPath::next_record(std::span<const uint8_t> in, size_t* at,
                          std::span<const uint8_t>* record) {
  const size_t available = in.size() - *at;
  if (rx_partial_.empty() && available >= RP::kHeader) {
    const size_t body = size_t{in[*at + 3]} << 8 | in[*at + 4];
    if (available >= RP::kHeader + body) {
      *record = in.subspan(*at, RP::kHeader + body);
      *at += record->size();
      return true;
    }
  }
  // Gather the record: its header first, then as much of the body as has come. A length
  // TLS 1.3 does not allow, or an outer type other than application_data once only protected
  // records may come, is refused by the caller on the header alone (as OpenSSL refuses them),
  // not after waiting for a body.
  auto gather = [&](size_t want) {
    const size_t n = std::min(in.size() - *at, want - rx_partial_.size());
    rx_partial_.insert(rx_partial_.end(), in.begin() + *at, in.begin() + *at + n);
    *at += n;
    return rx_partial_.size() == want;
  };
  if (available == 0 || (rx_partial_.size() < RP::kHeader && !gather(RP::kHeader))) return false;
  const size_t want = RP::kHeader + (size_t{rx_partial_[3]} << 8 | rx_partial_[4]);
  const bool header_refuses = want > RP::kHeader + RP::kMaxCiphertext ||
                              (flight_ == nullptr && rx_partial_[0] != SSL3_RT_APPLICATION_DATA);
  if (!header_refuses && !gather(want)) return false;
  *record = rx_partial_;
  return true;
}

bool OwnPath::plaintext_before_finished(std::span<const uint8_t> record, std::span<uint8_t> out,
                                        size_t* written) {
  // After the handshake every record is application_data on the outside (RFC 8446 5). Before
  // the client's Finished of our own handshake: one ChangeCipherSpec (middlebox
  // compatibility, D.4), or a plaintext alert from a client that could not read our flight.
  if (flight_ == nullptr) return false;
  const size_t body = size_t{record[3]} << 8 | record[4];
  if (record[0] == SSL3_RT_CHANGE_CIPHER_SPEC && body == 1 && record[5] == 1 &&
      !change_cipher_spec_seen_) {
    change_cipher_spec_seen_ = true;
    rx_partial_.clear();
    return true;
  }
  if (record[0] == SSL3_RT_ALERT && body == 2) {
    const uint8_t alert[2] = {record[5], record[6]};
    rx_partial_.clear();
    on_alert(alert, 2, out, written);
    return true;
  }
  return false;
}

bool OwnPath::open_record(std::span<const uint8_t> record, std::span<uint8_t> plain_out,
                          std::span<uint8_t> cipher_out, IoResult* result) {
  size_t* const written = &result->cipher_bytes;
  if (record[0] != SSL3_RT_APPLICATION_DATA) {
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           absl::StrCat("TLS protocol error: record type ", static_cast<int>(record[0]),
                        " after the handshake (unexpected_message)"),
           cipher_out, written);
    return false;
  }
  const size_t body = size_t{record[3]} << 8 | record[4];
  if (body > RP::kMaxCiphertext) {
    refuse(SSL_AD_RECORD_OVERFLOW,
           "TLS protocol error: a record of a length TLS 1.3 does not allow "
           "(record_overflow)",
           cipher_out, written);
    return false;
  }
  if (body < RP::kTag + 1) {
    // Too short for a tag and a content type: it cannot be deprotected (RFC 8446 5.2), which is
    // not an overflow.
    refuse(SSL_AD_BAD_RECORD_MAC,
           "TLS protocol error: a record too short to hold its tag and content type "
           "(bad_record_mac)",
           cipher_out, written);
    return false;
  }
  const size_t sealed = body - RP::kTag;
  const size_t room = plain_out.size() - result->plain_bytes;
  uint8_t* into = plain_out.data() + result->plain_bytes;
  if (room < sealed) {
    held_.resize(sealed);
    into = held_.data();
  }
  uint8_t type = 0;
  size_t length = 0;
  const bool opened = rx_->open(record, into, &type, &length);
  rx_partial_.clear();
  if (!opened) {
    held_.clear();
    refuse(SSL_AD_BAD_RECORD_MAC,
           "TLS protocol error: a record did not authenticate (bad_record_mac)", cipher_out,
           written);
    return false;
  }
  if (length > RP::kMaxPlain) {
    // The padding may take the record up to its limit, the content not (RFC 8446 5.2, 5.4).
    held_.clear();
    refuse(SSL_AD_RECORD_OVERFLOW,
           "TLS protocol error: a record's plaintext is over 2^14 bytes (record_overflow)",
           cipher_out, written);
    return false;
  }
  if (type == SSL3_RT_APPLICATION_DATA && flight_ != nullptr) {
    held_.clear();
    static constexpr uint8_t kUnexpected[2] = {2, SSL_AD_UNEXPECTED_MESSAGE};
    result->cipher_bytes +=
        control(SSL3_RT_ALERT, kUnexpected, cipher_out.subspan(result->cipher_bytes));
    s_.fail(Failure::kProtocol,
            "TLS protocol error: application data before the client's Finished "
            "(unexpected_message)");
    return false;
  }
  if (type == SSL3_RT_APPLICATION_DATA) {
    if (!on_application_data(length, cipher_out, written)) {
      held_.clear();
      return false;
    }
    if (into == held_.data()) {
      held_.resize(length);
      result->plain_bytes += take_held_plaintext(plain_out.subspan(result->plain_bytes));
    } else {
      result->plain_bytes += length;
    }
    return true;
  }
  // A control record: its bytes are not the caller's plaintext.
  if (type == SSL3_RT_ALERT && !handshake_bytes_.empty()) {
    // RFC 8446 5.1: a handshake message spread over records has nothing between its pieces.
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: an alert inside a post-handshake message (unexpected_message)",
           cipher_out, written);
  } else if (type == SSL3_RT_ALERT && length == 0) {
    // RFC 8446 5.1: an alert record holds exactly one alert; like a handshake record it is never
    // empty (unexpected_message, as for the empty handshake record below; a non-empty record of
    // the wrong size is decode_error in on_alert()).
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: an empty alert record (unexpected_message)", cipher_out, written);
  } else if (type == SSL3_RT_ALERT) {
    on_alert(into, length, cipher_out, written);
  } else if (type == SSL3_RT_HANDSHAKE && length == 0) {
    // RFC 8446 5.1: a handshake record is never empty (it would move nothing forward).
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: an empty handshake record (unexpected_message)", cipher_out,
           written);
  } else if (type == SSL3_RT_HANDSHAKE) {
    on_handshake(into, length, cipher_out, written);
  } else if (type == 0) {
    // RFC 8446 5.4: no non-zero byte in the inner plaintext, so no content type.
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: a record of padding only, with no content type "
           "(unexpected_message)",
           cipher_out, written);
  } else {
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           absl::StrCat("TLS protocol error: inner content type ", static_cast<int>(type),
                        " (unexpected_message)"),
           cipher_out, written);
  }
  held_.clear();  // when it was opened there
  return true;
}

bool OwnPath::on_application_data(size_t length, std::span<uint8_t> out, size_t* written) {
  if (!handshake_bytes_.empty()) {
    // RFC 8446 5.1: a handshake message spread over records has nothing between its pieces.
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: application data inside a post-handshake message "
           "(unexpected_message)",
           out, written);
    return false;
  }
  if (length > 0) {
    empty_records_ = 0;
    warning_alerts_ = 0;
    key_updates_ = 0;
  } else if (++empty_records_ > kNoProgressMax) {
    refuse(SSL_AD_UNEXPECTED_MESSAGE,
           "TLS protocol error: too many empty records in a row (unexpected_message)", out,
           written);
    return false;
  }
  return true;
}

void OwnPath::refuse(uint8_t alert, std::string detail, std::span<uint8_t> out, size_t* written) {
  const uint8_t body[2] = {2, alert};  // fatal
  *written += control(SSL3_RT_ALERT, body, out.subspan(*written));
  s_.fail(Failure::kProtocol, std::move(detail));
}

size_t OwnPath::take_held_plaintext(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), held_.size() - held_at_);
  if (n > 0) std::memcpy(out.data(), held_.data() + held_at_, n);
  held_at_ += n;
  if (held_at_ == held_.size()) {
    held_.clear();
    held_at_ = 0;
  }
  return n;
}

void OwnPath::on_alert(const uint8_t* body, size_t length, std::span<uint8_t> out,
                       size_t* written) {
  if (length != 2) {
    refuse(SSL_AD_DECODE_ERROR,
           "TLS protocol error: an alert record of the wrong size (decode_error)", out, written);
    return;
  }
  const uint8_t description = body[1];
  if (description == SSL_AD_CLOSE_NOTIFY && flight_ != nullptr) {
    // Before the client's Finished nothing was agreed: a handshake that ends here failed.
    s_.fail(Failure::kProtocol, "the peer closed the handshake");
    return;
  }
  if (description == SSL_AD_CLOSE_NOTIFY) {
    s_.state_ = State::kClosed;
    s_.failure_detail_ = "the peer sent close_notify";
    return;
  }
  if (description == SSL_AD_USER_CANCELLED) {  // a warning; close_notify follows
    if (++warning_alerts_ > kNoProgressMax) {
      refuse(SSL_AD_UNEXPECTED_MESSAGE,
             "TLS protocol error: too many warning alerts in a row (unexpected_message)", out,
             written);
    }
    return;
  }
  s_.fail(Failure::kPeerAlert,
          absl::StrCat("the peer sent an alert: ", SSL_alert_desc_string_long(description)));
}

namespace {
// 64 KiB bounds a post-handshake message spread over records.
constexpr size_t kMaxMessage = 64 * 1024;
}  // namespace

void OwnPath::on_handshake(const uint8_t* body, size_t length, std::span<uint8_t> out,
                           size_t* written) {
  // Post-handshake messages (RFC 8446 4.6): tickets (a client ignores those that come after the
  // switch) and KeyUpdate.
  if (handshake_bytes_.size() + length > kMaxMessage + 4) {
    s_.fail(Failure::kProtocol, "TLS protocol error: a post-handshake message is too large");
    return;
  }
  handshake_bytes_.insert(handshake_bytes_.end(), body, body + length);
  if (flight_ != nullptr) {
    on_finished(out, written);
    return;
  }
  size_t at = 0;
  while (s_.state_ == State::kEstablished && handshake_bytes_.size() - at >= 4) {
    const uint8_t* m = handshake_bytes_.data() + at;
    const size_t len = size_t{m[1]} << 16 | size_t{m[2]} << 8 | m[3];
    if (!on_post_handshake_header(m, len, out, written)) return;
    if (len > kMaxMessage) {
      s_.fail(Failure::kProtocol, "TLS protocol error: a post-handshake message is too large");
      return;
    }
    if (handshake_bytes_.size() - at < 4 + len) break;
    const bool last = at + 4 + len == handshake_bytes_.size();
    if (!on_post_handshake_message(m, len, last, out, written)) return;
    at += 4 + len;
  }
  handshake_bytes_.erase(handshake_bytes_.begin(), handshake_bytes_.begin() + at);
  if (key_update_owed_ && tx_pending_len_ == 0) *written += key_update(out.subspan(*written));
}

bool OwnPath::on_post_handshake_header(const uint8_t* m, size_t len, std::span<uint8_t> out,
                                       size_t* written) {
  // Judged as soon as the header has come, as OpenSSL judges it: a message this side never
  // takes, or a KeyUpdate longer than its one byte, is refused without waiting for a body that
  // may be long in coming (or never come). An empty KeyUpdate is whole: judged as a message.
  if (m[0] == SSL3_MT_KEY_UPDATE && len > 1) {
    refuse(SSL_AD_DECODE_ERROR, "TLS protocol error: a malformed KeyUpdate", out, written);
    return false;
  }
  if (m[0] == SSL3_MT_KEY_UPDATE || (m[0] == SSL3_MT_NEWSESSION_TICKET && !s_.server_)) {
    return true;
  }
  refuse(SSL_AD_UNEXPECTED_MESSAGE,
         absl::StrCat("TLS protocol error: unexpected handshake message ", static_cast<int>(m[0]),
                      " after the handshake"),
         out, written);
  return false;
}

bool OwnPath::on_post_handshake_message(const uint8_t* m, size_t len, bool last,
                                        std::span<uint8_t> out, size_t* written) {
  if (m[0] == SSL3_MT_KEY_UPDATE) {
    // The next record from the peer is under its next key, so nothing may follow in this one
    // (RFC 8446 5.1: unexpected_message), whatever the message holds; then its one byte.
    if (!last || len != 1 || m[4] > 1) {
      refuse(!last      ? SSL_AD_UNEXPECTED_MESSAGE
             : len != 1 ? SSL_AD_DECODE_ERROR
                        : SSL_AD_ILLEGAL_PARAMETER,
             "TLS protocol error: a malformed KeyUpdate", out, written);
      return false;
    }
    if (++key_updates_ > kNoProgressMax) {
      refuse(SSL_AD_UNEXPECTED_MESSAGE,
             "TLS protocol error: too many KeyUpdates in a row (unexpected_message)", out, written);
      return false;
    }
    if (!rx_->update()) {
      s_.fail(Failure::kProtocol, "TLS protocol error: deriving the peer's next key failed");
      return false;
    }
    if (m[4] == 1) key_update_owed_ = true;  // update_requested
    return true;
  }
  PAMPROXY_CHECK(m[0] == SSL3_MT_NEWSESSION_TICKET && !s_.server_);  // its header was judged
  return true;  // after the first response: the session cache already has the earlier ones
}

// ---------------------------------------------------------------- sending

size_t OwnPath::control(uint8_t type, std::span<const uint8_t> body, std::span<uint8_t> out) {
  PAMPROXY_CHECK(body.size() + RP::kOverhead <= sizeof(tx_pending_));
  if (tx_pending_len_ == 0 && out.size() >= body.size() + RP::kOverhead) {
    return tx_->seal(type, body, out.data());
  }
  // Behind a record already waiting, or no room: it waits (one at most; see callers).
  if (tx_pending_len_ == 0) tx_pending_len_ = tx_->seal(type, body, tx_pending_);
  return flush(out);
}

size_t OwnPath::flush(std::span<uint8_t> out) {
  if (tx_pending_len_ == 0 || out.size() < tx_pending_len_) return 0;
  std::memcpy(out.data(), tx_pending_, tx_pending_len_);
  const size_t n = tx_pending_len_;
  tx_pending_len_ = 0;
  return n;
}

size_t OwnPath::key_update(std::span<uint8_t> out) {
  static constexpr uint8_t kKeyUpdate[5] = {SSL3_MT_KEY_UPDATE, 0, 0, 1, 0};  // not requested
  if (out.size() < sizeof(kKeyUpdate) + RP::kOverhead) return 0;              // still owed
  const size_t n = tx_->seal(SSL3_RT_HANDSHAKE, kKeyUpdate, out.data());
  key_update_owed_ = false;
  if (!tx_->update()) s_.fail(Failure::kProtocol, "deriving our next key failed");
  return n;
}

IoResult OwnPath::send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out) {
  IoResult result;
  result.cipher_bytes = flush(cipher_out);
  if (tx_pending_len_ > 0) return result;  // our control record goes first
  const size_t fragment = s_.max_fragment();
  while (result.plain_bytes < plain_in.size() && s_.state_ == State::kEstablished) {
    // Our KeyUpdate goes before the next data record: asked by the peer, or this key has
    // sealed enough.
    if (tx_->sequence() >= s_.records_per_key_) key_update_owed_ = true;
    if (key_update_owed_) {
      const size_t n = key_update(cipher_out.subspan(result.cipher_bytes));
      if (n == 0) break;
      result.cipher_bytes += n;
      continue;
    }
    std::span<uint8_t> out = cipher_out.subspan(result.cipher_bytes);
    if (out.size() <= RP::kOverhead) break;
    const size_t chunk =
        std::min({plain_in.size() - result.plain_bytes, fragment, out.size() - RP::kOverhead});
    const size_t n = tx_->seal(SSL3_RT_APPLICATION_DATA,
                               plain_in.subspan(result.plain_bytes, chunk), out.data());
    if (n == 0) {
      s_.fail(Failure::kProtocol, openssl_error_text("sealing a record failed"));
      break;
    }
    result.plain_bytes += chunk;
    result.cipher_bytes += n;
  }
  return result;
}

size_t OwnPath::shutdown(std::span<uint8_t> out) {
  size_t n = 0;
  if (!close_notify_sent_) {
    static constexpr uint8_t kCloseNotify[2] = {1, 0};  // warning, close_notify
    n = control(SSL3_RT_ALERT, kCloseNotify, out);
    close_notify_sent_ = true;
  }
  s_.state_ = State::kClosed;
  return n;
}

bool OwnPath::release_buffers() {
  if (!rx_partial_.empty() || held_at_ < held_.size() || tx_pending_len_ > 0) return false;
  std::vector<uint8_t>().swap(rx_partial_);
  std::vector<uint8_t>().swap(held_);
  held_at_ = 0;
  if (s_.ssl_ != nullptr) SSL_free_buffers(s_.ssl_.get());  // idle since the switch
  return true;
}

}  // namespace pamproxy::tls
