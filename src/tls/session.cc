// A TLS connection over caller buffers (see include/pamproxy/tls/session.h).
//
// The BIO below is the whole trick: during one receive()/send() call it reads ciphertext
// straight from the caller's span and writes ciphertext straight into the caller's output span,
// so OpenSSL's record buffers are the only intermediate copies. Between calls it holds no
// pointer to caller memory.
//
//   caller in_  [consumed | not yet]      OpenSSL rbuf: one record at a time (no read-ahead), so
//                ^in_used_                 bytes not consumed stay the caller's to offer again
//   caller out_ [written | free]           OpenSSL wbuf: a record that did not fit stays there
//                ^out_used_                 (has_pending_output) until flush()

#include "pamproxy/tls/session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/leaf_cache.h"
#include "src/tls/callbacks.h"
#include "src/tls/own_handshake.h"
#include "src/tls/records.h"
#include "src/tls/secrets.h"

namespace pamproxy::tls {

namespace {
// Replayed as the "plaintext" of a write retry: OpenSSL re-reads nothing once the record sits
// encrypted in its buffer, but insists on a pointer and a length no shorter than the original.
const uint8_t kRetryPlaceholder[SSL3_RT_MAX_PLAIN_LENGTH] = {};

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
}  // namespace

std::string_view failure_name(Failure failure) {
  switch (failure) {
    case Failure::kNone: return "none";
    case Failure::kNoSni: return "no_sni";
    case Failure::kSniMismatch: return "sni_mismatch";
    case Failure::kBadSni: return "bad_sni";
    case Failure::kMintFailed: return "mint_failed";
    case Failure::kUntrustedCertificate: return "untrusted_certificate";
    case Failure::kHostnameMismatch: return "hostname_mismatch";
    case Failure::kProtocol: return "protocol";
    case Failure::kUnexpectedEof: return "unexpected_eof";
    case Failure::kPeerAlert: return "peer_alert";
  }
  return "unknown";
}

TrafficKeys::~TrafficKeys() {
  OPENSSL_cleanse(key, sizeof(key));
  OPENSSL_cleanse(iv, sizeof(iv));
}

// ---------------------------------------------------------------- callbacks and BIO

struct Session::Internals {
  static Session* of(const SSL* ssl) { return static_cast<Session*>(SSL_get_app_data(ssl)); }

  static int bio_write(BIO* bio, const char* data, int len) {
    auto* s = static_cast<Session*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    size_t room = s->out_.size() - s->out_used_;
    if (room == 0 || len <= 0) {
      BIO_set_retry_write(bio);
      return -1;
    }
    size_t n = std::min(room, static_cast<size_t>(len));
    std::memcpy(s->out_.data() + s->out_used_, data, n);
    s->out_used_ += n;
    return static_cast<int>(n);
  }

  static int bio_read(BIO* bio, char* data, int len) {
    auto* s = static_cast<Session*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    size_t avail = s->in_.size() - s->in_used_;
    if (avail == 0) {
      if (s->eof_) return 0;
      BIO_set_retry_read(bio);
      return -1;
    }
    size_t n = std::min(avail, static_cast<size_t>(std::max(len, 0)));
    std::memcpy(data, s->in_.data() + s->in_used_, n);
    s->in_used_ += n;
    return static_cast<int>(n);
  }

  static long bio_ctrl(BIO* bio, int cmd, long, void*) {
    auto* s = static_cast<Session*>(BIO_get_data(bio));
    switch (cmd) {
      case BIO_CTRL_FLUSH: return 1;
      case BIO_CTRL_EOF: return s != nullptr && s->eof_ && s->in_used_ == s->in_.size();
      case BIO_CTRL_PENDING:
        return s != nullptr ? static_cast<long>(s->in_.size() - s->in_used_) : 0;
      case BIO_CTRL_WPENDING: return 0;
      default: return 0;
    }
  }

