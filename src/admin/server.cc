// The admin API's HTTPS server (see include/pamproxy/admin/server.h).

#include "pamproxy/admin/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/thread_name.h"
#include "pamproxy/http/request_parser.h"
#include "pamproxy/tls/session.h"
#include "src/admin/work_queue.h"

namespace pamproxy::admin {
namespace {

constexpr size_t kIoBytes = 16384;
// After an answer that closes the connection (an error before the body was read), the rest of
// what the client is still sending is read and dropped for a moment, so that it reads the answer
// rather than a reset (a lingering close).
constexpr int64_t kLingerMs = 2000;
constexpr size_t kLingerBytesMax = 1 << 20;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string serialize(const ApiResponse& r, bool head_only, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason_phrase(r.status);
  out += "\r\n";
  if (r.status != 304) {  // a 304 has no body and describes the one the client already holds
    out += "Content-Type: " + r.content_type;
    out += "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  out += "Cache-Control: " + r.cache_control + "\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

struct Connection {
  uint64_t id = 0;  // names it to a deferred answer, which may outlive it
  int fd = -1;
  net::IpAddress peer;
  std::unique_ptr<tls::Session> tls;
  std::string plain;  // decrypted request bytes not answered yet
  std::string out;    // ciphertext waiting for the socket
  http::RequestParser parser;
  int64_t deadline_ms = 0;
  bool in_request = false;     // bytes of a request have arrived since the last answer
  bool sent_continue = false;  // "100 Continue" sent for the current request
  bool closing = false;        // close once `out` has left
  bool lingering = false;      // answered and shut down for writing: dropping what still comes
  size_t lingered = 0;
  bool waiting = false;        // its request's answer is deferred: nothing more is read or parsed
  bool dead = false;           // close now

  explicit Connection(const http::Limits& limits) : parser(limits) {}
};

// A request whose answer is being worked out on the worker (ApiResponse::deferred): what the
// answer needs once the work is done, which outlives the connection if it goes first.
struct Pending {
  uint64_t tag = 0;
  uint64_t connection_id = 0;
  std::shared_ptr<Deferred> deferred;
  std::string method;
  std::string path;
  bool head_only = false;
  bool close = false;
  size_t whole = 0;  // the request's bytes at the front of the connection's `plain`
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const tls::ServerContext& tls;
  Handler handler;
  http::Limits limits;
  int listen_fd = -1;
  int wake_fd = -1;
  std::thread thread;
  bool stopped = false;
  std::vector<std::unique_ptr<Connection>> connections;
  uint64_t next_connection_id = 1;
  // Deferred answers (at most the queue's threads + queued_max) and the worker that runs them.
  WorkQueue work;
  std::vector<Pending> pending;
  uint64_t next_tag = 1;
  std::vector<uint64_t> done_tags;
  // set_limits() from another thread: the values last set, copied into `options` by the server
  // thread at the top of its loop when has_pending says so.
  std::mutex pending_mu;
  ServerOptions configured;  // guarded by pending_mu
  std::atomic<bool> has_pending{false};

  Impl(ServerOptions o, const tls::ServerContext& t, Handler h)
      : options(std::move(o)),
        tls(t),
        handler(std::move(h)),
        work({.threads = options.work_threads, .queued_max = options.work_queued_max}),
        configured(options) {
    limits.head_bytes_max = static_cast<uint32_t>(options.head_bytes_max);
    limits.header_count_max = 64;
    limits.header_value_bytes_max = 8192;
  }

  ~Impl() {
    close_all();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  // Stopped: nothing is accepted any more and every connection is closed.
  void close_all() {
    for (auto& c : connections) ::close(c->fd);
    connections.clear();
    if (listen_fd >= 0) ::close(listen_fd);
    listen_fd = -1;
  }

  void run() {
    serve();
    close_all();
  }

  void serve() {
    std::vector<pollfd> fds;
    for (;;) {
      if (has_pending.load(std::memory_order_acquire)) take_pending();
      fds.clear();
      fds.push_back({wake_fd, POLLIN, 0});
      const bool accepting = connections.size() < options.connections_max;
      fds.push_back({accepting ? listen_fd : -1, POLLIN, 0});
      fds.push_back({work.done_fd(), POLLIN, 0});
      int64_t next_deadline = INT64_MAX;
      for (auto& c : connections) {
        // A connection waiting for its deferred answer is not read: the next request (or the
        // client's close) waits in the kernel until the answer is out.
        short events = c->waiting ? 0 : POLLIN;
        if (!c->out.empty()) events |= POLLOUT;
        fds.push_back({c->fd, events, 0});
        next_deadline = std::min(next_deadline, c->deadline_ms);
      }
      int timeout = -1;
      if (next_deadline != INT64_MAX) {
        timeout = static_cast<int>(std::clamp<int64_t>(next_deadline - now_ms() + 1, 0, 60000));
      }
      int n = ::poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) {
        log::error("admin.poll_failed").kv("error", std::strerror(errno));
        return;
      }
      if (fds[0].revents & POLLIN) return;  // stop()
      if (fds[1].revents & POLLIN) accept_all();
      if (fds[2].revents & POLLIN) finish_deferred();
      const int64_t now = now_ms();
      for (size_t i = kFixedFds; i < fds.size(); ++i) {
        Connection& c = *connections[i - kFixedFds];
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) on_readable(c);
        if (!c.dead && !c.out.empty()) write_out(c);
        if (!c.dead && c.closing && c.out.empty() && !c.lingering) {
          ::shutdown(c.fd, SHUT_WR);
          c.lingering = true;
          c.deadline_ms = now_ms() + kLingerMs;
        }
        if (!c.dead && now >= c.deadline_ms) {
          log::debug("admin.timeout").kv("client", c.peer.to_string());
          c.dead = true;
        }
      }
      std::erase_if(connections, [](const std::unique_ptr<Connection>& c) {
        if (c->dead) ::close(c->fd);
        return c->dead;
      });
    }
  }

  // The stop eventfd, the listener and the worker's eventfd come before the connections.
  static constexpr size_t kFixedFds = 3;

  void take_pending() {
    std::lock_guard<std::mutex> lock(pending_mu);
    options = configured;
    has_pending.store(false, std::memory_order_relaxed);
  }

  void accept_all() {
    while (connections.size() < options.connections_max) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away before we took it
      auto session = tls::Session::server(tls);
      if (!session.ok()) {
        log::error("admin.tls_session_failed").kv("error", std::string(session.status().message()));
        ::close(fd);
        return;
      }
      auto c = std::make_unique<Connection>(limits);
      c->id = next_connection_id++;
      c->fd = fd;
      c->peer = net::IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
      c->tls = std::move(*session);
      c->deadline_ms = now_ms() + options.handshake_timeout_ms;
      connections.push_back(std::move(c));
    }
  }

  void on_readable(Connection& c) {
    uint8_t buf[kIoBytes];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
        return;
      }
      if (n == 0) {
        c.dead = true;  // the client is gone (or half-closed: nothing more will arrive)
        return;
      }
      if (c.lingering || c.closing) {
        c.lingered += static_cast<size_t>(n);
        if (c.lingered > kLingerBytesMax) c.dead = true;
        if (c.dead) return;
        continue;
      }
      if (!decrypt(c, std::span<const uint8_t>(buf, static_cast<size_t>(n)))) {
        c.dead = c.out.empty();
        c.closing = true;
        return;
      }
      serve(c);
      if (c.dead || c.closing || c.waiting) return;
    }
  }

