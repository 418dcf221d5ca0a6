// The shipper's TLS connection to the collector (see ship_connection.h).

#include "pamproxy/audit/ship_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace pamproxy::audit {
namespace {

using Clock = std::chrono::steady_clock;

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

bool past(Clock::time_point deadline) {
  return Clock::now() >= deadline;
}

// Non-blocking connect bounded by the deadline; the socket is left blocking, with send and
// receive timeouts of one slice.
absl::StatusOr<int> connect_tcp(const std::string& host, uint16_t port, Clock::time_point deadline,
                                const std::atomic<bool>& stop) {
  addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) continue;
    int rc = ::connect(s, ai->ai_addr, ai->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    while (err == EINPROGRESS && !stop.load() && !past(deadline)) {
      pollfd p = {s, POLLOUT, 0};
      if (::poll(&p, 1, ShipConnection::kSliceMs) > 0) {
        socklen_t len = sizeof err;
        ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err != 0) {
      last_error = err == EINPROGRESS ? "connect timed out" : std::strerror(err);
      ::close(s);
      continue;
    }
    fd = s;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot connect: ", last_error));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv = {0, ShipConnection::kSliceMs * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ShipTlsContext>> ShipTlsContext::create(
    const ShipTlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return absl::InternalError(openssl_error());
  std::shared_ptr<ShipTlsContext> out(new ShipTlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load CA file ", options.ca_file, ": ", openssl_error()));
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load certificate ", options.cert_file, ": ", openssl_error()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load key ", options.key_file, ": ", openssl_error()));
    }
  }
  return out;
}

ShipTlsContext::~ShipTlsContext() {
  SSL_CTX_free(ctx_);
}

bool split_host_port(std::string_view address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = address.substr(0, colon);
  std::string_view p = address.substr(colon + 1);
  if (h.starts_with('[')) {
    if (!h.ends_with(']') || h.size() < 3) return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs brackets
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) {
    return false;
  }
  for (char c : h) {
    if (c <= ' ' || c == 0x7f || c == '/') return false;
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return true;
}

absl::StatusOr<std::unique_ptr<ShipConnection>> ShipConnection::open(
    std::shared_ptr<ShipTlsContext> tls, const std::string& host, uint16_t port, int io_timeout_ms,
    const std::atomic<bool>& stop) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(io_timeout_ms);
  auto fd = connect_tcp(host, port, deadline, stop);
  if (!fd.ok()) return fd.status();
  SSL* ssl = SSL_new(tls->get());
  if (ssl == nullptr) {
    ::close(*fd);
    return absl::InternalError(openssl_error());
  }
  std::unique_ptr<ShipConnection> conn(new ShipConnection(std::move(tls), *fd, ssl));
  if (is_ip_literal(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  SSL_set_fd(ssl, *fd);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) break;
    int err = SSL_get_error(ssl, rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && !stop.load() &&
        !past(deadline)) {
      continue;  // a slice passed without progress
    }
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return absl::UnavailableError(absl::StrCat("collector certificate not trusted: ",
                                                 X509_verify_cert_error_string(verify)));
    }
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      return absl::UnavailableError("TLS handshake timed out");
    }
    return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", openssl_error()));
  }
  return conn;
}

ShipConnection::~ShipConnection() {
  SSL_free(ssl_);
  ::close(fd_);
}

absl::Status ShipConnection::send(std::string_view bytes, int io_timeout_ms,
                                  const std::atomic<bool>& stop) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(io_timeout_ms);
  while (!bytes.empty()) {
    ERR_clear_error();
    const int chunk = static_cast<int>(std::min<size_t>(bytes.size(), 1 << 30));
    int n = SSL_write(ssl_, bytes.data(), chunk);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ) {
      std::string why =
          err == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno) : openssl_error();
      return absl::UnavailableError(absl::StrCat("send failed: ", why));
    }
    if (stop.load()) return absl::CancelledError("stopping");
    if (past(deadline)) return absl::DeadlineExceededError("send timed out: collector too slow");
  }
  return wait_acknowledged(io_timeout_ms, stop);
}

absl::Status ShipConnection::wait_acknowledged(int io_timeout_ms, const std::atomic<bool>& stop) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(io_timeout_ms);
  auto sleep = std::chrono::microseconds(50);
  for (;;) {
    tcp_info info = {};
    socklen_t len = sizeof info;
    if (::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
      return absl::UnavailableError(absl::StrCat("TCP_INFO: ", std::strerror(errno)));
    }
    // A reset empties the send queue too: only an established connection counts.
    if (info.tcpi_state != TCP_ESTABLISHED) {
      return absl::UnavailableError("the collector closed the connection");
    }
    int unacked = 0;
    if (::ioctl(fd_, SIOCOUTQ, &unacked) != 0) {
      return absl::UnavailableError(absl::StrCat("SIOCOUTQ: ", std::strerror(errno)));
    }
    if (unacked == 0) return absl::OkStatus();
    if (stop.load()) return absl::CancelledError("stopping");
    if (past(deadline)) {
      return absl::DeadlineExceededError("the collector did not acknowledge in time");
    }
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, std::chrono::microseconds(kSliceMs * 100));
  }
}

bool ShipConnection::peer_closed() {
  pollfd p = {fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return true;
  // Readable without a close: TLS records of the collector's (session tickets). Read them; a
  // read that would wait one slice means nothing else is there.
  char buf[512];
  ERR_clear_error();
  int n = SSL_read(ssl_, buf, sizeof buf);
  if (n > 0) return false;
  int err = SSL_get_error(ssl_, n);
  return err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
}

}  // namespace pamproxy::audit
