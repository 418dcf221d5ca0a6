#pragma once
// The proxy's counters, one block per worker (written only by that worker, read by anyone:
// engine::Counter), and their Prometheus text rendering for the admin API.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pamproxy/engine/counter.h"

namespace pamproxy::proxy {

// Why a tunnel ended. Every tunnel ends with exactly one cause, logged and counted.
enum class Cause : uint8_t {
  kClientClosed,         // normal: the client closed (between requests or after close_notify)
  kUpstreamClosed,       // normal: the upstream closed its side and the response was complete
  kDrained,              // shutdown drain closed it
  kBadConnect,           // garbage or not a CONNECT head
  kConnectTooLarge,      // head over connect_head_bytes_max
  kConnectTimeout,       // no complete head within connect_head_ms
  kForbidden,            // target not on the allowlist / private address
  kProxyDisabled,        // proxy.enabled off
  kClientTlsFailed,      // client handshake failed (not TLS, bad SNI, alerts)
  kSniMismatch,          // SNI absent or not the CONNECT host
  kTlsTimeout,           // a handshake took longer than tls_handshake_ms
  kDnsFailed,            // the name did not resolve
  kUpstreamRefused,      // TCP connect failed
  kUpstreamTimeout,      // connect + handshake over upstream_connect_ms
  kUpstreamUntrusted,    // upstream certificate chain or host name did not verify
  kUpstreamTlsFailed,    // other upstream TLS failure
  kUpstreamReset,        // upstream reset or ended mid-exchange
  kClientReset,          // client reset or vanished mid-exchange
  kIdleTimeout,          // idle_keepalive_ms / body_stall_ms passed with no bytes
  kResponseTimeout,      // upstream_response_ms passed with no response
  kDrainDeadline,        // still busy when shutdown_drain_ms passed
  kBadRequest,           // a request inside the tunnel was not valid HTTP/1.1 or named another Host
  kDenied,               // the stage refused a request
  kInternal,             // a resource failure (socket, memory): logged with detail
  kCount,
};
std::string_view cause_name(Cause cause);

struct alignas(64) ProxyMetrics {
  engine::Counter tunnels_opened;
  engine::Counter tunnels_open;  // gauge
  engine::Counter client_handshakes;
  engine::Counter client_handshakes_resumed;
  engine::Counter client_handshakes_own;  // answered by pamproxy ([tls] own_handshake)
  engine::Counter upstream_handshakes;
  engine::Counter upstream_handshakes_resumed;
  engine::Counter tls_userspace;  // tunnels whose legs ran OpenSSL in user space
  engine::Counter tls_ktls;       // tunnels with at least one kTLS leg
  engine::Counter tls_ktls_fallbacks;    // legs left in user space although kTLS was on
  engine::Counter ktls_control_records;  // control records read from kTLS sockets
  engine::Counter ktls_spurious_eofs;    // kTLS receives that returned 0 on an open connection
  engine::Counter idle_releases;  // quiet tunnels that gave their buffers back
  // Tunnels that read and dropped the rest of a refused request before closing, those a bound
  // (lingering_close_ms, lingering_close_bytes_max) cut short, and the bytes dropped.
  engine::Counter lingering_closes;
  engine::Counter lingering_cut;
  engine::Counter lingering_discarded_bytes;
  engine::Counter upstream_pool_parked;     // upstream connections kept after their tunnel
  engine::Counter upstream_pool_reused;     // tunnels that took a kept connection
  engine::Counter upstream_pool_discarded;  // kept ones closed: expired, unhealthy, over bounds
  engine::Counter upstream_pool_idle;       // gauge: kept now
  engine::Counter bytes_client_in;
  engine::Counter bytes_client_out;
  engine::Counter bytes_upstream_in;
  engine::Counter bytes_upstream_out;
  std::array<engine::Counter, static_cast<size_t>(Cause::kCount)> closed;

  void count_close(Cause c) { closed[static_cast<size_t>(c)].add(); }
  uint64_t closed_count(Cause c) const { return closed[static_cast<size_t>(c)].get(); }
};

// Prometheus text exposition of every worker's counters (label worker="i").
std::string render_prometheus(std::span<const ProxyMetrics* const> workers);

}  // namespace pamproxy::proxy
