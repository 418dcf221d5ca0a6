#pragma once
// The engine: the listeners and the workers ([engine] threads, one per core, pinned). It binds
// every [proxy] listen address once per worker with SO_REUSEPORT on the starting thread (so a
// bind error stops the start with a clear message, and the kernel spreads connections across
// workers), then starts one thread per worker. The daemon calls drain() on SIGTERM and join()
// to wait for the workers to finish.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/config/config.h"
#include "pamproxy/engine/connection_limits.h"
#include "pamproxy/engine/worker.h"

namespace pamproxy::engine {

struct EngineOptions {
  std::vector<net::SocketAddress> listen;
  int threads = 0;  // 0 = one per online CPU
  bool pin_threads = true;
  uint32_t ring_entries = 4096;
  uint32_t buffer_bytes = 16384;
  uint32_t buffer_count = 1024;
  uint32_t batch_completions = 16;
  uint32_t batch_wait_us = 50;
  uint64_t shutdown_drain_ms = 30000;
  int64_t connections_max = 20000;
  int64_t connections_per_client_max = 512;

  static absl::StatusOr<EngineOptions> from_config(const config::Config& config);
  // The number of workers these options start (threads, or the usable CPUs for 0).
  int worker_count() const;
};

class Engine {
 public:
  // Binds, starts the workers, and waits until each has its ring up (or reports why not).
  static absl::StatusOr<std::unique_ptr<Engine>> start(const EngineOptions& options,
                                                       ServiceFactory factory);
  ~Engine();  // drains (without deadline beyond the workers' own) and joins
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void drain();
  void join();

  size_t worker_count() const { return workers_.size(); }
  const Worker& worker(size_t i) const { return *workers_[i]; }
  // The addresses actually bound (the same port on every worker).
  const std::vector<net::SocketAddress>& bound() const { return bound_; }
  ConnectionLimits& limits() { return *limits_; }
  // Any thread: every worker takes one turn of its loop (see Worker::wake).
  void wake_all() {
    for (auto& w : workers_) w->wake();
  }
  // Any thread: [timeouts] shutdown_drain_ms for drains that begin after this call.
  void set_drain_deadline_ms(uint64_t ms) {
    for (auto& w : workers_) w->set_drain_deadline_ms(ms);
  }

 private:
  Engine() = default;
  std::unique_ptr<ConnectionLimits> limits_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::vector<net::SocketAddress> bound_;
};

// Online CPUs this process may run on (sched_getaffinity), in order: worker i goes to cpus[i %
// size].
std::vector<int> usable_cpus();

}  // namespace pamproxy::engine
