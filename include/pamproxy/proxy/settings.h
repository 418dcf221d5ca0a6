#pragma once
// The proxy's reloadable settings: every [proxy], [limits], [timeouts], [upstream] and [audit]
// value a tunnel or a worker's stage reads, built from the configuration at start and again on
// each SIGHUP reload (only keys not marked restart-only in the schema live here).
//
// Owns: one immutable ProxySettings per configuration generation. The daemon publishes a new one;
// each worker picks it up with one atomic load per loop (Publisher::generation), and each
// tunnel keeps the settings it started with (a shared_ptr) for its whole life, so a tunnel never
// sees half of one configuration and half of another. What applies when:
//   - new tunnels: limits, timeouts, destination allowlist, resolve overrides, PROXY protocol
//     peers, audit durability and hold;
//   - the next request, on open tunnels too: the zero-trust stage's clock skew, presigned
//     expiry and buffered body cap (the stage is per worker);
//   - at once: the upstream pool's bounds (a smaller bound closes the oldest idle connections).
// Never: I/O, the TLS contexts, thread lifetimes (those are restart-only).

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/base/publisher.h"
#include "pamproxy/config/config.h"
#include "pamproxy/http/limits.h"
#include "pamproxy/proxy/destination.h"
#include "pamproxy/proxy/upstream_pool.h"

namespace pamproxy::proxy {

// The [limits] and [timeouts] a tunnel applies.
struct TunnelLimits {
  size_t connect_head_bytes_max = 4096;
  uint64_t connect_head_ms = 10000;
  uint64_t tls_handshake_ms = 10000;
  uint64_t upstream_connect_ms = 10000;
  uint64_t upstream_response_ms = 120000;
  uint64_t idle_keepalive_ms = 60000;
  uint64_t body_stall_ms = 60000;
  // After a request refused in the middle of its body: how long, and how many bytes, the rest
  // of what the client sends is read and dropped before its connection closes.
  uint64_t lingering_close_ms = 5000;
  uint64_t lingering_close_bytes_max = 64 << 20;
  uint64_t buffered_body_bytes_max = 8 << 20;  // [proxy]: the most a request body is buffered
  http::Limits http;  // head sizes and counts for the requests inside the tunnel
};

struct ProxySettings {
  uint64_t generation = 0;  // 1 at start, +1 per reload
  TunnelLimits limits;
  DestinationPolicy destinations;
  // Peers that must start with a PROXY protocol v2 header naming the real client.
  std::vector<net::Cidr> proxy_protocol_trusted;
  // [proxy] clock_skew_s, presigned_expiry_max_s (the zero-trust stage).
  int64_t clock_skew_s = 900;
  int64_t presigned_expiry_max_s = 604800;
  // [audit] durability = "before-forward", on_full, hold_timeout_ms.
  bool audit_before_forward = true;
  bool audit_refuse_when_full = false;
  uint64_t audit_hold_timeout_ms = 5000;
  // [upstream] pool_idle_per_host, pool_idle_total, pool_idle_timeout_ms.
  UpstreamPoolLimits pool;

  // Errors name the key. With [proxy] mode = "pass-through" every allowed destination must be
  // pinned to a loopback address (checked on reload too: a reload cannot widen it).
  static absl::StatusOr<std::shared_ptr<const ProxySettings>> from_config(
      const config::Config& config, uint64_t generation);
};

inline uint64_t generation_of(const ProxySettings& settings) {
  return settings.generation;
}

// Holds the current settings for every worker. publish() is called by the control thread only.
using SettingsPublisher = Publisher<ProxySettings>;

}  // namespace pamproxy::proxy
