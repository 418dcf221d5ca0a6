#include "pamproxy/engine/worker.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/thread_name.h"

namespace pamproxy::engine {
namespace {

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Timer resolution: every timeout in [timeouts] is in seconds; 10 ms ticks cost an idle-but-
// timing worker 100 wakeups a second, and 4096 slots make one turn 41 s.
constexpr uint32_t kTickMs = 10;
constexpr uint32_t kSlots = 4096;
// After EMFILE/ENFILE the listener is re-armed later rather than spinning on the error.
constexpr uint64_t kAcceptRetryMs = 100;

}  // namespace

Worker::Worker(WorkerOptions options, ConnectionLimits* limits, ServiceFactory factory)
    : options_(std::move(options)),
      limits_(limits),
      factory_(std::move(factory)),
      drain_deadline_ms_(options_.shutdown_drain_ms) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  PAMPROXY_CHECK(wake_fd_ >= 0);
}

Worker::~Worker() {
  // The service goes first: its connections hold buffers and timers of this worker.
  service_.reset();
  for (int fd : options_.listen_fds) {
    if (fd >= 0) ::close(fd);
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Worker::refresh_now() { now_ms_ = monotonic_ms(); }

void Worker::request_drain() {
  if (drain_requested_.exchange(true, std::memory_order_acq_rel)) return;
  wake();
}

void Worker::wake() {
  uint64_t one = 1;
  // The eventfd write is the only cross-thread touch of a worker.
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;
}

void Worker::run() {
  name_thread(pthread_self(), "pamproxy-w" + std::to_string(options_.index));
  if (options_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(options_.cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0) {
      log::warn("engine.pin_failed").kv("worker", options_.index).kv("cpu", options_.cpu)
          .kv("error", std::strerror(rc));
    }
  }
  // A registered slot per socket this worker may hold: as many as the process may open, up to
  // 64 Ki (8 bytes each in the kernel).
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  auto ring = Ring::create(options_.ring_entries,
                           static_cast<uint32_t>(std::min<rlim_t>(files.rlim_cur, 1 << 16)));
  if (!ring.ok()) {
    start_error_ = std::string(ring.status().message());
    started_.store(true, std::memory_order_release);
    return;
  }
  ring_ = std::move(*ring);
  ring_->set_wait_batch(options_.batch_completions, options_.batch_wait_us);
  auto buffers = BufferRing::create(ring_->raw(), kBufferGroup, options_.buffer_count,
                                    options_.buffer_bytes);
  if (!buffers.ok()) {
    start_error_ = std::string(buffers.status().message());
    started_.store(true, std::memory_order_release);
    return;
  }
  buffers_ = std::move(*buffers);
  refresh_now();
  timers_ = std::make_unique<TimerWheel>(kSlots, kTickMs, now_ms_);
  service_ = factory_(*this);
  log::info("engine.worker_started")
      .kv("worker", options_.index)
      .kv("cpu", options_.cpu)
      .kv("ring_features", ring_->features().describe())
      .kv("fixed_files", static_cast<uint64_t>(ring_->features().fixed_files))
      .kv("batch_wait_us", ring_->batching() ? options_.batch_wait_us : 0u)
      .kv("buffers", buffers_->count())
      .kv("buffer_bytes", buffers_->buffer_bytes());
  acceptors_.resize(options_.listen_fds.size());
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    acceptors_[i].worker = this;
    acceptors_[i].index = i;
  }
  arm_wake();
  for (size_t i = 0; i < acceptors_.size(); ++i) arm_accept(i);
  started_.store(true, std::memory_order_release);

  // The loop's order matters: timers fire after the completions of the same wakeup were
  // handled (a completion that arrived in time wins against its timeout), and the exit test
  // comes last so a drain that finishes inside a dispatch is seen at once.
  for (;;) {
    timers_->advance(now_ms_);
    service_->after_dispatch();
    if (state_ != State::kServing && service_->live() == 0 && accepts_armed_ == 0) break;
    ring_->submit_and_wait(timers_->ms_until_next(now_ms_));
    refresh_now();  // handlers arm timers relative to the time their completion arrived
    ring_->dispatch();
    service_->after_dispatch();
  }
  log::info("engine.worker_stopped").kv("worker", options_.index)
      .kv("accepted", metrics_.accepted.get());
}

void Worker::arm_wake() {
  // A drain requested before the ring existed is picked up here.
  if (drain_requested_.load(std::memory_order_acquire)) {
    begin_drain();
    return;
  }
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_read(s, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(s, pack_user_data(this, kWake));
  wake_armed_ = true;
}

void Worker::arm_accept(size_t listener) {
  Acceptor& a = acceptors_[listener];
  int fd = options_.listen_fds[listener];
  if (fd < 0 || a.armed || state_ != State::kServing) return;
  io_uring_sqe* s = ring_->sqe();
  io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, pack_user_data(&a, 0));
  a.armed = true;
  ++accepts_armed_;
}

void Worker::Acceptor::on_cqe(uint8_t, int32_t res, uint32_t flags) {
  worker->on_accept_cqe(*this, res, flags);
}

void Worker::on_cqe(uint8_t tag, int32_t, uint32_t) {
  PAMPROXY_CHECK(tag == kWake);
  wake_armed_ = false;
  if (drain_requested_.load(std::memory_order_acquire)) {
    begin_drain();
  } else {
    arm_wake();
  }
}

void Worker::on_accept_cqe(Acceptor& a, int32_t res, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    a.armed = false;
    --accepts_armed_;
  }
  if (res >= 0) {
    on_accepted(res);
  } else if (res != -ECANCELED && res != -EINVAL && res != -EBADF) {
    metrics_.accept_errors.add();
    log::warn("engine.accept_failed").kv("worker", options_.index)
        .kv("error", std::strerror(-res));
  }
  if (!more && state_ == State::kServing && !accept_retry_timer_.armed()) {
    // A multishot accept ends on errors (EMFILE...): re-arm after a pause, so a descriptor
    // shortage does not turn into a busy loop.
    timers_->arm(accept_retry_timer_, now_ms_, res < 0 ? kAcceptRetryMs : 0);
  }
}

