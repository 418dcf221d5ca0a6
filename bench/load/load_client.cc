// pamproxy-load: a load generator for HTTPS through a CONNECT proxy (or direct). Each thread
// runs an epoll loop over its share of the connections; each connection opens a tunnel
// (CONNECT host:port, then TLS with SNI = host), then sends requests one after another
// (keep-alive) or opens a new tunnel per request, for --seconds after --warmup seconds.
// Reports requests/s, MB/s each way and latency percentiles (request start to last response
// byte; with --new-tunnel the tunnel setup is included).
//
//   pamproxy-load --proxy 127.0.0.1:8081 --target localhost:9443 --ca appliance-ca.pem
//       --connections 32 --threads 1 --seconds 10 --request-bytes 0 --response-bytes 1024
//   pamproxy-load --target 127.0.0.1:9443 --host localhost --ca up-ca.pem ...   (direct)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "pamproxy/sigv4/chunk_signer.h"
#include "pamproxy/sigv4/key_cache.h"
#include "pamproxy/sigv4/signer.h"
#include <chrono>
#include <memory>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "http_min.h"
#include "proc_cpu.h"
#include "pamproxy/base/net_address.h"

namespace {

using pamproxy::bench::content_length;
using pamproxy::bench::head_length;

uint64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

struct Options {
  std::string proxy;   // "" = direct
  std::string target;  // host:port (CONNECT target, or where to connect when direct)
  std::string host;    // SNI/Host; default: the target's host
  std::string ca;
  int connections = 16;
  int threads = 1;
  double seconds = 10;
  double warmup = 1;
  int64_t request_bytes = 0;
  int64_t response_bytes = 0;
  bool new_tunnel = false;
  double rate = 0;  // requests/s over all connections; 0 = as fast as possible
  // "ACCESS_KEY:SECRET": sign the request with SigV4 (S3, us-east-1, UNSIGNED-PAYLOAD) once at
  // start; every request carries that signature (within the proxy's skew window, and from one
  // client address, so not a replay to it). For the zero-trust stage: ACCESS_KEY = TOKENID#REC.
  std::string sign;
  // With --sign and --request-bytes: send the body as signed aws-chunked
  // (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) in chunks of this many bytes, built and signed once at
  // start (the proxy verifies and re-signs every chunk of every request).
  int64_t signed_chunks = 0;
  // The proxy's pid: sample its threads' CPU when counting starts and stops (after the warm-up)
  // and print the CPU per request, for the process and by thread name.
  int cpu_pid = 0;
};

struct Stats {
  uint64_t requests = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latency_us;
};

enum class Phase { kTcp, kConnectReply, kHandshake, kSend, kRecv, kPaused };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::kTcp;
  std::string buf;  // CONNECT reply or response head so far
  size_t sent = 0;
  int64_t body_sent = 0;
  int64_t body_left = -1;  // response body still to read (-1: head not parsed)
  uint64_t start_us = 0;
  uint64_t next_us = 0;  // paced mode: when to send the next request
};

struct Shared {
  Options o;
  sockaddr_storage dial{};
  socklen_t dial_len = 0;
  std::string connect_head;
  std::string request_head;
  std::string request_body;  // signed aws-chunked body ("" = request_bytes of 'x')
  SSL_CTX* ctx = nullptr;
  std::string sni;
  std::atomic<bool> stop{false};
  std::atomic<bool> measuring{false};
};

const char* body_chunk() {
  static std::string chunk(64 * 1024, 'x');
  return chunk.data();
}

class Worker {
 public:
  Worker(Shared& s, int connections) : s_(s), conns_(static_cast<size_t>(connections)) {}

