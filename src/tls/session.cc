// A TLS connection over caller buffers (see include/pamproxy/tls/session.h): OpenSSL's path.
//
// Owns: the SSL object and its span BIO, OpenSSL's callbacks (SNI, ALPN, tickets, key log),
// the connection's state and failure, and the choice of path for each call. Once pamproxy's own
// handshake or records are in force (src/tls/own_path.h), every call goes to OwnPath instead;
// this file must never seal, open or parse a record itself, nor pass the caller's bytes to
// OpenSSL once OwnPath holds the records.
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
#include "src/tls/kernel_record.h"
#include "src/tls/own_path.h"
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
  const bool own_handshake = options.own_handshake && ctx.leaves() != nullptr;
  if (options.own_records || own_handshake) {
    s->own_ = std::make_unique<OwnPath>(*s, options.own_records, own_handshake);
  }
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
  if (options.own_records) s->own_ = std::make_unique<OwnPath>(*s, true, false);
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
  if (own_ != nullptr) {
    if (own_->try_handshake(cipher_in, plain_out, cipher_out, &result)) {
      // Our handshake answered: OpenSSL will never read or write a byte of this connection,
      // so its SSL (about 7 KiB, made before the ClientHello could be read) goes now.
      ssl_.reset();
      return result;
    }
    if (own_->records()) return own_->receive(cipher_in, plain_out, cipher_out);
  }
  Window w(in_, out_, in_used_, out_used_, cipher_in, cipher_out);
  if (state_ == State::kHandshaking) drive_handshake();
  while (state_ == State::kEstablished && !want_write_) {
    if (own_ != nullptr && own_->take_over()) break;
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
  if (own_records()) {
    // The rest of the input is already ours to open.
    IoResult more = own_->receive(cipher_in.subspan(result.cipher_consumed),
                                  plain_out.subspan(result.plain_bytes),
                                  cipher_out.subspan(result.cipher_bytes));
    result.cipher_consumed += more.cipher_consumed;
    result.plain_bytes += more.plain_bytes;
    result.cipher_bytes += more.cipher_bytes;
  }
  return result;
}

IoResult Session::send(std::span<const uint8_t> plain_in, std::span<uint8_t> cipher_out) {
  IoResult result;
  if (state_ != State::kEstablished) return result;
  if (own_ != nullptr && own_->take_over()) return own_->send(plain_in, cipher_out);
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
  if (own_records()) return own_->flush(cipher_out);
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
  if (own_records()) return own_->shutdown(cipher_out);
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

bool Session::own_records() const {
  return own_ != nullptr && own_->records();
}

bool Session::own_handshake() const {
  return own_ != nullptr && own_->handshake();
}

bool Session::has_pending_output() const {
  return want_write_ || (own_ != nullptr && own_->has_pending_output());
}

bool Session::has_buffered_plaintext() const {
  if (own_records()) return own_->has_buffered_plaintext();
  return SSL_pending(ssl_.get()) > 0;
}

bool Session::has_unread_input() const {
  if (own_records()) return own_->has_unread_input();
  return SSL_has_pending(ssl_.get()) == 1;
}

std::string_view Session::sni() const {
  return sni_;
}

std::string_view Session::alpn() const {
  if (own_handshake()) return own_->alpn();
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return data == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(data), len);
}

bool Session::release_buffers() {
  if (own_records()) return own_->release_buffers();
  return SSL_free_buffers(ssl_.get()) == 1;
}

bool Session::resumed() const {
  if (own_handshake()) return false;  // no tickets are issued on that path
  return SSL_session_reused(ssl_.get()) == 1;
}

std::string_view Session::version_name() const {
  if (own_handshake()) return "TLSv1.3";
  return SSL_get_version(ssl_.get());
}

std::string_view Session::cipher_name() const {
  if (own_handshake()) return own_->cipher_name();
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name != nullptr ? name : "";
}