  static int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static int servername(SSL* ssl, int* alert, void* arg) {
    Session* s = of(ssl);
    auto* ctx = static_cast<const ServerContext*>(arg);
    if (s == nullptr || ctx == nullptr || ctx->leaves() == nullptr) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    std::string host;
    if (!s->resolve_sni(name != nullptr ? name : "", &host)) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    auto leaf = ctx->leaves()->get(host);
    if (!leaf.ok()) {
      s->failure_ = Failure::kMintFailed;
      s->failure_detail_ = std::string(leaf.status().message());
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (SSL_use_cert_and_key(ssl, (*leaf)->cert.get(), ctx->leaves()->key(), nullptr, 1) != 1) {
      s->failure_ = Failure::kMintFailed;
      s->failure_detail_ = openssl_error_text("installing the leaf certificate");
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
  }

  static int new_session(SSL* ssl, SSL_SESSION* session) {
    Session* s = of(ssl);
    if (s == nullptr || s->client_ctx_ == nullptr) return 0;
    s->client_ctx_->store_session(s->cache_key_, SslSessionPtr(session));
    return 1;  // the cache owns the reference now
  }

  static void keylog(const SSL* ssl, const char* line) {
    Session* s = of(ssl);
    if (s != nullptr && s->secrets_ != nullptr) s->secrets_->note_keylog(line);
  }

  static void msg(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl,
                  void* arg) {
    auto* s = static_cast<Session*>(arg);
    if (s == nullptr || s->secrets_ == nullptr) return;
    s->secrets_->note_message(write_p != 0, SSL_version(ssl) == TLS1_3_VERSION, content_type,
                              static_cast<const uint8_t*>(buf), len);
  }
};

namespace detail {

int servername_cb(SSL* ssl, int* alert, void* arg) {
  return Session::Internals::servername(ssl, alert, arg);
}

int alpn_select_cb(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                   unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp11, sizeof(kAlpnHttp11), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int new_session_cb(SSL* ssl, SSL_SESSION* session) {
  return Session::Internals::new_session(ssl, session);
}

void keylog_cb(const SSL* ssl, const char* line) {
  Session::Internals::keylog(ssl, line);
}

BIO_METHOD* span_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pamproxy-span");
    PAMPROXY_CHECK(m != nullptr);
    BIO_meth_set_write(m, Session::Internals::bio_write);
    BIO_meth_set_read(m, Session::Internals::bio_read);
    BIO_meth_set_ctrl(m, Session::Internals::bio_ctrl);
    BIO_meth_set_create(m, Session::Internals::bio_create);
    return m;
  }();
  return method;
}

}  // namespace detail

// ---------------------------------------------------------------- construction

Session::Session(SslPtr ssl, bool server) : ssl_(std::move(ssl)), server_(server) {}

Session::~Session() {
  // SSL_free marks the session of a connection that did not send close_notify as not
  // resumable, which would also spoil the copy in the client session cache. Connections that
  // simply end (HTTP keep-alive timeouts, pool trimming) stay resumable; failed ones do not.
  if (ssl_ != nullptr && state_ != State::kError) {
    SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN);
  }
}

namespace {
// Binds a new SSL to a session: app data, the span BIO, and the secret capture when asked.
bool attach(Session* session, SSL* ssl, bool capture, std::unique_ptr<Secrets>* secrets) {
  BIO* bio = BIO_new(detail::span_bio_method());
  if (bio == nullptr) return false;
  BIO_set_data(bio, session);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_app_data(ssl, session);
  if (capture) {
    *secrets = std::make_unique<Secrets>();
    SSL_set_msg_callback(ssl, Session::Internals::msg);
    SSL_set_msg_callback_arg(ssl, session);
  }
  return true;
}
}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::server(const ServerContext& ctx) {
  SslPtr ssl(SSL_new(ctx.native()));
  if (!ssl) return openssl_error(absl::StatusCode::kResourceExhausted, "SSL_new");
  SSL* raw = ssl.get();
  std::unique_ptr<Session> s(new Session(std::move(ssl), true));
  s->server_ctx_ = &ctx;
  const ContextOptions& options = ctx.options();
  if (!attach(s.get(), raw, options.capture_secrets || options.own_records, &s->secrets_)) {
    return openssl_error(absl::StatusCode::kResourceExhausted, "BIO_new");
  }
  s->own_records_wanted_ = options.own_records;
  s->own_handshake_wanted_ = options.own_handshake && ctx.leaves() != nullptr;
  SSL_set_accept_state(raw);
  return s;
}

absl::StatusOr<std::unique_ptr<Session>> Session::client(ClientContext& ctx, std::string_view host,
                                                         uint16_t port) {
  std::string name = normalize_host(host);
  if (!valid_host(name)) {
    return absl::InvalidArgumentError(absl::StrCat("not a host name or address: ", name));
  }
  SslPtr ssl(SSL_new(ctx.native()));
  if (!ssl) return openssl_error(absl::StatusCode::kResourceExhausted, "SSL_new");
  SSL* raw = ssl.get();
  std::unique_ptr<Session> s(new Session(std::move(ssl), false));
  s->client_ctx_ = &ctx;
  s->cache_key_ = absl::StrCat(name, ":", port);
  const ContextOptions& options = ctx.options();
  if (!attach(s.get(), raw, options.capture_secrets || options.own_records, &s->secrets_)) {
    return openssl_error(absl::StatusCode::kResourceExhausted, "BIO_new");
  }
  s->own_records_wanted_ = options.own_records;
  // SSL_set1_host takes an IP literal as an address to match against IP SANs.
  bool ok = SSL_set1_host(raw, name.c_str()) == 1;
  if (ok && !is_ip_literal(name)) ok = SSL_set_tlsext_host_name(raw, name.c_str()) == 1;
  if (!ok) return openssl_error(absl::StatusCode::kInvalidArgument, "setting the upstream host");
  if (SslSessionPtr cached = ctx.take_session(s->cache_key_)) {
    SSL_set_session(raw, cached.get());
  }
  SSL_set_connect_state(raw);
  return s;
}

void Session::set_expected_host(std::string_view host) {
  expected_host_ = normalize_host(host);
  // "[::1]" as a CONNECT target names the address ::1.
  if (expected_host_.size() > 2 && expected_host_.front() == '[' && expected_host_.back() == ']') {
    expected_host_ = expected_host_.substr(1, expected_host_.size() - 2);
  }
}

bool Session::resolve_sni(std::string_view name, std::string* host) {
  if (name.empty()) {
    if (!expected_host_.empty() && is_ip_literal(expected_host_)) {
      *host = expected_host_;  // clients send no SNI for an address: serve the address
      return true;
    }
    failure_ = Failure::kNoSni;
    failure_detail_ = "the client sent no server name (SNI)";
    return false;
  }
  sni_ = normalize_host(name);
  if (!valid_host(sni_)) {
    failure_ = Failure::kBadSni;
    failure_detail_ = "the server name (SNI) is not a valid host name";
    sni_.clear();
    return false;
  }
  if (!expected_host_.empty() && sni_ != expected_host_) {
    failure_ = Failure::kSniMismatch;
    failure_detail_ =
        absl::StrCat("server name (SNI) ", sni_, " differs from the CONNECT host ", expected_host_);
    return false;
  }
  *host = sni_;
  return true;
}

// ---------------------------------------------------------------- the state machine

namespace {
// RAII for the caller's spans: the BIO may only see them for the duration of one call.
class Window {
 public:
  Window(std::span<const uint8_t>& in, std::span<uint8_t>& out, size_t& in_used, size_t& out_used,
         std::span<const uint8_t> new_in, std::span<uint8_t> new_out)
      : in_(in), out_(out) {
    in = new_in;
    out = new_out;
    in_used = 0;
    out_used = 0;
  }
  ~Window() {
    in_ = {};
    out_ = {};
  }

