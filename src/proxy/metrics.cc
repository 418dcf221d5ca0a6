#include "pamproxy/proxy/metrics.h"

#include <string>

#include "pamproxy/tls/ktls.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::proxy {

std::string_view cause_name(Cause cause) {
  switch (cause) {
    case Cause::kClientClosed: return "client_closed";
    case Cause::kUpstreamClosed: return "upstream_closed";
    case Cause::kDrained: return "drained";
    case Cause::kBadConnect: return "bad_connect";
    case Cause::kConnectTooLarge: return "connect_too_large";
    case Cause::kConnectTimeout: return "connect_timeout";
    case Cause::kForbidden: return "forbidden";
    case Cause::kProxyDisabled: return "proxy_disabled";
    case Cause::kClientTlsFailed: return "client_tls_failed";
    case Cause::kSniMismatch: return "sni_mismatch";
    case Cause::kTlsTimeout: return "tls_timeout";
    case Cause::kDnsFailed: return "dns_failed";
    case Cause::kUpstreamRefused: return "upstream_refused";
    case Cause::kUpstreamTimeout: return "upstream_timeout";
    case Cause::kUpstreamUntrusted: return "upstream_untrusted";
    case Cause::kUpstreamTlsFailed: return "upstream_tls_failed";
    case Cause::kUpstreamReset: return "upstream_reset";
    case Cause::kClientReset: return "client_reset";
    case Cause::kIdleTimeout: return "idle_timeout";
    case Cause::kResponseTimeout: return "response_timeout";
    case Cause::kDrainDeadline: return "drain_deadline";
    case Cause::kBadRequest: return "bad_request";
    case Cause::kDenied: return "denied";
    case Cause::kInternal: return "internal";
    case Cause::kCount: break;
  }
  return "unknown";
}