  // Feeds ciphertext to the TLS session: plaintext goes to c.plain, handshake and alerts to
  // c.out. False when the session failed or closed.
  bool decrypt(Connection& c, std::span<const uint8_t> in) {
    const bool was_handshaking = c.tls->state() == tls::State::kHandshaking;
    uint8_t plain[kIoBytes];
    uint8_t cipher[kIoBytes];
    size_t off = 0;
    while (off < in.size() || c.tls->has_buffered_plaintext()) {
      tls::IoResult r = c.tls->receive(in.subspan(off), plain, cipher);
      off += r.cipher_consumed;
      c.out.append(reinterpret_cast<char*>(cipher), r.cipher_bytes);
      c.plain.append(reinterpret_cast<char*>(plain), r.plain_bytes);
      while (c.tls->has_pending_output()) {
        size_t k = c.tls->flush(cipher);
        if (k == 0) break;
        c.out.append(reinterpret_cast<char*>(cipher), k);
      }
      if (c.tls->state() == tls::State::kError || c.tls->state() == tls::State::kClosed) {
        if (c.tls->state() == tls::State::kError) {
          log::debug("admin.tls_failed")
              .kv("client", c.peer.to_string())
              .kv("failure", tls::failure_name(c.tls->failure()))
              .kv("detail", c.tls->failure_detail());
        }
        return false;
      }
      if (r.cipher_consumed == 0 && r.plain_bytes == 0 && r.cipher_bytes == 0) break;
    }
    if (was_handshaking && c.tls->state() == tls::State::kEstablished) {
      c.deadline_ms = now_ms() + options.idle_timeout_ms;
    }
    return true;
  }