 private:
  std::span<const uint8_t>& in_;
  std::span<uint8_t>& out_;
};
}  // namespace

void Session::fail(Failure failure, std::string detail) {
  state_ = State::kError;
  if (failure_ == Failure::kNone) {
    failure_ = failure;
    failure_detail_ = std::move(detail);
  }
  ERR_clear_error();
}

void Session::fail_from_ssl(int ssl_error) {
  if (failure_ != Failure::kNone) {  // a callback of ours already said why
    fail(failure_, failure_detail_);
    return;
  }
  if (!server_) {
    long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) {
      Failure f = verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
                      ? Failure::kHostnameMismatch
                      : Failure::kUntrustedCertificate;
      std::string host = cache_key_.substr(0, cache_key_.rfind(':'));
      fail(f, absl::StrCat("certificate of ", host,
                           " not trusted: ", X509_verify_cert_error_string(verify)));
      return;
    }
  }
  unsigned long e = ERR_peek_error();
  int reason = ERR_GET_REASON(e);
  if (ssl_error == SSL_ERROR_SYSCALL || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    fail(Failure::kUnexpectedEof, state_ == State::kHandshaking
                                      ? "the connection closed during the TLS handshake"
                                      : "the connection closed without close_notify");
    return;
  }
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
      reason < SSL_AD_REASON_OFFSET + 256) {
    fail(Failure::kPeerAlert, openssl_error_text("the peer sent an alert"));
    return;
  }
  fail(Failure::kProtocol, openssl_error_text("TLS protocol error"));
}

bool Session::drive_handshake() {
  want_write_ = false;
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    state_ = State::kEstablished;
    return true;
  }
  int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ) return false;
  if (err == SSL_ERROR_WANT_WRITE) {
    want_write_ = true;
    return false;
  }
  fail_from_ssl(err);
  return false;
}

size_t Session::start(std::span<uint8_t> cipher_out) {
  if (server_ || state_ != State::kHandshaking) return 0;
  Window w(in_, out_, in_used_, out_used_, {}, cipher_out);
  drive_handshake();
  return out_used_;
}

