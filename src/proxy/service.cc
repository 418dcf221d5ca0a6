#include "pamproxy/proxy/service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/tls/ktls.h"
#include "tunnel.h"

namespace pamproxy::proxy {

absl::StatusOr<std::unique_ptr<ProxyShared>> ProxyShared::from_config(const config::Config& c,
                                                                      size_t workers) {
  auto shared = std::make_unique<ProxyShared>();
  auto policy = DestinationPolicy::from_config(c);
  if (!policy.ok()) return policy.status();
  shared->destinations = std::move(*policy);
  for (const std::string& text : c.proxy.proxy_protocol_trusted) {
    auto cidr = net::Cidr::parse(text);
    if (!cidr) {
      return absl::InvalidArgumentError(
          absl::StrCat("proxy.proxy_protocol_trusted: not a CIDR: \"", text, "\""));
    }
    shared->proxy_protocol_trusted.push_back(*cidr);
  }
  TunnelLimits& l = shared->limits;
  l.connect_head_bytes_max = static_cast<size_t>(c.limits.connect_head_bytes_max);
  l.connect_head_ms = static_cast<uint64_t>(c.timeouts.connect_head_ms);
  l.tls_handshake_ms = static_cast<uint64_t>(c.timeouts.tls_handshake_ms);
  l.upstream_connect_ms = static_cast<uint64_t>(c.timeouts.upstream_connect_ms);
  l.upstream_response_ms = static_cast<uint64_t>(c.timeouts.upstream_response_ms);
  l.idle_keepalive_ms = static_cast<uint64_t>(c.timeouts.idle_keepalive_ms);
  l.body_stall_ms = static_cast<uint64_t>(c.timeouts.body_stall_ms);
  l.buffered_body_bytes_max = static_cast<uint64_t>(c.proxy.buffered_body_bytes_max);
  l.http = http::limits_from(c.limits);
  if (c.proxy.mode == config::ProxyMode::kPassThrough) {
    // Unverified relaying is for engine tests and benchmarks: only toward destinations pinned to
    // loopback addresses, so it can never carry a request to AWS.
    for (const std::string& allowed : c.proxy.destination_allowlist) {
      std::string_view host = std::string_view(allowed).substr(0, allowed.rfind(':'));
      auto pinned = shared->destinations.override_for(host);
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
    shared->make_stage = [](int) { return std::make_unique<PassThroughStage>(); };
  }
  shared->audit_before_forward = c.audit.durability == config::Durability::kBeforeForward;
  shared->audit_refuse_when_full = c.audit.on_full == config::OnFull::kRefuse;
  shared->audit_hold_timeout_ms = static_cast<uint64_t>(c.audit.hold_timeout_ms);
  shared->pool.per_host = static_cast<size_t>(c.upstream.pool_idle_per_host);
  shared->pool.total = static_cast<size_t>(c.upstream.pool_idle_total);
  shared->pool.idle_ms = static_cast<uint64_t>(c.upstream.pool_idle_timeout_ms);
  ResolverOptions dns;
  dns.servers = c.upstream.dns_servers;
  dns.cache_entries = static_cast<size_t>(c.upstream.dns_cache_entries);
  dns.ttl_max_s = c.upstream.dns_ttl_max_s;
  dns.inboxes = workers;
  auto resolver = Resolver::start(dns);
  if (!resolver.ok()) return resolver.status();
  shared->resolver = std::move(*resolver);
  for (size_t i = 0; i < workers; ++i) shared->metrics.push_back(std::make_unique<ProxyMetrics>());
  return shared;
}

absl::Status ProxyShared::init_tls(const config::Config& c, const config::Paths& paths) {
  auto runtime = tls::Runtime::create(c, paths, tls::probe_ktls());
  if (!runtime.ok()) return runtime.status();
  tls = std::move(*runtime);
  // Each tunnel's legs go to the kernel after their handshakes when this says ktls; the
  // tunnel.established line and the tls_* metrics say which path each tunnel took.
  log::info("proxy.tls_path")
      .kv("path", tls->ktls.enabled ? "ktls" : "userspace")
      .kv("ktls_decision", tls->ktls.reason);
  return absl::OkStatus();
}

std::vector<const ProxyMetrics*> ProxyShared::metrics_view() const {
  std::vector<const ProxyMetrics*> out;
  for (const auto& m : metrics) out.push_back(m.get());
  return out;
}

ProxyService::ProxyService(engine::Worker& worker, const ProxyShared& shared)
    : worker_(worker),
      shared_(shared),
      metrics_(*shared.metrics[static_cast<size_t>(worker.index())]),
      audit_gate_(worker.ring(),
                  shared.audit_rings.empty()
                      ? nullptr
                      : shared.audit_rings[static_cast<size_t>(worker.index())],
                  shared.audit_before_forward),
      upstream_pool_(shared.pool, metrics_) {
  PAMPROXY_CHECK(shared.tls != nullptr && shared.tls->proxy_server && shared.tls->upstream);
  PAMPROXY_CHECK(shared.make_stage != nullptr);
  stage_ = shared.make_stage(worker.index());
  if (shared_.resolver) arm_dns_inbox();
}

void ProxyService::arm_dns_inbox() {
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_read(s, shared_.resolver->inbox_fd(static_cast<size_t>(worker_.index())),
                     &dns_inbox_value_, sizeof(dns_inbox_value_), 0);
  io_uring_sqe_set_data64(s, engine::pack_user_data(this, 0));
  dns_inbox_armed_ = true;
}

void ProxyService::on_cqe(uint8_t, int32_t res, uint32_t) {
  dns_inbox_armed_ = false;
  dns_answers_.clear();
  shared_.resolver->take_answers(static_cast<size_t>(worker_.index()), &dns_answers_);
  for (Resolver::Answer& a : dns_answers_) {
    auto it = dns_waiting_.find(a.cookie);
    if (it == dns_waiting_.end()) continue;  // the tunnel closed meanwhile
    Tunnel* t = it->second;
    dns_waiting_.erase(it);
    t->on_resolved(a.addresses);
  }
  if (res >= 0 || res == -EAGAIN || res == -EINTR) arm_dns_inbox();
}

uint64_t ProxyService::await_dns(Tunnel* tunnel, std::string_view host) {
  const uint64_t cookie = next_dns_cookie_++;
  if (!shared_.resolver->submit(host, static_cast<size_t>(worker_.index()), cookie)) return 0;
  dns_waiting_.emplace(cookie, tunnel);
  return cookie;
}

ProxyService::~ProxyService() {
  after_dispatch();
  // Only reached with tunnels left when the worker stops abnormally; their sockets are closed
  // by the Stream destructors.
  for (Tunnel* t : tunnels_) delete t;
}

void ProxyService::on_accept(int fd, const net::SocketAddress& peer) {
  auto* t = new Tunnel(*this, fd, peer);
  t->index = tunnels_.size();
  tunnels_.push_back(t);
  t->start();
}

void ProxyService::upstream_parked() {
  if (!pool_timer_.armed()) {
    worker_.timers().arm(pool_timer_, worker_.now_ms(),
                         std::min<uint64_t>(shared_.pool.idle_ms, 1000));
  }
}

void ProxyService::on_timer(engine::Timer&) {
  upstream_pool_.expire(worker_.now_ms());
  if (upstream_pool_.size() > 0 && !draining_) upstream_parked();
}

void ProxyService::on_drain() {
  draining_ = true;
  upstream_pool_.clear();
  worker_.timers().cancel(pool_timer_);
  // drain() may close tunnels: walk a copy of the list.
  std::vector<Tunnel*> all = tunnels_;
  for (Tunnel* t : all) t->drain();
}

void ProxyService::on_abort() {
  upstream_pool_.clear();
  std::vector<Tunnel*> all = tunnels_;
  for (Tunnel* t : all) t->abort(Cause::kDrainDeadline);
}

void ProxyService::tunnel_finished(Tunnel* t) {
  PAMPROXY_CHECK(t->index < tunnels_.size() && tunnels_[t->index] == t);
  Tunnel* last = tunnels_.back();
  tunnels_[t->index] = last;
  last->index = t->index;
  tunnels_.pop_back();
  finished_.push_back(t);
}

void ProxyService::after_dispatch() {
  for (Tunnel* t : finished_) {
    worker_.connection_closed(t->peer().ip);
    delete t;
  }
  finished_.clear();
}

}  // namespace pamproxy::proxy
