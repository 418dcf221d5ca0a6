#include "pamproxy/proxy/settings.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"

namespace pamproxy::proxy {

absl::StatusOr<std::shared_ptr<const ProxySettings>> ProxySettings::from_config(
    const config::Config& c, uint64_t generation) {
  auto s = std::make_shared<ProxySettings>();
  s->generation = generation;
  auto policy = DestinationPolicy::from_config(c);
  if (!policy.ok()) return policy.status();
  s->destinations = std::move(*policy);
  for (const std::string& text : c.proxy.proxy_protocol_trusted) {
    auto cidr = net::Cidr::parse(text);
    if (!cidr) {
      return absl::InvalidArgumentError(
          absl::StrCat("proxy.proxy_protocol_trusted: not a CIDR: \"", text, "\""));
    }
    s->proxy_protocol_trusted.push_back(*cidr);
  }
  TunnelLimits& l = s->limits;
  l.connect_head_bytes_max = static_cast<size_t>(c.limits.connect_head_bytes_max);
  l.connect_head_ms = static_cast<uint64_t>(c.timeouts.connect_head_ms);
  l.tls_handshake_ms = static_cast<uint64_t>(c.timeouts.tls_handshake_ms);
  l.upstream_connect_ms = static_cast<uint64_t>(c.timeouts.upstream_connect_ms);
  l.upstream_response_ms = static_cast<uint64_t>(c.timeouts.upstream_response_ms);
  l.idle_keepalive_ms = static_cast<uint64_t>(c.timeouts.idle_keepalive_ms);
  l.body_stall_ms = static_cast<uint64_t>(c.timeouts.body_stall_ms);
  l.lingering_close_ms = static_cast<uint64_t>(c.timeouts.lingering_close_ms);
  l.lingering_close_bytes_max = static_cast<uint64_t>(c.limits.lingering_close_bytes_max);
  l.buffered_body_bytes_max = static_cast<uint64_t>(c.proxy.buffered_body_bytes_max);
  l.http = http::limits_from(c.limits);
  if (c.proxy.mode == config::ProxyMode::kPassThrough) {
    // Unverified relaying is for engine tests and benchmarks: only toward destinations pinned to
    // loopback addresses, so it can never carry a request to AWS.
    for (const std::string& allowed : c.proxy.destination_allowlist) {
      std::string_view host = std::string_view(allowed).substr(0, allowed.rfind(':'));
      auto pinned = s->destinations.override_for(host);
      auto literal = net::IpAddress::parse(host);
      const bool loopback = (pinned && pinned->ip.is_loopback()) ||
                            (literal && literal->is_loopback());
      if (host.starts_with("*.") || !loopback) {
        return absl::InvalidArgumentError(absl::StrCat(
            "proxy.mode = \"pass-through\" relays requests unverified and is allowed only when "
            "every destination is pinned to a loopback address by [upstream] resolve; \"",
            allowed, "\" is not"));
      }
    }
  }
  s->clock_skew_s = c.proxy.clock_skew_s;
  s->presigned_expiry_max_s = c.proxy.presigned_expiry_max_s;
  s->audit_before_forward = c.audit.durability == config::Durability::kBeforeForward;
  s->audit_refuse_when_full = c.audit.on_full == config::OnFull::kRefuse;
  s->audit_hold_timeout_ms = static_cast<uint64_t>(c.audit.hold_timeout_ms);
  s->pool.per_host = static_cast<size_t>(c.upstream.pool_idle_per_host);
  s->pool.total = static_cast<size_t>(c.upstream.pool_idle_total);
  s->pool.idle_ms = static_cast<uint64_t>(c.upstream.pool_idle_timeout_ms);
  return std::shared_ptr<const ProxySettings>(std::move(s));
}

}  // namespace pamproxy::proxy
