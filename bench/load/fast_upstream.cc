// pamproxy-fast-upstream: a TLS HTTP/1.1 server built to be cheap, so that a benchmark through
// the proxy measures the proxy. Fixed responses of any size (GET /N answers N bytes; otherwise
// --response-bytes), request bodies read and discarded (Content-Length), keep-alive. epoll,
// one thread per --threads with its own SO_REUSEPORT listener, OpenSSL directly on the socket.
//
//   pamproxy-fast-upstream --listen 127.0.0.1:9443 --ca-out /tmp/up-ca.pem [--threads 1]
//       [--response-bytes 0] [--host localhost] [--log-closes 1]
//
// It makes its own CA in memory and a certificate for --host, and writes the CA to --ca-out
// (what pamproxyd's [tls] upstream_ca_file, or the load generator in direct mode, trusts).
// A response body is 'a'..'z' repeated from its first byte, whatever the writes' sizes, so a
// client can check what came through the proxy (the first N bytes of that stream).
// --log-closes 1 writes one stderr line per connection it closes, with why (the OpenSSL error
// and errno of the failed read or write, or the epoll error/hangup) and how far its response got:
// what a test needs to tell "the upstream gave up" from "the proxy reset it".

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_min.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/openssl.h"

namespace {

using pamproxy::bench::content_length;
using pamproxy::bench::head_length;
using pamproxy::bench::number_in_path;

struct Options {
  std::string listen = "127.0.0.1:9443";
  std::string ca_out;
  std::string host = "localhost";
  int threads = 1;
  int64_t response_bytes = 0;
  bool log_closes = false;
};

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kPatternPeriod = 26;
// kChunk bytes can start at any phase of the alphabet: one period more than a chunk.
const std::vector<char>& body_pattern() {
  static const std::vector<char> p = [] {
    std::vector<char> v(kChunk + kPatternPeriod);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>('a' + i % 26);
    return v;
  }();
  return p;
}

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  bool handshaken = false;
  std::string in;         // request head bytes so far
  int64_t body_left = 0;  // request body still to discard
  std::string head_out;
  size_t head_sent = 0;
  int64_t body_out_left = 0;
  int64_t body_out_sent = 0;  // of this response: where the body pattern resumes
  bool pending = false;  // a request head was read; answer once its body is
  int64_t pending_size = 0;
  bool pending_head_only = false;
  // Why drive() last stopped: the call that failed, SSL_get_error and errno.
  const char* stopped_in = "none";
  int ssl_error = 0;
  int sys_errno = 0;
};

