// The parts of the ring that make syscalls: the writer's futex wake, the producer's eventfd.

#include "pamproxy/audit/ring.h"

#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "pamproxy/base/check.h"

namespace pamproxy::audit {
namespace {

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

size_t round_up_pow2(size_t n) {
  size_t p = 2;
  while (p < n) p <<= 1;
  return p;
}

// Waits for the eventfd to become readable, at most `timeout_ms` (>= 0).
void poll_fd(int fd, int64_t timeout_ms) {
  pollfd p = {fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout_ms));
  (void)r;  // timeouts and EINTR are handled by the callers' deadline loops
}

}  // namespace

void WriterWake::wake() {
  futex_word.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&futex_word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

Ring::Ring(size_t capacity, WriterWake* wake, const std::atomic<uint32_t>* writer_fault)
    : mask_(round_up_pow2(capacity) - 1),
      slots_(new Event[mask_ + 1]),
      wake_(wake),
      writer_fault_(writer_fault) {
  notify_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  PAMPROXY_CHECK(notify_fd_ >= 0);
}

Ring::~Ring() {
  ::close(notify_fd_);
}

bool Ring::request_wakeup(uint64_t ticket) {
  durable_wanted_.store(1, std::memory_order_seq_cst);
  // Re-check after asking: the writer publishes durable_ before it looks at the request, so one
  // of the two sides sees the other (seq_cst on both).
  return !is_durable(ticket);
}

void Ring::consume_notification() {
  uint64_t v;
  ssize_t r = ::read(notify_fd_, &v, sizeof(v));
  (void)r;  // EAGAIN: nothing pending
}

namespace {
void signal_fd(int fd) {
  uint64_t one = 1;
  ssize_t r = ::write(fd, &one, sizeof(one));
  (void)r;  // an eventfd write fails only on counter overflow, which a reader clears
}
}  // namespace

void Ring::signal_space() {
  if (space_wanted_.load(std::memory_order_seq_cst) == 0) return;
  if (space_wanted_.exchange(0, std::memory_order_seq_cst) != 0) signal_fd(notify_fd_);
}

void Ring::publish_durable(uint64_t index) {
  PAMPROXY_CHECK(index <= head_.load(std::memory_order_relaxed));
  durable_.store(index, std::memory_order_seq_cst);
  if (durable_wanted_.load(std::memory_order_seq_cst) == 0) return;
  if (durable_wanted_.exchange(0, std::memory_order_seq_cst) != 0) signal_fd(notify_fd_);
}

bool Ring::wait_durable(uint64_t ticket, int64_t timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (!is_durable(ticket)) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    if (!request_wakeup(ticket)) return true;
    poll_fd(notify_fd_, left);
    consume_notification();
  }
  return true;
}

bool Ring::push_wait(const Event& event, uint64_t* ticket, int64_t timeout_ms) {
  if (try_push(event, ticket)) return true;
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    request_space();
    if (try_push(event, ticket)) return true;
    int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    poll_fd(notify_fd_, left);
    consume_notification();
  }
}

}  // namespace pamproxy::audit
