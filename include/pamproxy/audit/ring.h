#pragma once
// A bounded single-producer single-consumer ring of audit events, one per producer thread (each
// engine worker, the control thread) into the one audit writer thread.
//
//            producer (one thread)                     writer (one thread)
//   tail_ ──► [ slot | slot | slot | ... ] ◄── head_      durable_ ◄── after fdatasync
//             └─ events [head_, tail_) are queued ─┘
//
// Invariants: head_ <= tail_ <= head_ + capacity; tail_ is written only by the producer, head_
// and durable_ only by the writer; durable_ <= head_. Indices only grow (64 bits never wrap), so
// an event's ticket (its index) also says when it is durable: durable_ > ticket.
//
// The producer keeps a private copy of head_ and re-reads the shared one only when that copy says
// "full"; the writer reads tail_ once per batch. The indices and counters sit on their own cache
// lines so the two threads never false-share.
//
// Nothing here blocks or allocates after construction: a full ring is reported, and the caller
// applies [audit] on_full (hold: retry when the notify fd fires, up to hold_timeout_ms; refuse:
// answer 503) and says so with note_hold()/note_refusal(). An io_uring worker polls notify_fd()
// (an eventfd) instead of blocking; it fires when this ring's durable_ advances (after the
// producer asked with request_wakeup()) or when space frees (after request_space()), so rings
// whose producer waits for nothing cost no syscall.

#include <atomic>
#include <cstdint>
#include <memory>

#include "pamproxy/audit/event.h"

namespace pamproxy::audit {

inline constexpr size_t kCacheLineBytes = 64;

// Shared with the writer: lets a producer wake a sleeping writer with no syscall while it runs.
// A writer that sleeps kSleepingTimed wakes by itself within commit_interval_ms and takes what
// came meanwhile: only an event someone waits for (is_awaited) wakes it early. One that sleeps
// kSleepingUntilWoken is woken by any event.
struct WriterWake {
  static constexpr uint32_t kAwake = 0;
  static constexpr uint32_t kSleepingTimed = 1;
  static constexpr uint32_t kSleepingUntilWoken = 2;
  alignas(kCacheLineBytes) std::atomic<uint32_t> sleeping{kAwake};
  std::atomic<uint32_t> futex_word{0};  // bumped on every wake
  void wake();                          // futex wake (a syscall)
  // After an event of type `t` is published (and a seq_cst fence): wakes the writer if it must.
  void on_published(EventType t) {
    uint32_t s = sleeping.load(std::memory_order_relaxed);
    if (s == kSleepingUntilWoken || (s == kSleepingTimed && is_awaited(t))) wake();
  }
};

class Ring {
 public:
  // `capacity` is rounded up to a power of two (at least 2). Slots are allocated here, once.
  Ring(size_t capacity, WriterWake* wake, const std::atomic<uint32_t>* writer_fault);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // ---- producer side (one thread) ----
  // Copies `event` into the ring; false when full. `ticket` (may be null) receives its index.
  bool try_push(const Event& event, uint64_t* ticket) {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return false;
    }
    slots_[t & mask_] = event;
    tail_.store(t + 1, std::memory_order_release);
    if (ticket != nullptr) *ticket = t;
    // Pairs with the writer's fence between announcing sleep and re-checking the rings.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_->on_published(event.type);
    return true;
  }
  // Zero-copy variant: the next free slot to fill in place (it holds an old event: call
  // Event::clear() or assign every field), or null when full; then publish() it.
  Event* try_claim() {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return nullptr;
    }
    return &slots_[t & mask_];
  }
  // Publishes the slot returned by the last try_claim(); `ticket` (may be null) gets its index.
  void publish(uint64_t* ticket) {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    const EventType type = slots_[t & mask_].type;  // read before the writer may take the slot
    tail_.store(t + 1, std::memory_order_release);
    if (ticket != nullptr) *ticket = t;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    wake_->on_published(type);
  }
  // True once the event with `ticket` is on disk (fdatasync returned).
  bool is_durable(uint64_t ticket) const {
    return durable_.load(std::memory_order_acquire) > ticket;
  }
  // True while the writer cannot write or sync (disk full, read-only, I/O error): events still
  // queue, but nothing becomes durable until it clears.
  bool writer_faulted() const { return writer_fault_->load(std::memory_order_acquire) != 0; }
  // Asks the writer to signal notify_fd() at its next commit or drain. Returns false when
  // `ticket` became durable meanwhile (then no signal may come: don't wait).
  bool request_wakeup(uint64_t ticket);
  // Asks the writer to signal notify_fd() when it frees space (after a failed try_push).
  void request_space() { space_wanted_.store(1, std::memory_order_seq_cst); }
  int notify_fd() const { return notify_fd_; }
  // Drains the eventfd counter after it fired (non-blocking).
  void consume_notification();
  // Blocking helpers for threads that may block (the control thread, tools, tests): wait until
  // durable / until pushed, at most `timeout_ms`. False on timeout.
  bool wait_durable(uint64_t ticket, int64_t timeout_ms);
  bool push_wait(const Event& event, uint64_t* ticket, int64_t timeout_ms);

  void note_hold() { holds_.fetch_add(1, std::memory_order_relaxed); }
  void note_refusal() { refusals_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t holds() const { return holds_.load(std::memory_order_relaxed); }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }
  uint64_t pushed() const { return tail_.load(std::memory_order_relaxed); }

  // ---- writer side (one thread) ----
  // Number of queued events (a batch the writer may read with at() without further sync).
  size_t available() const {
    return static_cast<size_t>(tail_.load(std::memory_order_acquire) -
                               head_.load(std::memory_order_relaxed));
  }
  // The i-th queued event, i < available(). Valid until release().
  const Event& at(size_t i) const {
    return slots_[(head_.load(std::memory_order_relaxed) + i) & mask_];
  }
  // Frees the first n queued events (after they are serialized).
  void release(size_t n) {
    head_.store(head_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
  uint64_t consumed() const { return head_.load(std::memory_order_relaxed); }
  // Everything consumed up to `index` is on disk; signals the producer if it asked.
  void publish_durable(uint64_t index);
  // Signals the producer if it waits for space (called after release()).
  void signal_space();
  uint64_t durable() const { return durable_.load(std::memory_order_acquire); }

 private:
  // Producer-written line.
  alignas(kCacheLineBytes) std::atomic<uint64_t> tail_{0};
  uint64_t head_cache_ = 0;  // producer's copy of head_
  // Writer-written line.
  alignas(kCacheLineBytes) std::atomic<uint64_t> head_{0};
  alignas(kCacheLineBytes) std::atomic<uint64_t> durable_{0};
  // What the producer is waiting for (both signal the same eventfd).
  std::atomic<uint32_t> durable_wanted_{0};
  std::atomic<uint32_t> space_wanted_{0};
  // Producer-written counters, read by metrics.
  alignas(kCacheLineBytes) std::atomic<uint64_t> holds_{0};
  std::atomic<uint64_t> refusals_{0};
  // Read-only after construction.
  alignas(kCacheLineBytes) uint64_t mask_;
  std::unique_ptr<Event[]> slots_;
  WriterWake* wake_;
  const std::atomic<uint32_t>* writer_fault_;
  int notify_fd_ = -1;
};

}  // namespace pamproxy::audit