void Worker::on_accepted(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ::close(fd);  // the peer is already gone
    return;
  }
  net::SocketAddress peer;
  peer.ip = net::IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  peer.port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (state_ != State::kServing) {
    ::close(fd);
    return;
  }
  switch (limits_->try_admit(peer.ip)) {
    case ConnectionLimits::Verdict::kAdmitted:
      break;
    case ConnectionLimits::Verdict::kTotalLimit:
      metrics_.refused_total_limit.add();
      log::warn("engine.connection_refused").kv("worker", options_.index)
          .kv("client", peer.to_string()).kv("cause", "connections_max");
      ::close(fd);
      return;
    case ConnectionLimits::Verdict::kClientLimit:
      metrics_.refused_client_limit.add();
      log::warn("engine.connection_refused").kv("worker", options_.index)
          .kv("client", peer.to_string()).kv("cause", "connections_per_client_max");
      ::close(fd);
      return;
  }
  metrics_.accepted.add();
  metrics_.open.add();
  service_->on_accept(fd, peer);
}

void Worker::connection_closed(const net::IpAddress& peer) {
  metrics_.open.sub();
  limits_->release(peer);
}

void Worker::on_timer(Timer& timer) {
  if (&timer == &accept_retry_timer_) {
    if (state_ != State::kServing) return;
    for (size_t i = 0; i < acceptors_.size(); ++i) arm_accept(i);  // skips armed ones
    return;
  }
  if (&timer == &drain_timer_) {
    if (state_ == State::kDraining) {
      log::warn("engine.drain_deadline").kv("worker", options_.index)
          .kv("live", static_cast<uint64_t>(service_->live()));
      state_ = State::kAborted;
      service_->on_abort();
    }
  }
}

void Worker::begin_drain() {
  if (state_ != State::kServing) return;
  state_ = State::kDraining;
  // Cancelling a multishot accept ends it (its last completion comes without F_MORE); the
  // listener is then closed, and a connection still queued in its backlog is reset by the
  // kernel, never half-served.
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    if (acceptors_[i].armed) {
      io_uring_sqe* s = ring_->sqe();
      io_uring_prep_cancel64(s, pack_user_data(&acceptors_[i], 0), 0);
      io_uring_sqe_set_data64(s, 0);
    }
  }
  for (int& fd : options_.listen_fds) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  timers_->cancel(accept_retry_timer_);
  const uint64_t deadline_ms = drain_deadline_ms_.load(std::memory_order_relaxed);
  timers_->arm(drain_timer_, now_ms_, deadline_ms);
  log::info("engine.draining").kv("worker", options_.index)
      .kv("live", static_cast<uint64_t>(service_->live()))
      .kv("deadline_ms", deadline_ms);
  service_->on_drain();
}

}  // namespace pamproxy::engine