  void run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    double per_conn_rate = s_.o.rate > 0 ? s_.o.rate / s_.o.connections : 0;
    interval_us_ = per_conn_rate > 0 ? static_cast<uint64_t>(1e6 / per_conn_rate) : 0;
    for (auto& c : conns_) open(c);
    epoll_event events[256];
    while (!s_.stop.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep_, events, 256, interval_us_ ? 1 : 100);
      for (int i = 0; i < n; ++i) drive(*static_cast<Conn*>(events[i].data.ptr));
      if (interval_us_) {
        uint64_t now = now_us();
        for (auto& c : conns_) {
          if (c.phase == Phase::kPaused && now >= c.next_us) start_request(c), drive(c);
        }
      }
    }
    for (auto& c : conns_) close(c);
  }

  Stats stats;

 private:
  void open(Conn& c) {
    c = Conn();
    c.fd = socket(s_.dial.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c.start_us = now_us();
    connect(c.fd, reinterpret_cast<sockaddr*>(&s_.dial), s_.dial_len);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.phase = Phase::kTcp;
  }

  void close(Conn& c) {
    if (c.fd < 0) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.ssl) SSL_free(c.ssl);
    ::close(c.fd);
    c.fd = -1;
    c.ssl = nullptr;
  }

  void fail(Conn& c) {
    if (s_.measuring.load(std::memory_order_relaxed)) ++stats.errors;
    close(c);
    if (!s_.stop.load(std::memory_order_relaxed)) open(c);
  }

  void start_tls(Conn& c) {
    c.ssl = SSL_new(s_.ctx);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_tlsext_host_name(c.ssl, s_.sni.c_str());
    SSL_set1_host(c.ssl, s_.sni.c_str());
    SSL_set_connect_state(c.ssl);
    c.phase = Phase::kHandshake;
  }

  void start_request(Conn& c) {
    c.phase = Phase::kSend;
    c.sent = 0;
    c.body_sent = 0;
    c.buf.clear();
    c.body_left = -1;
    if (!s_.o.new_tunnel) c.start_us = now_us();
  }

  void finish_request(Conn& c) {
    if (s_.measuring.load(std::memory_order_relaxed)) {
      ++stats.requests;
      stats.latency_us.push_back(static_cast<uint32_t>(now_us() - c.start_us));
      stats.bytes_up += s_.request_head.size() + static_cast<uint64_t>(s_.o.request_bytes);
      stats.bytes_down += static_cast<uint64_t>(s_.o.response_bytes);
    }
    if (s_.o.new_tunnel) {
      close(c);
      open(c);
      return;
    }
    if (interval_us_) {
      c.next_us = std::max(c.next_us + interval_us_, now_us() - interval_us_);
      c.phase = Phase::kPaused;
      return;
    }
    start_request(c);
  }

  void drive(Conn& c) {
    char buf[64 * 1024];
    for (int guard = 0; guard < 10000; ++guard) {
      switch (c.phase) {
        case Phase::kTcp: {
          int err = 0;
          socklen_t len = sizeof(err);
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) return fail(c);
          if (s_.o.proxy.empty()) {
            start_tls(c);
            continue;
          }
          ssize_t n = send(c.fd, s_.connect_head.data(), s_.connect_head.size(), MSG_NOSIGNAL);
          if (n < 0 && errno == EAGAIN) return;
          if (n != static_cast<ssize_t>(s_.connect_head.size())) return fail(c);
          c.phase = Phase::kConnectReply;
          continue;
        }
        case Phase::kConnectReply: {
          ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
          if (n < 0 && errno == EAGAIN) return;
          if (n <= 0) return fail(c);
          c.buf.append(buf, static_cast<size_t>(n));
          if (head_length(c.buf) == 0) continue;
          if (c.buf.compare(0, 12, "HTTP/1.1 200") != 0) return fail(c);
          c.buf.clear();
          start_tls(c);
          continue;
        }
        case Phase::kHandshake: {
          int r = SSL_do_handshake(c.ssl);
          if (r != 1) {
            int e = SSL_get_error(c.ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            return fail(c);
          }
          if (interval_us_) {
            c.next_us = now_us();
            c.phase = Phase::kPaused;
            return;
          }
          start_request(c);
          continue;
        }
        case Phase::kSend: {
          const char* src;
          int len;
          if (c.sent < s_.request_head.size()) {
            src = s_.request_head.data() + c.sent;
            len = static_cast<int>(s_.request_head.size() - c.sent);
          } else if (!s_.request_body.empty() &&
                     c.body_sent < static_cast<int64_t>(s_.request_body.size())) {
            src = s_.request_body.data() + c.body_sent;
            len = static_cast<int>(std::min<int64_t>(
                static_cast<int64_t>(s_.request_body.size()) - c.body_sent, 65536));
          } else if (s_.request_body.empty() && c.body_sent < s_.o.request_bytes) {
            src = body_chunk();
            len = static_cast<int>(std::min<int64_t>(s_.o.request_bytes - c.body_sent, 65536));
          } else {
            c.phase = Phase::kRecv;
            continue;
          }
          int n = SSL_write(c.ssl, src, len);
          if (n <= 0) {
            int e = SSL_get_error(c.ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            return fail(c);
          }
          if (c.sent < s_.request_head.size()) {
            c.sent += static_cast<size_t>(n);
          } else {
            c.body_sent += n;
          }
          continue;
        }
        case Phase::kRecv: {
          int n = SSL_read(c.ssl, buf, sizeof(buf));
          if (n <= 0) {
            int e = SSL_get_error(c.ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            return fail(c);
          }
          std::string_view data(buf, static_cast<size_t>(n));
          if (c.body_left < 0) {
            c.buf.append(data);
            size_t hl = head_length(c.buf);
            if (hl == 0) continue;
            int64_t cl = content_length(std::string_view(c.buf).substr(0, hl));
            if (cl < 0 || c.buf.compare(0, 12, "HTTP/1.1 200") != 0) return fail(c);
            c.body_left = cl - static_cast<int64_t>(c.buf.size() - hl);
          } else {
            c.body_left -= n;
          }
          if (c.body_left == 0) {
            finish_request(c);
            if (c.phase != Phase::kSend) return;
          } else if (c.body_left < 0) {
            return fail(c);
          }
          continue;
        }
        case Phase::kPaused:
          return;
      }
    }
  }

  Shared& s_;
  std::vector<Conn> conns_;
  int ep_ = -1;
  uint64_t interval_us_ = 0;
};

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--new-tunnel") {
      o->new_tunnel = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (k == "--proxy") o->proxy = v;
    else if (k == "--target") o->target = v;
    else if (k == "--host") o->host = v;
    else if (k == "--ca") o->ca = v;
    else if (k == "--connections") o->connections = std::atoi(v.c_str());
    else if (k == "--threads") o->threads = std::atoi(v.c_str());
    else if (k == "--seconds") o->seconds = std::atof(v.c_str());
    else if (k == "--warmup") o->warmup = std::atof(v.c_str());
    else if (k == "--request-bytes") o->request_bytes = std::atoll(v.c_str());
    else if (k == "--response-bytes") o->response_bytes = std::atoll(v.c_str());
    else if (k == "--rate") o->rate = std::atof(v.c_str());
    else if (k == "--sign") o->sign = v;
    else if (k == "--signed-chunks") o->signed_chunks = std::atoll(v.c_str());
    else if (k == "--cpu-pid") o->cpu_pid = std::atoi(v.c_str());
    else return false;
  }
  return !o->target.empty() && !o->ca.empty() && o->connections > 0 && o->threads > 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that leaves is an error to count, not a crash
  Shared s;
  if (!parse_args(argc, argv, &s.o)) {
    std::fprintf(stderr, "usage: pamproxy-load [--proxy ip:port] --target host:port --ca FILE "
                         "[--host NAME] [--connections N] [--threads N] [--seconds S] "
                         "[--warmup S] [--request-bytes N] [--response-bytes N] [--rate R] [--sign AK:SK] [--signed-chunks N] "
                         "[--cpu-pid PID] [--new-tunnel]\n");
    return 2;
  }
  const Options& o = s.o;
  size_t colon = o.target.rfind(':');
  std::string target_host = o.target.substr(0, colon);
  s.sni = o.host.empty() ? target_host : o.host;
  std::string dial = o.proxy.empty() ? o.target : o.proxy;
  auto addr = pamproxy::net::SocketAddress::parse(dial);
  if (!addr) {
    std::fprintf(stderr, "need an ip:port to dial, got %s\n", dial.c_str());
    return 2;
  }
  s.dial_len = addr->to_sockaddr(&s.dial);
  s.connect_head = "CONNECT " + o.target + " HTTP/1.1\r\nHost: " + o.target + "\r\n\r\n";
  std::string host_header = s.sni + o.target.substr(colon);
  s.request_head = (o.request_bytes > 0 ? "PUT /" : "GET /") + std::to_string(o.response_bytes) +
                   " HTTP/1.1\r\nHost: " + host_header +
                   "\r\nUser-Agent: pamproxy-load\r\nContent-Length: " +
                   std::to_string(o.request_bytes) + "\r\n\r\n";
  if (!o.sign.empty()) {
    size_t sep = o.sign.find(':');
    if (sep == std::string::npos) {
      std::fprintf(stderr, "--sign wants ACCESS_KEY:SECRET\n");
      return 2;
    }
    std::string ak = o.sign.substr(0, sep), sk = o.sign.substr(sep + 1);
    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amz_date[17], date[9];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    std::string method = o.request_bytes > 0 ? "PUT" : "GET";
    std::string path = "/" + std::to_string(o.response_bytes);
    std::string length = std::to_string(o.request_bytes);
    namespace sv = pamproxy::sigv4;
    const bool chunked = o.signed_chunks > 0 && o.request_bytes > 0;
    const std::string payload = chunked ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" : "UNSIGNED-PAYLOAD";
    std::vector<sv::Header> headers = {{"Host", host_header},
                                       {"X-Amz-Date", amz_date},
                                       {"X-Amz-Content-Sha256", payload}};
    if (chunked) {
      headers.push_back({"Content-Encoding", "aws-chunked"});
      headers.push_back({"X-Amz-Decoded-Content-Length", length});
    }
    sv::CanonicalInput in;
    in.method = method;
    in.path = path;
    in.headers = headers;
    in.signed_headers = chunked ? "content-encoding;host;x-amz-content-sha256;x-amz-date;"
                                  "x-amz-decoded-content-length"
                                : "host;x-amz-content-sha256;x-amz-date";
    in.payload_hash = payload;
    in.normalize_path = false;
    sv::Scope scope{date, "us-east-1", "s3"};
    char signature[sv::kSignatureHexLength];
    sv::Signer signer;
    if (!signer.sign(in, sk, scope, amz_date, signature).ok()) {
      std::fprintf(stderr, "signing failed\n");
      return 2;
    }
    std::string authorization;
    sv::format_authorization(authorization, ak, scope, in.signed_headers,
                             std::string_view(signature, sizeof signature));
    std::string extra;
    if (chunked) {
      // The body, chunk by chunk, each signature chained from the previous one.
      sv::HmacKey key(sv::as_view(sv::derive_signing_key(sk, scope)));
      std::string prev(signature, sizeof signature);
      std::string data(static_cast<size_t>(o.signed_chunks), 'x');
      for (int64_t left = o.request_bytes;; left -= o.signed_chunks) {
        std::string_view piece(data.data(), static_cast<size_t>(std::min(left, o.signed_chunks)));
        char sig[sv::kSignatureHexLength];
        sv::sign_chunk(key, amz_date, scope, prev, piece, sig);
        char size[32];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        s.request_body += std::string(size) + ";chunk-signature=" +
                          std::string(sig, sizeof sig) + "\r\n";
        s.request_body += piece;
        s.request_body += "\r\n";
        prev.assign(sig, sizeof sig);
        if (piece.empty()) break;
      }
      length = std::to_string(s.request_body.size());
      extra = "\r\nContent-Encoding: aws-chunked\r\nX-Amz-Decoded-Content-Length: " +
              std::to_string(o.request_bytes);
    }
    s.request_head = method + " " + path + " HTTP/1.1\r\nHost: " + host_header +
                     "\r\nUser-Agent: pamproxy-load\r\nX-Amz-Date: " + amz_date +
                     "\r\nX-Amz-Content-Sha256: " + payload + extra + "\r\nAuthorization: " +
                     authorization + "\r\nContent-Length: " + length + "\r\n\r\n";
  }
  s.ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(s.ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(s.ctx, o.ca.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "cannot load --ca %s\n", o.ca.c_str());
    return 2;
  }
  SSL_CTX_set_mode(s.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    int n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(s, n));
  }
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  std::vector<pamproxy::bench::ThreadCpu> cpu_before, cpu_after;
  if (o.cpu_pid > 0) cpu_before = pamproxy::bench::sample_threads(o.cpu_pid);
  s.measuring.store(true);
  uint64_t t0 = now_us();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  s.measuring.store(false);
  uint64_t t1 = now_us();
  if (o.cpu_pid > 0) cpu_after = pamproxy::bench::sample_threads(o.cpu_pid);
  s.stop.store(true);
  for (auto& t : threads) t.join();

  Stats total;
  for (auto& w : workers) {
    total.requests += w->stats.requests;
    total.bytes_up += w->stats.bytes_up;
    total.bytes_down += w->stats.bytes_down;
    total.errors += w->stats.errors;
    total.latency_us.insert(total.latency_us.end(), w->stats.latency_us.begin(),
                            w->stats.latency_us.end());
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  auto pct = [&](double p) -> double {
    if (total.latency_us.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(total.latency_us.size() - 1));
    return total.latency_us[i] / 1000.0;
  };
  double secs = static_cast<double>(t1 - t0) / 1e6;
  std::printf("mode=%s connections=%d request_bytes=%lld response_bytes=%lld %s\n",
              o.proxy.empty() ? "direct" : "proxy", o.connections,
              static_cast<long long>(o.request_bytes), static_cast<long long>(o.response_bytes),
              o.new_tunnel ? "new_tunnel_per_request" : "keepalive");
  std::printf("requests=%llu errors=%llu req_per_s=%.0f up_MB_per_s=%.1f down_MB_per_s=%.1f "
              "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
              static_cast<unsigned long long>(total.requests),
              static_cast<unsigned long long>(total.errors), total.requests / secs,
              total.bytes_up / secs / 1e6, total.bytes_down / secs / 1e6, pct(0.50), pct(0.99),
              pct(0.999));
  if (o.cpu_pid > 0) {
    std::printf("%s\n",
                pamproxy::bench::cpu_per_request_line(cpu_before, cpu_after, total.requests).c_str());
  }
  return total.requests > 0 ? 0 : 1;
}
