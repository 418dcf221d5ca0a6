#pragma once
// One worker: a thread pinned to a core, with its own io_uring, provided buffer ring, timer
// wheel and SO_REUSEPORT listeners. It accepts connections (multishot accept), admits them
// against the shared ConnectionLimits, and hands each to its Service (the proxy), which drives
// the connection through the same ring. A worker never blocks and never takes a lock on the hot
// path; other threads reach it only through request_drain() (an eventfd the ring reads).
//
// Life: run() -> serving -> [request_drain] -> draining (listeners closed, the service finishes
// what is in flight) -> [live()==0, or shutdown_drain_ms passed: Service::on_abort()] -> done.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/base/net_address.h"
#include "pamproxy/engine/buffer_ring.h"
#include "pamproxy/engine/connection_limits.h"
#include "pamproxy/engine/counter.h"
#include "pamproxy/engine/ring.h"
#include "pamproxy/engine/timer_wheel.h"

namespace pamproxy::engine {

class Worker;

// The application run by each worker, created on the worker's own thread.
class Service {
 public:
  virtual ~Service() = default;
  // Takes ownership of `fd` (non-blocking, admitted). The service must call
  // Worker::connection_closed(peer) when it closes it.
  virtual void on_accept(int fd, const net::SocketAddress& peer) = 0;
  // Shutdown began: finish what is in flight, close idle connections, take no new requests.
  virtual void on_drain() = 0;
  // The drain deadline passed: close everything now (completions may still arrive after).
  virtual void on_abort() = 0;
  // Connections (and upstream connections) still open; the worker exits when this reaches 0.
  virtual size_t live() const = 0;
  // After each batch of completions and timers: the place to free what handlers finished with
  // (a handler never frees itself while its own completion is being dispatched).
  virtual void after_dispatch() {}
};

using ServiceFactory = std::function<std::unique_ptr<Service>(Worker&)>;

struct WorkerOptions {
  int index = 0;
  int cpu = -1;  // -1: not pinned
  uint32_t ring_entries = 4096;
  uint32_t buffer_bytes = 16384;
  uint32_t buffer_count = 1024;
  uint32_t batch_completions = 16;  // Ring::set_wait_batch
  uint32_t batch_wait_us = 50;
  uint64_t shutdown_drain_ms = 30000;
  std::vector<int> listen_fds;  // bound and listening, owned by the worker from now on
};

class Worker final : private IoHandler, private Timer::Handler {
 public:
  Worker(WorkerOptions options, ConnectionLimits* limits, ServiceFactory factory);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The worker thread's body. Returns when the worker has drained (or failed to start: then
  // `start_error()` says why).
  void run();
  // Any thread: begin the drain. Idempotent.
  void request_drain();
  // Any thread: one turn of the loop (the service's after_dispatch runs), e.g. so that an idle
  // worker takes up newly published settings now rather than at its next event.
  void wake();
  // Any thread: [timeouts] shutdown_drain_ms changed on reload (read when the drain begins).
  void set_drain_deadline_ms(uint64_t ms) {
    drain_deadline_ms_.store(ms, std::memory_order_relaxed);
  }
  // Any thread, after construction: true once the ring is up and accepting.
  bool started() const { return started_.load(std::memory_order_acquire); }
  const std::string& start_error() const { return start_error_; }

  // ---- The worker thread only.
  Ring& ring() { return *ring_; }
  BufferRing& buffers() { return *buffers_; }
  TimerWheel& timers() { return *timers_; }
  uint64_t now_ms() const { return now_ms_; }
  int index() const { return options_.index; }
  bool draining() const { return state_ != State::kServing; }
  void connection_closed(const net::IpAddress& peer);
  WorkerMetrics& metrics() { return metrics_; }
  const WorkerMetrics& metrics() const { return metrics_; }

  static constexpr uint16_t kBufferGroup = 1;

 private:
  enum class State { kServing, kDraining, kAborted };
  enum Tag : uint8_t { kWake = 1 };

  // One per listener: its multishot accept's completion target.
  struct Acceptor final : IoHandler {
    Worker* worker = nullptr;
    size_t index = 0;
    bool armed = false;
    void on_cqe(uint8_t tag, int32_t res, uint32_t flags) override;
  };

  void on_cqe(uint8_t tag, int32_t res, uint32_t flags) override;
  void on_timer(Timer& timer) override;
  void arm_accept(size_t listener);
  void arm_wake();
  void on_accept_cqe(Acceptor& a, int32_t res, uint32_t flags);
  void on_accepted(int fd);
  void begin_drain();
  void refresh_now();

  WorkerOptions options_;
  ConnectionLimits* limits_;
  ServiceFactory factory_;
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<BufferRing> buffers_;
  std::unique_ptr<TimerWheel> timers_;
  std::unique_ptr<Service> service_;
  WorkerMetrics metrics_;
  State state_ = State::kServing;
  uint64_t now_ms_ = 0;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  bool wake_armed_ = false;
  std::vector<Acceptor> acceptors_;
  size_t accepts_armed_ = 0;
  std::atomic<bool> started_{false};
  std::atomic<bool> drain_requested_{false};
  std::atomic<uint64_t> drain_deadline_ms_;  // options_.shutdown_drain_ms, then reloads
  std::string start_error_;
  Timer drain_timer_{this};
  Timer accept_retry_timer_{this};
};

}  // namespace pamproxy::engine