// drive()'s answer once OpenSSL stops: keep the connection while it only waits for the socket.
bool keep_after(Conn* c, const char* call, int ret) {
  int e = SSL_get_error(c->ssl, ret);
  c->stopped_in = call;
  c->ssl_error = e;
  c->sys_errno = errno;
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

// `events`: the epoll events that led to the close (0 when drive() alone decided).
void close_conn(int ep, Conn* c, uint32_t events, bool log) {
  if (log) {
    char ossl[256] = "none";
    if (unsigned long e = ERR_peek_error(); e != 0) ERR_error_string_n(e, ossl, sizeof(ossl));
    std::fprintf(stderr,
                 "pamproxy-fast-upstream: closing fd %d: last %s ssl_error=%d errno=%d (%s) "
                 "epoll_err=%d epoll_hup=%d handshaken=%d response_left=%" PRId64
                 " response_sent=%" PRId64 " openssl=%s\n",
                 c->fd, c->stopped_in, c->ssl_error, c->sys_errno, std::strerror(c->sys_errno),
                 (events & EPOLLERR) != 0, (events & EPOLLHUP) != 0, c->handshaken,
                 c->body_out_left, c->body_out_sent, ossl);
  }
  ERR_clear_error();
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
  SSL_free(c->ssl);
  ::close(c->fd);
  delete c;
}

// Runs the connection until OpenSSL needs the socket; false = close it.
bool drive(Conn* c, int64_t default_response) {
  char buf[64 * 1024];
  for (;;) {
    if (!c->handshaken) {
      int r = SSL_do_handshake(c->ssl);
      if (r == 1) {
        c->handshaken = true;
        continue;
      }
      return keep_after(c, "handshake", r);
    }
    if (c->head_sent < c->head_out.size() || c->body_out_left > 0) {
      const char* src;
      int len;
      if (c->head_sent < c->head_out.size()) {
        // Head and the first body bytes in one record when they fit.
        src = c->head_out.data() + c->head_sent;
        len = static_cast<int>(c->head_out.size() - c->head_sent);
      } else {
        src = body_pattern().data() + c->body_out_sent % kPatternPeriod;
        len = static_cast<int>(std::min<int64_t>(c->body_out_left, kChunk));
      }
      int n = SSL_write(c->ssl, src, len);
      if (n <= 0) return keep_after(c, "write", n);
      if (c->head_sent < c->head_out.size()) {
        c->head_sent += static_cast<size_t>(n);
      } else {
        c->body_out_left -= n;
        c->body_out_sent += n;
      }
      continue;
    }
    int n = SSL_read(c->ssl, buf, sizeof(buf));
    if (n <= 0) return keep_after(c, "read", n);
    std::string_view data(buf, static_cast<size_t>(n));
    // One request at a time (the load generator does not pipeline): a head, its body
    // discarded, then the response.
    while (!data.empty()) {
      if (c->body_left > 0) {
        size_t take = static_cast<size_t>(
            std::min<int64_t>(c->body_left, static_cast<int64_t>(data.size())));
        c->body_left -= static_cast<int64_t>(take);
        data.remove_prefix(take);
      } else {
        size_t before = c->in.size();
        c->in.append(data);
        size_t hl = head_length(c->in);
        if (hl == 0) {
          if (c->in.size() > 65536) {
            c->stopped_in = "read (request head over 64 KiB)";
            return false;
          }
          break;
        }
        data.remove_prefix(hl - before);
        std::string_view head(c->in.data(), hl);
        int64_t cl = content_length(head);
        int64_t want = number_in_path(head);
        c->body_left = cl > 0 ? cl : 0;
        c->pending_size = want >= 0 ? want : default_response;
        c->pending_head_only = head.substr(0, 5) == "HEAD ";
        c->pending = true;
        c->in.clear();
      }
      if (c->pending && c->body_left == 0) {
        c->pending = false;
        c->head_out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(c->pending_size) +
                      "\r\nContent-Type: application/octet-stream\r\n\r\n";
        c->head_sent = 0;
        c->body_out_left = c->pending_head_only ? 0 : c->pending_size;
        c->body_out_sent = 0;
      }
    }
  }
}

void serve(int listen_fd, SSL_CTX* ctx, int64_t default_response, bool log_closes) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        for (;;) {
          int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          auto* c = new Conn();
          c->fd = fd;
          c->ssl = SSL_new(ctx);
          SSL_set_fd(c->ssl, fd);
          SSL_set_accept_state(c->ssl);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
          cev.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
          if (!drive(c, default_response)) close_conn(ep, c, 0, log_closes);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (!drive(c, default_response) || (events[i].events & (EPOLLERR | EPOLLHUP))) {
        close_conn(ep, c, events[i].events, log_closes);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that leaves is an error to count, not a crash
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--listen") o.listen = v;
    else if (k == "--ca-out") o.ca_out = v;
    else if (k == "--host") o.host = v;
    else if (k == "--threads") o.threads = std::atoi(v.c_str());
    else if (k == "--response-bytes") o.response_bytes = std::atoll(v.c_str());
    else if (k == "--log-closes") o.log_closes = v == "1";
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  auto addr = pamproxy::net::SocketAddress::parse(o.listen);
  if (!addr) {
    std::fprintf(stderr, "bad --listen\n");
    return 2;
  }
  auto ca = pamproxy::tls::CertificateAuthority::generate("pamproxy bench upstream CA");
  auto key = pamproxy::tls::generate_p256_key();
  if (!ca.ok() || !key.ok()) return 1;
  auto cert = (*ca)->mint(o.host, key->get(), 2);
  if (!cert.ok()) return 1;
  if (!o.ca_out.empty()) std::ofstream(o.ca_out) << (*ca)->cert_pem();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, cert->get());
  SSL_CTX_use_PrivateKey(ctx, key->get());
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, o.threads); ++t) {
    sockaddr_storage ss{};
    socklen_t len = addr->to_sockaddr(&ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 4096) != 0) {
      std::fprintf(stderr, "bind %s: %s\n", o.listen.c_str(), std::strerror(errno));
      return 1;
    }
    threads.emplace_back(serve, fd, ctx, o.response_bytes, o.log_closes);
  }
  std::fprintf(stderr, "pamproxy-fast-upstream listening on %s\n", o.listen.c_str());
  for (auto& t : threads) t.join();
  return 0;
}
