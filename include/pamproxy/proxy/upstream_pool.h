#pragma once
// One worker's idle upstream TLS connections, kept between tunnels. An upstream connection
// carries no identity (every request on it is signed on its own), so the next tunnel to the same
// host:port takes it instead of connecting and handshaking again.
//
// Owns: the idle connections (socket, TLS session, whether the kernel holds its keys), by
// host:port, newest last; the bounds ([upstream] pool_idle_per_host and pool_idle_total: the
// oldest goes first) and the idle timeout (pool_idle_timeout_ms). Health on reuse: a connection
// its peer closed, or on which anything arrived while idle (an alert, a stray byte), is closed
// instead of handed out.
// Never: ring I/O (an idle socket has no operation in flight; the health check is one
// non-blocking MSG_PEEK), threads (one pool per worker), a connection with bytes in flight (the
// tunnel parks only between responses, see ResponseObserver::reusable).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::proxy {

struct IdleUpstream {
  int fd = -1;
  std::unique_ptr<tls::Session> session;
  bool ktls = false;  // the kernel holds the record keys (see Tunnel's kTLS legs)
  net::SocketAddress address;
  uint64_t parked_ms = 0;
};

struct UpstreamPoolLimits {
  size_t per_host = 32;
  size_t total = 1024;
  uint64_t idle_ms = 60000;
  bool keeps() const { return per_host > 0 && total > 0; }  // 0 in either: nothing is kept
};

class UpstreamPool {
 public:
  UpstreamPool(const UpstreamPoolLimits& limits, ProxyMetrics& metrics);
  ~UpstreamPool();  // closes every idle connection
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Keeps `c` for the next tunnel to `key` (host:port), making room by closing the oldest.
  void park(const std::string& key, IdleUpstream c, uint64_t now_ms);
  // The newest healthy, unexpired connection for `key`; the others met on the way are closed.
  std::optional<IdleUpstream> take(const std::string& key, uint64_t now_ms);
  // Closes every connection idle for longer than the timeout.
  void expire(uint64_t now_ms);
  void clear();
  // New bounds (a reload): connections beyond them, oldest first, and expired ones are closed.
  void set_limits(const UpstreamPoolLimits& limits, uint64_t now_ms);
  size_t size() const { return total_; }

 private:
  void discard(IdleUpstream& c);
  // Closes the oldest connection of `host` / of the whole pool, counting it discarded.
  void drop_front(std::deque<IdleUpstream>& host);
  void drop_oldest();

  UpstreamPoolLimits limits_;
  ProxyMetrics& metrics_;
  absl::flat_hash_map<std::string, std::deque<IdleUpstream>> by_host_;
  size_t total_ = 0;
};

// Whether an idle socket is still good: not closed by its peer, nothing arrived on it.
bool idle_socket_healthy(int fd);

}  // namespace pamproxy::proxy