  // Answers every whole request in c.plain (one at a time: the next waits until the answer is
  // encrypted).
  void serve(Connection& c) {
    while (!c.plain.empty() && !c.closing && !c.waiting) {
      if (!c.in_request) {
        c.in_request = true;
        c.deadline_ms = now_ms() + options.request_timeout_ms;
      }
      http::ParseStatus st = c.parser.parse(c.plain);
      if (st == http::ParseStatus::kIncomplete) return;
      if (st == http::ParseStatus::kError) {
        int status = http::error_status_code(c.parser.error());
        answer(c, {status, "application/json",
                   error_json("BadRequest", std::string("malformed request: ") +
                                                std::string(http::error_name(c.parser.error())))},
               false, true);
        return;
      }
      const http::RequestHead& head = c.parser.head();
      if (head.target_form() != http::TargetForm::kOrigin) {
        answer(c, {400, "application/json",
                   error_json("BadRequest", "the request target must be a path (/api/v1/...)")},
               false, true);
        return;
      }
      uint64_t body_bytes = 0;
      if (head.body_kind() == http::BodyKind::kChunked) {
        answer(c, {411, "application/json",
                   error_json("LengthRequired", "send the body with Content-Length")},
               false, true);
        return;
      }
      if (head.body_kind() == http::BodyKind::kContentLength) body_bytes = head.content_length();
      if (body_bytes > options.body_bytes_max) {
        answer(c, {413, "application/json",
                   error_json("PayloadTooLarge",
                              absl::StrCat("the body is larger than [admin] body_bytes_max (",
                                           options.body_bytes_max, " bytes)"))},
               false, true);
        return;
      }
      const size_t whole = c.parser.head_bytes() + body_bytes;
      if (c.plain.size() < whole) {
        if (head.expect_continue() && !c.sent_continue) {
          c.sent_continue = true;
          encrypt(c, "HTTP/1.1 100 Continue\r\n\r\n");
        }
        // The head's views point into c.plain, which may move as the body arrives: parse the
        // head again (a few hundred bytes) once the whole request is here.
        c.parser.reset();
        return;
      }
      ApiRequest request{
          .method = head.method_text(),
          .target = head.target(),
          .authorization = head.find("Authorization").value_or(""),
          .body = std::string_view(c.plain).substr(c.parser.head_bytes(), body_bytes),
          .client = c.peer,
          .cookie = head.find("Cookie").value_or(""),
          .host = head.find("Host").value_or(""),
          .origin = head.find("Origin").value_or(""),
          .csrf = head.find("X-Pamproxy-CSRF").value_or(""),
          .if_none_match = head.find("If-None-Match").value_or(""),
          .may_defer = true,
      };
      ApiResponse response = handler(request);
      std::string_view target = head.target();
      const std::string_view path = target.substr(0, target.find('?'));
      const bool head_only = head.method() == http::Method::kHead;
      const bool close = !head.keep_alive();
      if (response.deferred) {
        if (defer(c, std::move(response.deferred), head.method_text(), path, head_only, close,
                  whole)) {
          return;  // answered by finish_deferred(); the connection reads nothing until then
        }
        response = ApiResponse{
            503, "application/json",
            error_json("Unavailable",
                       "the admin API's calls to outside services are all busy: try again")};
        response.headers.emplace_back("Retry-After", "1");
      }
      log_request(c.peer, head.method_text(), path, response.status);
      c.plain.erase(0, whole);
      c.parser.reset();
      c.in_request = false;
      c.sent_continue = false;
      answer(c, response, head_only, close);
    }
  }

  static void log_request(const net::IpAddress& peer, std::string_view method,
                          std::string_view path, int status) {
    log::info("admin.request")
        .kv("client", peer.to_string())
        .kv("method", method)
        .kv("path", path)
        .kv("status", static_cast<int64_t>(status));
  }

  // Hands the deferred work to the worker; false (nothing handed) when its queue is full.
  bool defer(Connection& c, std::shared_ptr<Deferred> deferred, std::string_view method,
             std::string_view path, bool head_only, bool close, size_t whole) {
    const uint64_t tag = next_tag++;
    if (!work.submit(tag, [d = deferred] { d->work(); })) return false;
    pending.push_back(Pending{.tag = tag,
                              .connection_id = c.id,
                              .deferred = std::move(deferred),
                              .method = std::string(method),
                              .path = std::string(path),
                              .head_only = head_only,
                              .close = close,
                              .whole = whole});
    c.waiting = true;
    return true;
  }