IoResult Session::receive(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                          std::span<uint8_t> cipher_out) {
  PAMPROXY_CHECK(cipher_out.size() >= kReceiveOutputMin);
  IoResult result;
  if (state_ == State::kClosed || state_ == State::kError) return result;
  if (own_handshake_wanted_ && !cipher_in.empty()) {
    // The first bytes only: a ClientHello that did not come whole in them is OpenSSL's.
    own_handshake_wanted_ = false;
    if (own_server_flight(cipher_in, cipher_out, &result)) {
      IoResult more = own_receive(cipher_in.subspan(result.cipher_consumed), plain_out,
                                  cipher_out.subspan(result.cipher_bytes));
      result.cipher_consumed += more.cipher_consumed;
      result.plain_bytes += more.plain_bytes;
      result.cipher_bytes += more.cipher_bytes;
      return result;
    }
  }
  if (own_rx_ != nullptr) return own_receive(cipher_in, plain_out, cipher_out);
  Window w(in_, out_, in_used_, out_used_, cipher_in, cipher_out);
  if (state_ == State::kHandshaking) drive_handshake();
  while (state_ == State::kEstablished && !want_write_) {
    take_over_records();
    if (own_rx_ != nullptr) break;
    // Without plaintext room, still let OpenSSL consume post-handshake records (tickets) only
    // when no application data is buffered; otherwise wait for room.
    if (result.plain_bytes == plain_out.size()) break;
    size_t n = 0;
    int r = SSL_read_ex(ssl_.get(), plain_out.data() + result.plain_bytes,
                        plain_out.size() - result.plain_bytes, &n);
    if (r == 1) {
      result.plain_bytes += n;
      app_data_read_ = true;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_WANT_WRITE) {
      want_write_ = true;
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      state_ = State::kClosed;
      failure_detail_ = "the peer sent close_notify";
      break;
    }
    fail_from_ssl(err);
  }
  result.cipher_consumed = in_used_;
  result.cipher_bytes = out_used_;
  if (own_rx_ != nullptr) {
    // The rest of the input is already ours to open.
    IoResult more =
        own_receive(cipher_in.subspan(result.cipher_consumed),
                    plain_out.subspan(result.plain_bytes), cipher_out.subspan(result.cipher_bytes));
    result.cipher_consumed += more.cipher_consumed;
    result.plain_bytes += more.plain_bytes;
    result.cipher_bytes += more.cipher_bytes;
  }
  return result;
}

IoResult Session::send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out) {
  IoResult result;
  if (state_ != State::kEstablished) return result;
  take_over_records();
  if (own_tx_ != nullptr) return own_send(plain_in, cipher_out);
  Window w(in_, out_, in_used_, out_used_, {}, cipher_out);
  if (pending_write_len_ > 0 && !retry_write()) {
    result.cipher_bytes = out_used_;
    return result;
  }
  // One record per SSL_write: a record that does not fit stays whole in OpenSSL's buffer and
  // its plaintext counts as taken, so callers never have to offer the same bytes again.
  const size_t fragment = max_fragment();
  while (result.plain_bytes < plain_in.size() && state_ == State::kEstablished) {
    size_t room = cipher_out.size() - out_used_;
    if (room <= kRecordOverheadMax) break;
    size_t chunk =
        std::min({plain_in.size() - result.plain_bytes, fragment, room - kRecordOverheadMax});
    size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), plain_in.data() + result.plain_bytes, chunk, &n);
    if (r == 1) {
      result.plain_bytes += n;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_WANT_WRITE) {
      pending_write_len_ = chunk;
      want_write_ = true;
      result.plain_bytes += chunk;
      break;
    }
    fail_from_ssl(err);
  }
  result.cipher_bytes = out_used_;
  return result;
}

bool Session::retry_write() {
  size_t n = 0;
  int r = SSL_write_ex(ssl_.get(), kRetryPlaceholder, pending_write_len_, &n);
  if (r == 1) {
    pending_write_len_ = 0;
    want_write_ = false;
    return true;
  }
  int err = SSL_get_error(ssl_.get(), r);
  if (err != SSL_ERROR_WANT_WRITE) fail_from_ssl(err);
  return false;
}

size_t Session::flush(std::span<uint8_t> cipher_out) {
  if (own_tx_ != nullptr) return own_flush(cipher_out);
  if (!want_write_) return 0;
  Window w(in_, out_, in_used_, out_used_, {}, cipher_out);
  if (state_ == State::kHandshaking) {
    drive_handshake();
  } else if (state_ == State::kEstablished && pending_write_len_ > 0) {
    retry_write();
  }
  return out_used_;
}

size_t Session::shutdown(std::span<uint8_t> cipher_out) {
  if (state_ != State::kEstablished && state_ != State::kClosed) return 0;
  if (own_tx_ != nullptr) {
    size_t n = 0;
    if (!close_notify_sent_) {
      static constexpr uint8_t kCloseNotify[2] = {1, 0};  // warning, close_notify
      n = own_control(SSL3_RT_ALERT, kCloseNotify, cipher_out);
      close_notify_sent_ = true;
    }
    state_ = State::kClosed;
    return n;
  }
  Window w(in_, out_, in_used_, out_used_, {}, cipher_out);
  if (!SSL_in_init(ssl_.get()) && (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN) == 0) {
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  state_ = State::kClosed;
  return out_used_;
}

void Session::receive_eof() {
  eof_ = true;
  if (state_ == State::kHandshaking) {
    fail(Failure::kUnexpectedEof, "the connection closed during the TLS handshake");
  } else if (state_ == State::kEstablished) {
    fail(Failure::kUnexpectedEof, "the connection closed without close_notify");
  }
}

bool Session::has_pending_output() const {
  return want_write_ || tx_pending_len_ > 0;
}

bool Session::has_buffered_plaintext() const {
  if (own_rx_ != nullptr) return held_at_ < held_.size();
  return SSL_pending(ssl_.get()) > 0;
}

bool Session::has_unread_input() const {
  if (own_rx_ != nullptr) return held_at_ < held_.size() || !rx_partial_.empty();
  return SSL_has_pending(ssl_.get()) == 1;
}

std::string_view Session::sni() const {
  return sni_;
}

std::string_view Session::alpn() const {
  if (own_handshake_) return own_alpn_ ? "http/1.1" : "";
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return data == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(data), len);
}

