#include "https_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "pamproxy/http/body.h"
#include "pamproxy/http/response_parser.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::cli {
namespace {

// The answer's head and framing may add this much to the body before the reading stops (chunk
// lines, trailers): every byte read is bounded, not just the payload.
constexpr size_t kFramingBytesMax = size_t{1} << 20;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string origin_of(const AdminUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return "https://" + host + ":" + std::to_string(url.port);
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS;
}

// Connects to one address, waiting at most timeout_ms; then the socket is blocking with
// read and write timeouts of timeout_ms.
int connect_one(const addrinfo* ai, int timeout_ms, int* err) {
  Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
  if (fd.get() < 0) {
    *err = errno;
    return -1;
  }
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *err = errno;
      return -1;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int n;
    do {
      n = ::poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
      *err = ETIMEDOUT;
      return -1;
    }
    socklen_t len = sizeof *err;
    if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, err, &len) != 0 || *err != 0) {
      if (n < 0) *err = errno;
      return -1;
    }
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd.release();
}

absl::StatusOr<Fd> connect_tcp(const AdminUrl& url, int timeout_ms, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &list);
  if (rc != 0) {
    return absl::UnavailableError("cannot resolve " + url.host + " (" + where +
                                  "): " + ::gai_strerror(rc));
  }
  int err = 0;
  int fd = -1;
  for (const addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = connect_one(ai, timeout_ms, &err);
  }
  ::freeaddrinfo(list);
  if (fd < 0) {
    std::string why = err == ETIMEDOUT
                          ? "timed out after " + std::to_string(timeout_ms / 1000) + " s"
                          : std::strerror(err);
    return absl::UnavailableError("cannot connect to " + where + ": " + why);
  }
  return Fd(fd);
}

// The text of a failed SSL_connect: a verification failure says what to do about it.
std::string handshake_error(SSL* ssl, int ret, const std::string& where, const AdminUrl& url) {
  long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    ERR_clear_error();
    return "cannot verify " + where + ": the certificate does not name " + url.host +
           " (hostname mismatch); use a URL with a name or address the certificate carries";
  }
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return "cannot verify " + where + ": certificate verify failed (" +
           X509_verify_cert_error_string(verify) + "); pass --ca or set PAMCTL_CA";
  }
  int e = SSL_get_error(ssl, ret);
  if (e == SSL_ERROR_SYSCALL && would_block(errno)) {
    ERR_clear_error();
    return "TLS handshake with " + where + " timed out";
  }
  return tls::openssl_error_text("TLS handshake with " + where + " failed");
}

class TlsStream {
 public:
  TlsStream(SSL* ssl, std::string where) : ssl_(ssl), where_(std::move(where)) {}

  absl::Status write_all(std::string_view data) {
    while (!data.empty()) {
      int n =
          SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
      if (n <= 0) return io_error(n, "cannot send the request to ");
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Appends what arrives to `buf`; false at the end of the stream (clean_eof() says how).
  absl::StatusOr<bool> read_some(std::string& buf) {
    char chunk[16384];
    int n = SSL_read(ssl_, chunk, sizeof chunk);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      return true;
    }
    int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_ZERO_RETURN) {
      clean_eof_ = true;
      return false;
    }
    if (e == SSL_ERROR_SSL &&
        ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return false;
    }
    return io_error(n, "cannot read the answer from ");
  }
  bool clean_eof() const { return clean_eof_; }

 private:
  absl::Status io_error(int ret, const char* what) {
    int e = SSL_get_error(ssl_, ret);
    if (e == SSL_ERROR_SYSCALL && would_block(errno)) {
      ERR_clear_error();
      return absl::DeadlineExceededError(std::string(what) + where_ + ": timed out");
    }
    if (e == SSL_ERROR_SYSCALL && errno != 0) {
      ERR_clear_error();
      return absl::UnavailableError(std::string(what) + where_ + ": " + std::strerror(errno));
    }
    return absl::UnavailableError(tls::openssl_error_text(std::string(what) + where_));
  }

  SSL* ssl_;
  std::string where_;
  bool clean_eof_ = false;
};

http::Method method_of(std::string_view m) {
  if (m == "GET") return http::Method::kGet;
  if (m == "POST") return http::Method::kPost;
  if (m == "PUT") return http::Method::kPut;
  if (m == "PATCH") return http::Method::kPatch;
  if (m == "DELETE") return http::Method::kDelete;
  if (m == "HEAD") return http::Method::kHead;
  return http::Method::kOther;
}

