#pragma once
// Publisher<T>: the current immutable value of something the control thread replaces whole and
// every worker reads (the policy snapshot, the proxy settings). A worker polls generation() with
// one atomic load per loop and takes current() only when it changed; the value it holds stays
// alive (shared_ptr) while a newer one is published.
//
// T carries its own generation, read through `generation_of(const T&)` found in T's namespace.
// Generations only grow: publishing an older or equal one is a bug and aborts.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "pamproxy/base/check.h"

namespace pamproxy {

template <typename T>
class Publisher {
 public:
  explicit Publisher(std::shared_ptr<const T> initial) : current_(std::move(initial)) {
    PAMPROXY_CHECK(current_ != nullptr);
    generation_.store(generation_of(*current_), std::memory_order_release);
  }

  // Called by the control thread only.
  void publish(std::shared_ptr<const T> next) {
    PAMPROXY_CHECK(next != nullptr);
    const uint64_t generation = generation_of(*next);
    std::shared_ptr<const T> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      PAMPROXY_CHECK(generation > generation_of(*current_));
      old = std::exchange(current_, std::move(next));
    }
    generation_.store(generation, std::memory_order_release);
    // `old` is released here, outside the lock; a reader still holding it keeps it alive.
  }

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  std::shared_ptr<const T> current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;  // guarded by mu_
  // Stored after current_ changes (release), so a reader that sees a new generation and then
  // takes mu_ finds a value at least that new.
  std::atomic<uint64_t> generation_{0};
};

}  // namespace pamproxy