bool Session::release_buffers() {
  if (own_rx_ != nullptr) {
    if (!rx_partial_.empty() || held_at_ < held_.size() || tx_pending_len_ > 0) return false;
    std::vector<uint8_t>().swap(rx_partial_);
    std::vector<uint8_t>().swap(held_);
    held_at_ = 0;
    SSL_free_buffers(ssl_.get());  // idle since the switch
    return true;
  }
  return SSL_free_buffers(ssl_.get()) == 1;
}

bool Session::resumed() const {
  if (own_handshake_) return false;  // no tickets are issued on that path
  return SSL_session_reused(ssl_.get()) == 1;
}

std::string_view Session::version_name() const {
  if (own_handshake_) return "TLSv1.3";
  return SSL_get_version(ssl_.get());
}

std::string_view Session::cipher_name() const {
  if (own_handshake_) {
    return own_suite_ == 0x1301 ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256";
  }
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name != nullptr ? name : "";
}

absl::StatusOr<TrafficKeys> Session::traffic_keys(Direction direction) const {
  if (state_ != State::kEstablished) {
    return absl::FailedPreconditionError("the handshake is not complete");
  }
  if (own_handshake_) {
    // Our handshake: the record layer holds each direction's secret and count.
    const RecordProtection& rp = direction == Direction::kTransmit ? *own_tx_ : *own_rx_;
    TrafficKeys keys;
    if (!rp.export_keys(&keys)) {
      return absl::FailedPreconditionError("a KeyUpdate happened: the kernel cannot follow it");
    }
    return keys;
  }
  if (secrets_ == nullptr) {
    return absl::FailedPreconditionError("secrets were not captured (capture_secrets off)");
  }
  if (own_rx_ != nullptr) {
    return absl::FailedPreconditionError("the records are sealed by pamproxy (own_records)");
  }
  bool local_writes = direction == Direction::kTransmit;
  // The server transmits with the server secret; the client with the client secret.
  bool server_secret = local_writes == server_;
  return secrets_->derive(ssl_.get(), server_secret, local_writes);
}

// ---------------------------------------------------------------- own records (TLS 1.3)

void Session::take_over_records() {
  if (!own_records_wanted_ || own_rx_ != nullptr || state_ != State::kEstablished) return;
  // A client waits for the first application data: a TLS 1.3 server sends its tickets before
  // that, and OpenSSL must take them for the session cache.
  if (!server_ && !app_data_read_) return;
  if (secrets_ == nullptr || SSL_version(ssl_.get()) != TLS1_3_VERSION) {
    own_records_wanted_ = false;  // TLS 1.2 keeps OpenSSL's record layer
    return;
  }
  // Nothing may be left inside OpenSSL: no record half read or unsent, no plaintext.
  if (want_write_ || pending_write_len_ > 0 || SSL_pending(ssl_.get()) > 0 ||
      SSL_has_pending(ssl_.get()) == 1) {
    return;
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
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
  if (!secrets_->tls13_direction(server_, true, &tx_secret, &tx_len, &tx_seq) ||
      !secrets_->tls13_direction(!server_, false, &rx_secret, &rx_len, &rx_seq) ||
      !tx->init(suite, tx_secret, tx_len, tx_seq, true) ||
      !rx->init(suite, rx_secret, rx_len, rx_seq, false)) {
    own_records_wanted_ = false;  // a suite or state we do not take: OpenSSL goes on
    ERR_clear_error();
    return;
  }
  own_tx_ = std::move(tx);
  own_rx_ = std::move(rx);
  SSL_free_buffers(ssl_.get());  // OpenSSL's record buffers (~33 KiB) are not used any more
}

size_t Session::take_held_plaintext(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), held_.size() - held_at_);
  if (n > 0) std::memcpy(out.data(), held_.data() + held_at_, n);
  held_at_ += n;
  if (held_at_ == held_.size()) {
    held_.clear();
    held_at_ = 0;
  }
  return n;
}

