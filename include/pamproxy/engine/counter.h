#pragma once
// A metrics counter written by exactly one thread (its worker) and read by any (the admin API):
// a relaxed load+store, no locked instruction on the hot path. Readers see a value that is at
// most a few increments stale, never torn.

#include <atomic>
#include <cstdint>

namespace pamproxy::engine {

class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// What the engine itself counts per worker (the proxy adds its own counters beside these).
struct alignas(64) WorkerMetrics {
  Counter accepted;
  Counter refused_total_limit;      // [limits] connections_max reached
  Counter refused_client_limit;     // [limits] connections_per_client_max reached
  Counter accept_errors;            // EMFILE and friends
  Counter open;                     // gauge: connections held by this worker now
};

}  // namespace pamproxy::engine