absl::StatusOr<TrafficKeys> Session::traffic_keys(Direction direction) const {
  if (state_ != State::kEstablished) {
    return absl::FailedPreconditionError("the handshake is not complete");
  }
  if (own_handshake()) return own_->traffic_keys(direction);
  if (secrets_ == nullptr) {
    return absl::FailedPreconditionError("secrets were not captured (capture_secrets off)");
  }
  if (own_records()) {
    return absl::FailedPreconditionError("the records are sealed by pamproxy (own_records)");
  }
  bool local_writes = direction == Direction::kTransmit;
  // The server transmits with the server secret; the client with the client secret.
  bool server_secret = local_writes == server_;
  absl::StatusOr<TrafficKeys> keys = secrets_->derive(ssl_.get(), server_secret, local_writes);
  if (keys.ok() && local_writes) keys->sequence += static_cast<uint64_t>(count_skew_);
  return keys;
}

bool Session::transmit_keys_proven(const TrafficKeys& keys) {
  // The kernel seals the next record under `keys`, whose record number was counted from
  // OpenSSL's message callbacks (secrets.h), an order no OpenSSL document promises: a count one
  // short would have the kernel seal under a nonce OpenSSL already put on the wire. So OpenSSL
  // seals one probe record (one byte of application data) into a scratch buffer that goes
  // nowhere, and the same byte is sealed from `keys` as the kernel would seal it
  // (kernel_record.h): the same bytes prove key, IV and number. A TLS 1.2 AES-GCM record carries
  // its explicit nonce, the sender's choice (OpenSSL starts at a random value, the kernel at the
  // record number): ours takes OpenSSL's, and the number is proven by the additional data.
  // The probe is never sent, so the peer never sees its number twice (the kernel seals the next
  // real record under it). Once OpenSSL has sealed it, OpenSSL is a record ahead of the peer:
  // whatever the outcome, this session must send nothing more, and a failed proof fails it.
  // Our own handshake has no OpenSSL record layer: its record layer counts what it seals itself.
  if (own_handshake()) return true;
  static constexpr uint8_t kProbe[1] = {0};
  uint8_t ours[kRecordOverheadMax + sizeof(kProbe)];
  uint8_t theirs[2 * sizeof(ours)] = {};  // room to see that OpenSSL wrote something else
  ScopedCleanse wipe_ours(ours, sizeof(ours));
  ScopedCleanse wipe_theirs(theirs, sizeof(theirs));
  const size_t size = kernel_record_size(keys, sizeof(kProbe));
  bool same = false;
  // Nothing of OpenSSL's may be waiting to go out ahead of the probe.
  if (state_ == State::kEstablished && !own_records() && pending_write_len_ == 0 && !want_write_ &&
      size != 0 && size <= sizeof(ours)) {
    size_t written = 0;
    {
      Window w(in_, out_, in_used_, out_used_, {}, theirs);
      size_t taken = 0;
      if (SSL_write_ex(ssl_.get(), kProbe, sizeof(kProbe), &taken) == 1) written = out_used_;
      out_used_ = 0;
    }
    uint64_t explicit_nonce = 0;
    for (size_t i = 5; i < 13; ++i) explicit_nonce = explicit_nonce << 8 | theirs[i];
    same =
        written == size &&
        seal_kernel_record(keys, SSL3_RT_APPLICATION_DATA, kProbe, explicit_nonce, ours) == size &&
        CRYPTO_memcmp(theirs, ours, size) == 0;
  }
  if (!same) {
    fail(Failure::kProtocol, absl::StrCat("TLS: the record number counted for the kernel (",
                                          keys.sequence, ") was not OpenSSL's"));
  }
  return same;
}

size_t Session::max_fragment() const {
  // Our handshake refuses max_fragment_length (OpenSSL answers such a ClientHello).
  if (ssl_ == nullptr) return SSL3_RT_MAX_PLAIN_LENGTH;
  if (SSL_SESSION* sess = SSL_get_session(ssl_.get())) {
    const uint8_t mfl = SSL_SESSION_get_max_fragment_length(sess);
    if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096) {
      return size_t{256} << mfl;
    }
  }
  return SSL3_RT_MAX_PLAIN_LENGTH;
}

}  // namespace pamproxy::tls