std::string render_prometheus(std::span<const ProxyMetrics* const> workers) {
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto getter) {
    out.append("# HELP pamproxy_").append(name).append(" ").append(help);
    out.append("\n# TYPE pamproxy_").append(name).append(" ").append(type).append("\n");
    for (size_t i = 0; i < workers.size(); ++i) {
      out.append("pamproxy_").append(name).append("{worker=\"").append(std::to_string(i));
      out.append("\"} ").append(std::to_string(getter(*workers[i]))).append("\n");
    }
  };
  family("tunnels_opened_total", "counter", "CONNECT tunnels accepted",
         [](const ProxyMetrics& m) { return m.tunnels_opened.get(); });
  family("tunnels_open", "gauge", "tunnels open now",
         [](const ProxyMetrics& m) { return m.tunnels_open.get(); });
  family("client_handshakes_total", "counter", "TLS handshakes completed with clients",
         [](const ProxyMetrics& m) { return m.client_handshakes.get(); });
  family("client_handshakes_pamproxy_total", "counter",
         "TLS 1.3 client handshakes answered by pamproxy itself (the others: OpenSSL)",
         [](const ProxyMetrics& m) { return m.client_handshakes_own.get(); });
  family("upstream_handshakes_total", "counter", "TLS handshakes completed with upstreams",
         [](const ProxyMetrics& m) { return m.upstream_handshakes.get(); });
  family("tls_userspace_total", "counter", "tunnels relayed with user-space TLS",
         [](const ProxyMetrics& m) { return m.tls_userspace.get(); });
  family("upstream_pool_parked_total", "counter",
         "upstream connections kept idle after their tunnel ended, for the next tunnel",
         [](const ProxyMetrics& m) { return m.upstream_pool_parked.get(); });
  family("upstream_pool_reused_total", "counter",
         "tunnels that took a kept upstream connection (no connect, no handshake)",
         [](const ProxyMetrics& m) { return m.upstream_pool_reused.get(); });
  family("upstream_pool_discarded_total", "counter",
         "kept upstream connections closed: idle too long, closed by the peer, over the bounds",
         [](const ProxyMetrics& m) { return m.upstream_pool_discarded.get(); });
  family("upstream_pool_idle", "gauge", "upstream connections kept idle now",
         [](const ProxyMetrics& m) { return m.upstream_pool_idle.get(); });
  family("tunnel_idle_releases_total", "counter",
         "quiet tunnels that gave their relay and TLS record buffers back",
         [](const ProxyMetrics& m) { return m.idle_releases.get(); });
  family("tunnel_lingering_closes_total", "counter",
         "tunnels that read and dropped the rest of a request refused mid-body before closing, "
         "so the client saw the answer",
         [](const ProxyMetrics& m) { return m.lingering_closes.get(); });
  family("tunnel_lingering_cut_total", "counter",
         "lingering closes ended by lingering_close_ms or lingering_close_bytes_max, not by the "
         "client",
         [](const ProxyMetrics& m) { return m.lingering_cut.get(); });
  family("tunnel_lingering_discarded_bytes_total", "counter",
         "bytes clients sent after a refusal, read and dropped while lingering",
         [](const ProxyMetrics& m) { return m.lingering_discarded_bytes.get(); });
  family("tls_ktls_total", "counter", "tunnels relayed with kernel TLS (one leg or both)",
         [](const ProxyMetrics& m) { return m.tls_ktls.get(); });
  family("tls_ktls_fallbacks_total", "counter",
         "tunnel legs left in user-space TLS although kTLS was on (the log says why)",
         [](const ProxyMetrics& m) { return m.tls_ktls_fallbacks.get(); });
  family("ktls_spurious_eofs_total", "counter",
         "kTLS receives that completed with 0 on a connection still open (received again)",
         [](const ProxyMetrics& m) { return m.ktls_spurious_eofs.get(); });
  family("ktls_control_records_total", "counter",
         "TLS control records (tickets, alerts) read from kernel TLS sockets",
         [](const ProxyMetrics& m) { return m.ktls_control_records.get(); });
  family("client_bytes_in_total", "counter", "bytes received from clients",
         [](const ProxyMetrics& m) { return m.bytes_client_in.get(); });
  family("client_bytes_out_total", "counter", "bytes sent to clients",
         [](const ProxyMetrics& m) { return m.bytes_client_out.get(); });
  family("upstream_bytes_in_total", "counter", "bytes received from upstreams",
         [](const ProxyMetrics& m) { return m.bytes_upstream_in.get(); });
  family("upstream_bytes_out_total", "counter", "bytes sent to upstreams",
         [](const ProxyMetrics& m) { return m.bytes_upstream_out.get(); });
  out.append("# HELP pamproxy_tunnels_closed_total tunnels ended, by cause\n");
  out.append("# TYPE pamproxy_tunnels_closed_total counter\n");
  for (size_t i = 0; i < workers.size(); ++i) {
    for (size_t c = 0; c < static_cast<size_t>(Cause::kCount); ++c) {
      out.append("pamproxy_tunnels_closed_total{worker=\"").append(std::to_string(i));
      out.append("\",cause=\"").append(cause_name(static_cast<Cause>(c))).append("\"} ");
      out.append(std::to_string(workers[i]->closed[c].get())).append("\n");
    }
  }
  // Process-wide: the TLS module counts it, not a worker.
  out.append(
      "# HELP pamproxy_tls_own_records_unproven_total TLS 1.3 connections closed at the switch "
      "to pamproxy's records because OpenSSL's record number was not the one counted\n");
  out.append("# TYPE pamproxy_tls_own_records_unproven_total counter\n");
  out.append("pamproxy_tls_own_records_unproven_total ")
      .append(std::to_string(tls::own_record_switches_unproven()))
      .append("\n");
  // Apart from the switch above: another path (kTLS, TLS 1.2 as well as 1.3), another setting to
  // turn it off (engine.ktls rather than own_records).
  out.append(
      "# HELP pamproxy_tls_ktls_unproven_total Connections closed at the hand-over to kernel TLS "
      "because the transmit keys counted for the kernel did not seal OpenSSL's probe record the "
      "same\n");
  out.append("# TYPE pamproxy_tls_ktls_unproven_total counter\n");
  out.append("pamproxy_tls_ktls_unproven_total ")
      .append(std::to_string(tls::ktls_handoffs_unproven()))
      .append("\n");
  return out;
}

}  // namespace pamproxy::proxy