size_t Session::own_control(uint8_t type, std::span<const uint8_t> body, std::span<uint8_t> out) {
  PAMPROXY_CHECK(body.size() + RecordProtection::kOverhead <= sizeof(tx_pending_));
  if (tx_pending_len_ == 0 && out.size() >= body.size() + RecordProtection::kOverhead) {
    return own_tx_->seal(type, body, out.data());
  }
  // Behind a record already waiting, or no room: it waits (one at most; see callers).
  if (tx_pending_len_ == 0) tx_pending_len_ = own_tx_->seal(type, body, tx_pending_);
  return own_flush(out);
}

size_t Session::own_flush(std::span<uint8_t> out) {
  if (tx_pending_len_ == 0 || out.size() < tx_pending_len_) return 0;
  std::memcpy(out.data(), tx_pending_, tx_pending_len_);
  const size_t n = tx_pending_len_;
  tx_pending_len_ = 0;
  return n;
}

void Session::on_own_alert(const uint8_t* body, size_t length) {
  if (length != 2) {
    fail(Failure::kProtocol,
         "TLS protocol error: an alert record of the wrong size (decode_error)");
    return;
  }
  const uint8_t description = body[1];
  if (description == SSL_AD_CLOSE_NOTIFY) {
    state_ = State::kClosed;
    failure_detail_ = "the peer sent close_notify";
    return;
  }
  if (description == SSL_AD_USER_CANCELLED) return;  // a warning; close_notify follows
  fail(Failure::kPeerAlert,
       absl::StrCat("the peer sent an alert: ", SSL_alert_desc_string_long(description)));
}

void Session::on_own_handshake(const uint8_t* body, size_t length, std::span<uint8_t> out,
                               size_t* written) {
  // Post-handshake messages (RFC 8446 4.6): tickets (a client ignores those that come after the
  // switch) and KeyUpdate. 64 KiB bounds a message spread over records.
  static constexpr size_t kMaxMessage = 64 * 1024;
  if (handshake_bytes_.size() + length > kMaxMessage + 4) {
    fail(Failure::kProtocol, "TLS protocol error: a post-handshake message is too large");
    return;
  }
  handshake_bytes_.insert(handshake_bytes_.end(), body, body + length);
  if (own_flight_ != nullptr) {
    on_own_finished(out, written);
    return;
  }
  size_t at = 0;
  while (state_ == State::kEstablished && handshake_bytes_.size() - at >= 4) {
    const uint8_t* m = handshake_bytes_.data() + at;
    const size_t len = size_t{m[1]} << 16 | size_t{m[2]} << 8 | m[3];
    if (len > kMaxMessage) {
      fail(Failure::kProtocol, "TLS protocol error: a post-handshake message is too large");
      return;
    }
    if (handshake_bytes_.size() - at < 4 + len) break;
    if (m[0] == SSL3_MT_KEY_UPDATE) {
      // The next record from the peer is under its next key, so nothing may follow in this one.
      if (len != 1 || m[4] > 1 || at + 5 != handshake_bytes_.size()) {
        fail(Failure::kProtocol, "TLS protocol error: a malformed KeyUpdate");
        return;
      }
      if (!own_rx_->update()) {
        fail(Failure::kProtocol, "TLS protocol error: deriving the peer's next key failed");
        return;
      }
      if (m[4] == 1) key_update_owed_ = true;  // update_requested
    } else if (m[0] == SSL3_MT_NEWSESSION_TICKET && !server_) {
      // Tickets after the first response: the session cache already has the earlier ones.
    } else {
      fail(Failure::kProtocol, absl::StrCat("TLS protocol error: unexpected handshake message ",
                                            static_cast<int>(m[0]), " after the handshake"));
      return;
    }
    at += 4 + len;
  }
  handshake_bytes_.erase(handshake_bytes_.begin(), handshake_bytes_.begin() + at);
  if (key_update_owed_ && tx_pending_len_ == 0) *written += own_key_update(out.subspan(*written));
}

bool Session::own_server_flight(std::span<const uint8_t> cipher_in, std::span<uint8_t> cipher_out,
                                IoResult* result) {
  ClientHello hello;
  if (parse_client_hello(cipher_in, &hello) != nullptr) return false;
  std::string host;
  auto leave_to_openssl = [this] {
    // OpenSSL's callbacks reach the same verdict on the same bytes and say why.
    failure_ = Failure::kNone;
    failure_detail_.clear();
    sni_.clear();
    ERR_clear_error();
    return false;
  };
  if (!resolve_sni(hello.sni, &host)) return leave_to_openssl();
  auto leaf = server_ctx_->leaves()->get(host);
  if (!leaf.ok()) return leave_to_openssl();
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get_extra_chain_certs_only(server_ctx_->native(), &chain);
  auto flight = std::make_unique<ServerFlight>();
  if (!write_server_flight(hello, (*leaf)->der, chain, server_ctx_->leaves()->key(), cipher_out,
                           flight.get())) {
    return leave_to_openssl();
  }
  result->cipher_consumed = hello.record_size;
  result->cipher_bytes = flight->written;
  own_tx_ = std::move(flight->tx);
  own_rx_ = std::move(flight->rx);
  own_flight_ = std::move(flight);
  own_handshake_ = true;
  own_records_wanted_ = false;  // the records are ours from the start
  own_suite_ = hello.suite;
  own_alpn_ = hello.alpn_http11;
  return true;
}

