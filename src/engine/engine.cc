#include "pamproxy/engine/engine.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pamproxy/base/log.h"

namespace pamproxy::engine {
namespace {

// One SO_REUSEPORT listener. With `port` 0 the kernel picks one; later listeners of the same
// group bind the port the first one got.
absl::StatusOr<int> open_listener(const net::SocketAddress& address) {
  sockaddr_storage ss{};
  socklen_t len = address.to_sockaddr(&ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind ", address.to_string(), ": ", std::strerror(e)));
  }
  if (::listen(fd, 4096) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("listen ", address.to_string(), ": ", std::strerror(e)));
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

std::vector<int> usable_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) out.push_back(i);
    }
  }
  if (out.empty()) out.push_back(0);
  return out;
}

absl::StatusOr<EngineOptions> EngineOptions::from_config(const config::Config& c) {
  EngineOptions o;
  for (const std::string& s : c.proxy.listen) {
    auto a = net::SocketAddress::parse(s);
    if (!a) return absl::InvalidArgumentError(absl::StrCat("proxy.listen: bad address ", s));
    o.listen.push_back(*a);
  }
  o.threads = static_cast<int>(c.engine.threads);
  o.pin_threads = c.engine.pin_threads;
  o.ring_entries = static_cast<uint32_t>(c.engine.ring_entries);
  o.buffer_bytes = static_cast<uint32_t>(c.engine.buffer_bytes);
  o.buffer_count = static_cast<uint32_t>(c.engine.buffer_count);
  o.batch_completions = static_cast<uint32_t>(c.engine.batch_completions);
  o.batch_wait_us = static_cast<uint32_t>(c.engine.batch_wait_us);
  o.shutdown_drain_ms = static_cast<uint64_t>(c.timeouts.shutdown_drain_ms);
  o.connections_max = c.limits.connections_max;
  o.connections_per_client_max = c.limits.connections_per_client_max;
  return o;
}

int EngineOptions::worker_count() const {
  return threads > 0 ? threads : static_cast<int>(usable_cpus().size());
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::start(const EngineOptions& options,
                                                      ServiceFactory factory) {
  std::unique_ptr<Engine> e(new Engine());
  const std::vector<int> cpus = usable_cpus();
  const int n = options.worker_count();
  e->limits_ = std::make_unique<ConnectionLimits>(options.connections_max,
                                                  options.connections_per_client_max);
  std::vector<std::vector<int>> fds(static_cast<size_t>(n));
  auto close_all = [&] {
    for (auto& v : fds) {
      for (int fd : v) ::close(fd);
    }
  };
  for (net::SocketAddress address : options.listen) {
    for (int w = 0; w < n; ++w) {
      auto fd = open_listener(address);
      if (!fd.ok()) {
        close_all();
        return fd.status();
      }
      if (address.port == 0) address.port = bound_port(*fd);  // the group shares it
      fds[static_cast<size_t>(w)].push_back(*fd);
    }
    e->bound_.push_back(address);
  }
  for (int w = 0; w < n; ++w) {
    WorkerOptions wo;
    wo.index = w;
    wo.cpu = options.pin_threads ? cpus[static_cast<size_t>(w) % cpus.size()] : -1;
    wo.ring_entries = options.ring_entries;
    wo.buffer_bytes = options.buffer_bytes;
    wo.buffer_count = options.buffer_count;
    wo.batch_completions = options.batch_completions;
    wo.batch_wait_us = options.batch_wait_us;
    wo.shutdown_drain_ms = options.shutdown_drain_ms;
    wo.listen_fds = std::move(fds[static_cast<size_t>(w)]);
    e->workers_.push_back(std::make_unique<Worker>(std::move(wo), e->limits_.get(), factory));
  }
  for (auto& w : e->workers_) {
    Worker* raw = w.get();
    e->threads_.emplace_back([raw] { raw->run(); });
  }
  // Startup is the one place a short poll is fine: each worker reports once, within the ring
  // setup time.
  for (auto& w : e->workers_) {
    while (!w->started()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& w : e->workers_) {
    if (!w->start_error().empty()) {
      std::string why = w->start_error();
      e->drain();
      e->join();
      return absl::InternalError(absl::StrCat("worker ", w->index(), ": ", why));
    }
  }
  for (const auto& a : e->bound_) {
    log::info("engine.listening").kv("address", a.to_string()).kv("workers", n)
        .kv("pinned", options.pin_threads);
  }
  return e;
}

Engine::~Engine() {
  drain();
  join();
}

void Engine::drain() {
  for (auto& w : workers_) w->request_drain();
}

void Engine::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

}  // namespace pamproxy::engine
