#include "pamproxy/engine/timer_wheel.h"

#include <algorithm>

#include "pamproxy/base/check.h"

namespace pamproxy::engine {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(uint32_t slot_count, uint32_t tick_ms, uint64_t now_ms)
    : tick_ms_(std::max<uint32_t>(tick_ms, 1)) {
  uint32_t n = 1;
  while (n < slot_count) n <<= 1;
  slots_.assign(n, nullptr);
  mask_ = n - 1;
  current_tick_ = tick_of(now_ms);
}

TimerWheel::~TimerWheel() {
  for (Timer*& head : slots_) {
    while (head != nullptr) {
      Timer* t = head;
      head = t->next_;
      t->wheel_ = nullptr;
      t->prev_ = t->next_ = nullptr;
    }
  }
}

void TimerWheel::arm(Timer& timer, uint64_t now_ms, uint64_t delay_ms) {
  if (timer.wheel_ != nullptr) cancel(timer);
  // Round up so a timer never fires early; never schedule into a tick already processed.
  uint64_t tick = (now_ms + delay_ms + tick_ms_ - 1) / tick_ms_;
  tick = std::max(tick, current_tick_);
  timer.deadline_tick_ = tick;
  Timer*& head = slots_[tick & mask_];
  timer.prev_ = nullptr;
  timer.next_ = head;
  if (head != nullptr) head->prev_ = &timer;
  head = &timer;
  timer.wheel_ = this;
  ++armed_;
}

void TimerWheel::cancel(Timer& timer) {
  if (timer.wheel_ == nullptr) return;
  PAMPROXY_CHECK(timer.wheel_ == this);
  if (timer.prev_ != nullptr) {
    timer.prev_->next_ = timer.next_;
  } else if (firing_ == &timer) {
    firing_ = timer.next_;
  } else {
    PAMPROXY_CHECK(slots_[timer.deadline_tick_ & mask_] == &timer);
    slots_[timer.deadline_tick_ & mask_] = timer.next_;
  }
  if (timer.next_ != nullptr) timer.next_->prev_ = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  timer.wheel_ = nullptr;
  --armed_;
}

size_t TimerWheel::advance(uint64_t now_ms) {
  const uint64_t target = tick_of(now_ms);
  size_t fired = 0;
  if (target < current_tick_) return 0;
  // One turn of the wheel visits every slot; later turns would only revisit the same lists.
  const uint64_t first = current_tick_;
  const uint64_t last = std::min(target, first + mask_);
  // Timers armed by handlers below land at target + 1 or later, in a slot the next call visits.
  current_tick_ = target + 1;
  for (uint64_t tick = first; tick <= last && armed_ > 0; ++tick) {
    Timer*& head = slots_[tick & mask_];
    if (head == nullptr) continue;
    // Detach the slot: timers not yet due go back, due ones fire. Handlers may arm (into the
    // live slot) or cancel (from either list) any timer meanwhile.
    firing_ = head;
    head = nullptr;
    while (firing_ != nullptr) {
      Timer* t = firing_;
      firing_ = t->next_;
      if (firing_ != nullptr) firing_->prev_ = nullptr;
      t->prev_ = nullptr;
      t->next_ = head;
      if (head != nullptr) head->prev_ = t;
      head = t;
      if (t->deadline_tick_ <= target) {
        cancel(*t);
        ++fired;
        t->handler_->on_timer(*t);
      }
    }
  }
  return fired;
}

int64_t TimerWheel::ms_until_next(uint64_t now_ms) const {
  if (armed_ == 0) return -1;
  uint64_t due_ms = current_tick_ * tick_ms_;
  return due_ms <= now_ms ? 0 : static_cast<int64_t>(due_ms - now_ms);
}

}  // namespace pamproxy::engine
