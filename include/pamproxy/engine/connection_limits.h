#pragma once
// Connection admission shared by all workers: the total ([limits] connections_max) and per
// client address ([limits] connections_per_client_max). Touched once per accept and once per
// close, never per request, and lock-free: per-client counts live in a fixed table of atomics
// indexed by a hash of the address. Two addresses that share a slot share a budget, so a
// collision can only make admission stricter, never looser; with 65536 slots and the default
// budget of 512 per client this needs tens of thousands of distinct busy clients to matter.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "pamproxy/base/net_address.h"

namespace pamproxy::engine {

class ConnectionLimits {
 public:
  enum class Verdict { kAdmitted, kTotalLimit, kClientLimit };

  ConnectionLimits(int64_t total_max, int64_t per_client_max);

  // On kAdmitted the caller must call release() with the same address exactly once later.
  Verdict try_admit(const net::IpAddress& client);
  void release(const net::IpAddress& client);

  int64_t total() const { return total_.load(std::memory_order_relaxed); }
  void set_limits(int64_t total_max, int64_t per_client_max);

 private:
  static constexpr size_t kSlots = 65536;
  std::atomic<uint32_t>& slot(const net::IpAddress& client);

  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> total_max_;
  std::atomic<int64_t> per_client_max_;
  std::unique_ptr<std::array<std::atomic<uint32_t>, kSlots>> per_client_;
};

}  // namespace pamproxy::engine
