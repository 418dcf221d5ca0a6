#include "pamproxy/engine/connection_limits.h"

#include "pamproxy/base/check.h"

namespace pamproxy::engine {

ConnectionLimits::ConnectionLimits(int64_t total_max, int64_t per_client_max)
    : total_max_(total_max),
      per_client_max_(per_client_max),
      per_client_(std::make_unique<std::array<std::atomic<uint32_t>, kSlots>>()) {
  for (auto& s : *per_client_) s.store(0, std::memory_order_relaxed);
}

void ConnectionLimits::set_limits(int64_t total_max, int64_t per_client_max) {
  total_max_.store(total_max, std::memory_order_relaxed);
  per_client_max_.store(per_client_max, std::memory_order_relaxed);
}

std::atomic<uint32_t>& ConnectionLimits::slot(const net::IpAddress& client) {
  // FNV-1a over the 16 address bytes: cheap and good enough to spread client addresses.
  uint32_t h = 2166136261u;
  for (uint8_t b : client.bytes) h = (h ^ b) * 16777619u;
  return (*per_client_)[(h ^ (h >> 16)) & (kSlots - 1)];
}

ConnectionLimits::Verdict ConnectionLimits::try_admit(const net::IpAddress& client) {
  if (total_.fetch_add(1, std::memory_order_relaxed) >=
      total_max_.load(std::memory_order_relaxed)) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kTotalLimit;
  }
  std::atomic<uint32_t>& s = slot(client);
  if (static_cast<int64_t>(s.fetch_add(1, std::memory_order_relaxed)) >=
      per_client_max_.load(std::memory_order_relaxed)) {
    s.fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kClientLimit;
  }
  return Verdict::kAdmitted;
}

void ConnectionLimits::release(const net::IpAddress& client) {
  std::atomic<uint32_t>& s = slot(client);
  PAMPROXY_CHECK(s.load(std::memory_order_relaxed) > 0);
  s.fetch_sub(1, std::memory_order_relaxed);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace pamproxy::engine