  // The worker finished some deferred work: each request is finished here, on the admin thread
  // (its store writes among the others'), and answered on its connection if that is still open
  // (it may have passed its request deadline meanwhile: then the answer is dropped, and what the
  // finish step changed stays changed, as for a client that goes away after sending).
  void finish_deferred() {
    done_tags.clear();
    work.take_done(&done_tags);
    for (uint64_t tag : done_tags) {
      auto p = std::find_if(pending.begin(), pending.end(),
                            [tag](const Pending& x) { return x.tag == tag; });
      PAMPROXY_CHECK(p != pending.end());
      Pending done = std::move(*p);
      pending.erase(p);
      ApiResponse response = done.deferred->finish();
      done.deferred.reset();
      auto c = std::find_if(connections.begin(), connections.end(),
                            [&](const std::unique_ptr<Connection>& x) {
                              return x->id == done.connection_id && !x->dead;
                            });
      if (c == connections.end()) {
        log::debug("admin.answer_dropped").kv("method", done.method).kv("path", done.path);
        continue;
      }
      Connection& conn = **c;
      log_request(conn.peer, done.method, done.path, response.status);
      conn.waiting = false;
      conn.plain.erase(0, done.whole);
      conn.parser.reset();
      conn.in_request = false;
      conn.sent_continue = false;
      answer(conn, response, done.head_only, done.close);
      serve(conn);  // a request the client sent behind this one
    }
  }

  void answer(Connection& c, const ApiResponse& r, bool head_only, bool close) {
    encrypt(c, serialize(r, head_only, close));
    if (close) {
      uint8_t cipher[kIoBytes];
      size_t k = c.tls->shutdown(cipher);
      c.out.append(reinterpret_cast<char*>(cipher), k);
      c.closing = true;
    }
    c.deadline_ms = now_ms() + (c.closing ? options.write_timeout_ms : options.idle_timeout_ms);
  }

  void encrypt(Connection& c, std::string_view text) {
    uint8_t cipher[kIoBytes + tls::Session::kRecordOverheadMax + 64];
    while (!text.empty()) {
      tls::IoResult r = c.tls->send(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
          cipher);
      c.out.append(reinterpret_cast<char*>(cipher), r.cipher_bytes);
      while (c.tls->has_pending_output()) {
        size_t k = c.tls->flush(cipher);
        if (k == 0) break;
        c.out.append(reinterpret_cast<char*>(cipher), k);
      }
      if (r.plain_bytes == 0) {
        c.dead = true;  // the session refused to send (failed or closed)
        return;
      }
      text.remove_prefix(r.plain_bytes);
    }
  }

  void write_out(Connection& c) {
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) c.dead = true;
        return;
      }
      c.out.erase(0, static_cast<size_t>(n));
    }
  }
};

absl::StatusOr<std::unique_ptr<Server>> Server::start(ServerOptions options,
                                                      const tls::ServerContext& tls,
                                                      Handler handler) {
  auto addr = net::SocketAddress::parse(options.listen, /*allow_port_zero=*/true);
  if (!addr) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin.listen ", options.listen, ": expected ip:port"));
  }
  auto impl = std::make_unique<Impl>(std::move(options), tls, std::move(handler));
  sockaddr_storage ss{};
  socklen_t len = addr->to_sockaddr(&ss);
  impl->listen_fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (impl->listen_fd < 0 ||
      ::setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(impl->listen_fd, 128) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin.listen ", impl->options.listen, ": ", std::strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port = ntohs(bound.ss_family == AF_INET6
                            ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  name_thread(impl->thread, "pamproxy-admin");
  return std::unique_ptr<Server>(new Server(std::move(impl), port));
}

Server::Server(std::unique_ptr<Impl> impl, uint16_t port) : impl_(std::move(impl)), port_(port) {}

Server::~Server() { stop(); }

void Server::set_limits(size_t body_bytes_max, int64_t handshake_timeout_ms,
                        int64_t request_timeout_ms, int64_t idle_timeout_ms) {
  std::lock_guard<std::mutex> lock(impl_->pending_mu);
  ServerOptions& next = impl_->configured;  // the server thread only ever reads `options`
  next.body_bytes_max = body_bytes_max;
  next.handshake_timeout_ms = handshake_timeout_ms;
  next.request_timeout_ms = request_timeout_ms;
  next.idle_timeout_ms = idle_timeout_ms;
  impl_->has_pending.store(true, std::memory_order_release);
}

void Server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  uint64_t one = 1;
  ssize_t w = ::write(impl_->wake_fd, &one, sizeof one);
  (void)w;
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace pamproxy::admin