absl::StatusOr<HttpsResponse> read_response(TlsStream& stream, http::Method method,
                                            const HttpsOptions& options, const std::string& where) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError("bad answer from " + where + ": " + std::string(why));
  };
  const http::Limits limits;
  std::string buf;
  http::ResponseParser parser(limits);
  parser.reset(method);
  for (;;) {
    http::ParseStatus st = parser.parse(buf);
    if (st == http::ParseStatus::kDone && parser.head().interim()) {
      buf.erase(0, parser.head_bytes());
      parser.reset(method);
      continue;
    }
    if (st == http::ParseStatus::kDone) break;
    if (st == http::ParseStatus::kError) return bad(http::error_message(parser.error()));
    auto more = stream.read_some(buf);
    if (!more.ok()) return more.status();
    if (!*more) return bad("the connection closed before the answer was complete");
  }
  const http::ResponseHead& head = parser.head();
  HttpsResponse r;
  r.status = head.status();
  r.reason = std::string(head.reason());
  if (auto ct = head.find("Content-Type")) r.content_type = std::string(*ct);
  if (head.body_kind() == http::BodyKind::kContentLength &&
      head.content_length() > options.response_bytes_max) {
    return bad("the body is larger than " + std::to_string(options.response_bytes_max) + " bytes");
  }
  const http::BodyKind kind = head.body_kind();
  http::BodyDecoder body(limits);
  body.reset(kind, head.content_length());
  size_t pos = parser.head_bytes();
  size_t received = buf.size();
  while (!body.done()) {
    http::BodyStep s = body.next(std::string_view(buf).substr(pos));
    switch (s.kind) {
      case http::BodyStep::kData:
        r.body.append(buf, pos, s.bytes);
        if (r.body.size() > options.response_bytes_max) {
          return bad("the body is larger than " + std::to_string(options.response_bytes_max) +
                     " bytes");
        }
        [[fallthrough]];
      case http::BodyStep::kFraming:
      case http::BodyStep::kDone: pos += s.bytes; break;
      case http::BodyStep::kError: return bad(http::error_message(body.error()));
      case http::BodyStep::kNeedMore: {
        if (pos == buf.size()) {
          buf.clear();
          pos = 0;
        }
        size_t before = buf.size();
        auto more = stream.read_some(buf);
        if (!more.ok()) return more.status();
        received += buf.size() - before;
        if (received > options.response_bytes_max + kFramingBytesMax) {
          return bad("the answer is larger than " + std::to_string(options.response_bytes_max) +
                     " bytes");
        }
        if (*more) break;
        // An answer that ends with the connection must end with TLS close_notify: a cut
        // connection would otherwise pass for a complete (shorter) answer.
        if (body.finish_at_eof() != http::Error::kNone ||
            (kind == http::BodyKind::kUntilClose && !stream.clean_eof())) {
          return bad("the connection closed before the answer was complete");
        }
        return r;
      }
    }
  }
  return r;
}

}  // namespace

std::string https_request_bytes(const AdminUrl& url, const HttpsRequest& request) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 443) host += ":" + std::to_string(url.port);
  std::string out = request.method + " " + url.prefix + request.path + " HTTP/1.1\r\n";
  out += "Host: " + host + "\r\n";
  out += "User-Agent: pamctl/" PAMPROXY_VERSION "\r\n";
  out += "Accept: application/json\r\n";
  out += "Connection: close\r\n";
  if (request.bearer != nullptr) {
    out += "Authorization: Bearer " + request.bearer->id + ":" + request.bearer->secret + "\r\n";
  }
  if (request.body) {
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(request.body->size()) + "\r\n\r\n";
    out += *request.body;
  } else if (request.method != "GET" && request.method != "HEAD") {
    // A change without a body still states its length (the API answers 411 otherwise).
    out += "Content-Length: 0\r\n\r\n";
  } else {
    out += "\r\n";
  }
  return out;
}

absl::StatusOr<HttpsResponse> https_call(const AdminUrl& url, const HttpsOptions& options,
                                         const HttpsRequest& request) {
  // A server that closes early must not kill pamctl with SIGPIPE mid-write.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string where = origin_of(url);
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return absl::InternalError(tls::openssl_error_text("cannot create a TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (options.verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
        return absl::InvalidArgumentError(
            tls::openssl_error_text("cannot load the CA file " + options.ca_file));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return absl::InternalError(tls::openssl_error_text("cannot load the system trust store"));
    }
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }

  auto fd = connect_tcp(url, options.timeout_ms, where);
  if (!fd.ok()) return fd.status();
  tls::SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd->get()) != 1) {
    return absl::InternalError(tls::openssl_error_text("cannot create a TLS connection"));
  }
  if (tls::is_ip_literal(url.host)) {
    // No SNI for an address (RFC 6066); the certificate must carry it as an IP SAN.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), url.host.c_str());
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl.get(), url.host.c_str());
  }
  int ret = SSL_connect(ssl.get());
  if (ret != 1) return absl::UnavailableError(handshake_error(ssl.get(), ret, where, url));

  TlsStream stream(ssl.get(), where);
  if (auto s = stream.write_all(https_request_bytes(url, request)); !s.ok()) return s;
  return read_response(stream, method_of(request.method), options, where);
}

}  // namespace pamproxy::cli