void Session::on_own_finished(std::span<uint8_t> out, size_t* written) {
  // The client's Finished, alone at the end of its record: what follows is under its
  // application key (RFC 8446 5.1). A failure is answered with its alert under our application
  // key, which the client reads once it has sent its Finished.
  auto refuse = [&](uint8_t alert, std::string detail) {
    handshake_bytes_.clear();
    const uint8_t body[2] = {2, alert};  // fatal
    *written += own_control(SSL3_RT_ALERT, body, out.subspan(*written));
    fail(Failure::kProtocol, std::move(detail));
  };
  if (handshake_bytes_.size() < 4) return;
  const size_t len =
      size_t{handshake_bytes_[1]} << 16 | size_t{handshake_bytes_[2]} << 8 | handshake_bytes_[3];
  if (handshake_bytes_[0] != SSL3_MT_FINISHED || len != sizeof(own_flight_->client_finished)) {
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
  if (CRYPTO_memcmp(handshake_bytes_.data() + 4, own_flight_->client_finished, len) != 0) {
    refuse(SSL_AD_DECRYPT_ERROR,
           "TLS protocol error: the client's Finished did not verify (decrypt_error)");
    return;
  }
  handshake_bytes_.clear();
  if (!own_rx_->init(own_suite_, own_flight_->client_app_secret,
                     sizeof(own_flight_->client_app_secret), 0, false)) {
    fail(Failure::kProtocol, openssl_error_text("deriving the client's application key"));
    return;
  }
  own_flight_.reset();
  state_ = State::kEstablished;
}

size_t Session::own_key_update(std::span<uint8_t> out) {
  static constexpr uint8_t kKeyUpdate[5] = {SSL3_MT_KEY_UPDATE, 0, 0, 1, 0};    // not requested
  if (out.size() < sizeof(kKeyUpdate) + RecordProtection::kOverhead) return 0;  // still owed
  const size_t n = own_tx_->seal(SSL3_RT_HANDSHAKE, kKeyUpdate, out.data());
  key_update_owed_ = false;
  if (!own_tx_->update()) fail(Failure::kProtocol, "deriving our next key failed");
  return n;
}

size_t Session::max_fragment() const {
  if (SSL_SESSION* sess = SSL_get_session(ssl_.get())) {
    const uint8_t mfl = SSL_SESSION_get_max_fragment_length(sess);
    if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096) {
      return size_t{256} << mfl;
    }
  }
  return SSL3_RT_MAX_PLAIN_LENGTH;
}

