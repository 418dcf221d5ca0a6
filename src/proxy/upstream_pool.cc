// Idle upstream connections between tunnels (see include/pamproxy/proxy/upstream_pool.h).

#include "pamproxy/proxy/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pamproxy::proxy {

bool idle_socket_healthy(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Nothing to read is the only good answer: 0 is the peer's FIN, data or a kTLS control record
  // (EIO) is something an idle connection must not have, anything else an error.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

UpstreamPool::UpstreamPool(const UpstreamPoolLimits& limits, ProxyMetrics& metrics)
    : limits_(limits), metrics_(metrics) {}

UpstreamPool::~UpstreamPool() { clear(); }

void UpstreamPool::discard(IdleUpstream& c) {
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.session.reset();
}

void UpstreamPool::drop_front(std::deque<IdleUpstream>& host) {
  discard(host.front());
  host.pop_front();
  --total_;
  metrics_.upstream_pool_idle.sub();
  metrics_.upstream_pool_discarded.add();
}

void UpstreamPool::drop_oldest() {
  // The oldest of all: the front of the host whose front is oldest.
  std::deque<IdleUpstream>* oldest = nullptr;
  for (auto& [k, q] : by_host_) {
    if (!q.empty() && (oldest == nullptr || q.front().parked_ms < oldest->front().parked_ms)) {
      oldest = &q;
    }
  }
  drop_front(*oldest);
}

void UpstreamPool::park(const std::string& key, IdleUpstream c, uint64_t now_ms) {
  if (limits_.per_host == 0 || limits_.total == 0) {
    discard(c);
    metrics_.upstream_pool_discarded.add();
    return;
  }
  std::deque<IdleUpstream>& host = by_host_[key];
  if (host.size() >= limits_.per_host) drop_front(host);
  if (total_ >= limits_.total) drop_oldest();
  c.parked_ms = now_ms;
  host.push_back(std::move(c));
  ++total_;
  metrics_.upstream_pool_parked.add();
  metrics_.upstream_pool_idle.add();
}

void UpstreamPool::set_limits(const UpstreamPoolLimits& limits, uint64_t now_ms) {
  limits_ = limits;
  for (auto& [key, host] : by_host_) {
    while (host.size() > limits_.per_host) drop_front(host);
  }
  while (total_ > limits_.total) drop_oldest();
  expire(now_ms);  // also forgets the hosts left empty
}

std::optional<IdleUpstream> UpstreamPool::take(const std::string& key, uint64_t now_ms) {
  auto it = by_host_.find(key);
  if (it == by_host_.end()) return std::nullopt;
  std::deque<IdleUpstream>& host = it->second;
  std::optional<IdleUpstream> out;
  while (!host.empty() && !out) {
    IdleUpstream c = std::move(host.back());
    host.pop_back();
    --total_;
    metrics_.upstream_pool_idle.sub();
    if (now_ms - c.parked_ms > limits_.idle_ms || !idle_socket_healthy(c.fd)) {
      discard(c);
      metrics_.upstream_pool_discarded.add();
      continue;
    }
    metrics_.upstream_pool_reused.add();
    out = std::move(c);
  }
  if (host.empty()) by_host_.erase(it);
  return out;
}

void UpstreamPool::expire(uint64_t now_ms) {
  for (auto it = by_host_.begin(); it != by_host_.end();) {
    std::deque<IdleUpstream>& host = it->second;
    while (!host.empty() && now_ms - host.front().parked_ms > limits_.idle_ms) drop_front(host);
    if (host.empty()) {
      by_host_.erase(it++);
    } else {
      ++it;
    }
  }
}

void UpstreamPool::clear() {
  for (auto& [key, host] : by_host_) {
    for (IdleUpstream& c : host) {
      discard(c);
      metrics_.upstream_pool_idle.sub();
    }
  }
  by_host_.clear();
  total_ = 0;
}

}  // namespace pamproxy::proxy
