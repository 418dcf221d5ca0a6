#pragma once
// A hashed timer wheel: every timeout of a worker (CONNECT head, handshakes, body stalls, idle
// keep-alive, drain deadline) is one intrusive Timer in it. Arming and cancelling are O(1) and
// never allocate; advancing visits only the slots whose tick has passed.
//
//   slots (power of two), each a doubly linked list of timers due in that slot's ticks:
//   [0] <-> t7 <-> t12      a timer whose deadline is further than one turn of the wheel
//   [1]                     stays in its slot and is skipped until its own tick comes round
//   ...
//
// Invariants: a Timer is in at most one slot (armed() says whether); it never fires before its
// deadline and fires at most one tick (tick_ms) late once advance() is called. Owned by one
// worker thread: no locks.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pamproxy::engine {

class TimerWheel;

class Timer {
 public:
  // What a timer calls when it fires. The callee may re-arm or destroy the Timer.
  class Handler {
   public:
    virtual void on_timer(Timer& timer) = 0;

   protected:
    ~Handler() = default;
  };

  explicit Timer(Handler* handler) : handler_(handler) {}
  ~Timer();  // cancels
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return wheel_ != nullptr; }

 private:
  friend class TimerWheel;
  Handler* handler_;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t deadline_tick_ = 0;
};

class TimerWheel {
 public:
  // `slot_count` is rounded up to a power of two; `tick_ms` is the resolution.
  TimerWheel(uint32_t slot_count, uint32_t tick_ms, uint64_t now_ms);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // (Re-)arms `timer` to fire `delay_ms` after `now_ms` (rounded up to the next tick).
  void arm(Timer& timer, uint64_t now_ms, uint64_t delay_ms);
  void cancel(Timer& timer);

  // Fires every timer due at `now_ms`; returns how many fired.
  size_t advance(uint64_t now_ms);

  // Milliseconds until the next tick (-1 when no timer is armed). The worker uses it as its wait
  // timeout: with timers armed it wakes once per tick, otherwise it sleeps until I/O arrives.
  int64_t ms_until_next(uint64_t now_ms) const;

  size_t armed_count() const { return armed_; }
  uint32_t tick_ms() const { return tick_ms_; }

 private:
  uint64_t tick_of(uint64_t ms) const { return ms / tick_ms_; }

  std::vector<Timer*> slots_;  // list heads
  uint32_t mask_;
  uint32_t tick_ms_;
  uint64_t current_tick_;  // every tick before this one has been processed
  size_t armed_ = 0;
  // The list of the slot being fired, detached so handlers can arm into that slot meanwhile.
  Timer* firing_ = nullptr;
};

}  // namespace pamproxy::engine