IoResult Session::own_receive(std::span<const uint8_t> cipher_in, std::span<uint8_t> plain_out,
                              std::span<uint8_t> cipher_out) {
  using RP = RecordProtection;
  IoResult result;
  // Records flow once established, and after our own handshake's flight (the client's Finished).
  auto open_for_records = [this] {
    return state_ == State::kEstablished ||
           (state_ == State::kHandshaking && own_flight_ != nullptr);
  };
  if (!open_for_records()) return result;
  result.cipher_bytes = own_flush(cipher_out);
  result.plain_bytes = take_held_plaintext(plain_out);
  size_t at = 0;
  // One record at a time; a record that does not fit the plaintext room is opened into held_,
  // and nothing more is taken until it has been handed out.
  while (open_for_records() && held_.empty()) {
    std::span<const uint8_t> record;
    size_t available = cipher_in.size() - at;
    if (rx_partial_.empty() && available >= RP::kHeader) {
      const size_t body = size_t{cipher_in[at + 3]} << 8 | cipher_in[at + 4];
      if (available >= RP::kHeader + body) record = cipher_in.subspan(at, RP::kHeader + body);
    }
    if (record.empty()) {
      // Gather the record: its header first, then as much of the body as has come. A length
      // TLS 1.3 does not allow is refused below on the header alone.
      auto gather = [&](size_t want) {
        const size_t n = std::min(cipher_in.size() - at, want - rx_partial_.size());
        rx_partial_.insert(rx_partial_.end(), cipher_in.begin() + at, cipher_in.begin() + at + n);
        at += n;
        return rx_partial_.size() == want;
      };
      if (available == 0 || (rx_partial_.size() < RP::kHeader && !gather(RP::kHeader))) break;
      const size_t want = RP::kHeader + (size_t{rx_partial_[3]} << 8 | rx_partial_[4]);
      if (want <= RP::kHeader + RP::kMaxCiphertext && !gather(want)) break;
      record = rx_partial_;
    } else {
      at += record.size();
    }
    // After the handshake every record is application_data on the outside (RFC 8446 5). Before
    // the client's Finished of our own handshake: one ChangeCipherSpec (middlebox
    // compatibility, D.4), or a plaintext alert from a client that could not read our flight.
    const size_t body = size_t{record[3]} << 8 | record[4];
    if (own_flight_ != nullptr && record[0] == SSL3_RT_CHANGE_CIPHER_SPEC && body == 1 &&
        record[5] == 1 && !own_change_cipher_spec_seen_) {
      own_change_cipher_spec_seen_ = true;
      rx_partial_.clear();
      continue;
    }
    if (own_flight_ != nullptr && record[0] == SSL3_RT_ALERT && body == 2) {
      const uint8_t alert[2] = {record[5], record[6]};
      rx_partial_.clear();
      on_own_alert(alert, 2);
      if (state_ == State::kClosed) fail(Failure::kProtocol, "the peer closed the handshake");
      continue;
    }
    if (record[0] != SSL3_RT_APPLICATION_DATA) {
      fail(Failure::kProtocol,
           absl::StrCat("TLS protocol error: record type ", static_cast<int>(record[0]),
                        " after the handshake (unexpected_message)"));
      break;
    }
    if (body < RP::kTag + 1 || body > RP::kMaxCiphertext) {
      fail(Failure::kProtocol,
           "TLS protocol error: a record of a length TLS 1.3 does not allow "
           "(record_overflow)");
      break;
    }
    const size_t sealed = body - RP::kTag;
    const size_t room = plain_out.size() - result.plain_bytes;
    uint8_t* into = plain_out.data() + result.plain_bytes;
    if (room < sealed) {
      held_.resize(sealed);
      into = held_.data();
    }
    uint8_t type = 0;
    size_t length = 0;
    const bool opened = own_rx_->open(record, into, &type, &length);
    rx_partial_.clear();
    if (!opened) {
      held_.clear();
      fail(Failure::kProtocol,
           "TLS protocol error: a record did not authenticate (bad_record_mac)");
      break;
    }
    if (type == SSL3_RT_APPLICATION_DATA && own_flight_ != nullptr) {
      held_.clear();
      static constexpr uint8_t kUnexpected[2] = {2, SSL_AD_UNEXPECTED_MESSAGE};
      result.cipher_bytes +=
          own_control(SSL3_RT_ALERT, kUnexpected, cipher_out.subspan(result.cipher_bytes));
      fail(Failure::kProtocol,
           "TLS protocol error: application data before the client's Finished "
           "(unexpected_message)");
      break;
    }
    if (type == SSL3_RT_APPLICATION_DATA) {
      if (into == held_.data()) {
        held_.resize(length);
        result.plain_bytes += take_held_plaintext(plain_out.subspan(result.plain_bytes));
      } else {
        result.plain_bytes += length;
      }
      continue;
    }
    // A control record: its bytes are not the caller's plaintext.
    if (type == SSL3_RT_ALERT) {
      on_own_alert(into, length);
    } else if (type == SSL3_RT_HANDSHAKE) {
      on_own_handshake(into, length, cipher_out, &result.cipher_bytes);
    } else {
      fail(Failure::kProtocol, absl::StrCat("TLS protocol error: inner content type ",
                                            static_cast<int>(type), " (unexpected_message)"));
    }
    held_.clear();  // when it was opened there
  }
  result.cipher_consumed = at;
  return result;
}

IoResult Session::own_send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out) {
  using RP = RecordProtection;
  IoResult result;
  result.cipher_bytes = own_flush(cipher_out);
  if (tx_pending_len_ > 0) return result;  // our control record goes first
  const size_t fragment = max_fragment();
  while (result.plain_bytes < plain_in.size() && state_ == State::kEstablished) {
    // Our KeyUpdate goes before the next data record: asked by the peer, or this key has
    // sealed enough.
    if (own_tx_->sequence() >= records_per_key_) key_update_owed_ = true;
    if (key_update_owed_) {
      const size_t n = own_key_update(cipher_out.subspan(result.cipher_bytes));
      if (n == 0) break;
      result.cipher_bytes += n;
      continue;
    }
    std::span<uint8_t> out = cipher_out.subspan(result.cipher_bytes);
    if (out.size() <= RP::kOverhead) break;
    const size_t chunk =
        std::min({plain_in.size() - result.plain_bytes, fragment, out.size() - RP::kOverhead});
    const size_t n = own_tx_->seal(SSL3_RT_APPLICATION_DATA,
                                   plain_in.subspan(result.plain_bytes, chunk), out.data());
    if (n == 0) {
      fail(Failure::kProtocol, openssl_error_text("sealing a record failed"));
      break;
    }
    result.plain_bytes += chunk;
    result.cipher_bytes += n;
  }
  return result;
}

}  // namespace pamproxy::tls
