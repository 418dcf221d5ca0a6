#include "pamproxy/proxy/service.h"

#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/ktls.h"
#include "pamproxy/tls/leaf_cache.h"
#include "tunnel.h"

namespace pamproxy::proxy {

absl::StatusOr<std::unique_ptr<ProxyShared>> ProxyShared::from_config(const config::Config& c,
                                                                      size_t workers) {
  auto shared = std::make_unique<ProxyShared>();
  auto policy = DestinationPolicy::from_config(c);
  if (!policy.ok()) return policy.status();
  shared->destinations = std::move(*policy);
  TunnelLimits& l = shared->limits;
  l.connect_head_bytes_max = static_cast<size_t>(c.limits.connect_head_bytes_max);
  l.connect_head_ms = static_cast<uint64_t>(c.timeouts.connect_head_ms);
  l.tls_handshake_ms = static_cast<uint64_t>(c.timeouts.tls_handshake_ms);
  l.upstream_connect_ms = static_cast<uint64_t>(c.timeouts.upstream_connect_ms);
  l.upstream_response_ms = static_cast<uint64_t>(c.timeouts.upstream_response_ms);
  l.idle_keepalive_ms = static_cast<uint64_t>(c.timeouts.idle_keepalive_ms);
  l.body_stall_ms = static_cast<uint64_t>(c.timeouts.body_stall_ms);
  shared->stage = std::make_unique<PassThroughStage>();
  for (size_t i = 0; i < workers; ++i) shared->metrics.push_back(std::make_unique<ProxyMetrics>());
  return shared;
}

absl::Status ProxyShared::init_tls(const config::Config& c, const std::string& ca_cert_file,
                                   const std::string& ca_key_file) {
  auto ca = tls::CertificateAuthority::load_or_create(ca_cert_file, ca_key_file);
  if (!ca.ok()) return ca.status();
  if ((*ca)->created()) {
    log::warn("tls.ca_created").kv("cert", ca_cert_file)
        .kv("detail", "a new appliance CA was made: clients must trust this certificate");
  }
  std::shared_ptr<const tls::CertificateAuthority> shared_ca(std::move(*ca));
  auto leaves = tls::LeafCache::create(shared_ca, static_cast<size_t>(c.tls.leaf_cache_entries),
                                       c.tls.leaf_validity_days);
  if (!leaves.ok()) return leaves.status();

  tls::KtlsProbe probe = tls::probe_ktls();
  auto decision = tls::decide_ktls(c.engine.ktls, probe);
  if (!decision.ok()) return decision.status();
  ktls = decision->enabled;
  log::info("tls.ktls").kv("enabled", ktls).kv("reason", decision->reason)
      .kv("probe", probe.detail)
      .kv("relay_path", "userspace");
  if (ktls) {
    // The relay moves bytes through user-space TLS sessions; offloading an established pair to
    // the kernel is not wired into it yet. Say so rather than count kTLS that did not happen.
    log::warn("tls.ktls_not_used")
        .kv("detail", "the kernel offers kTLS but this relay runs TLS in user space");
  }

  tls::ContextOptions options;
  options.min_version = c.tls.min_version;
  auto server = tls::ServerContext::create(*leaves, options);
  if (!server.ok()) return server.status();
  client_facing = std::move(*server);
  tls::ClientOptions client_options;
  client_options.context = options;
  client_options.ca_file = c.tls.upstream_ca_file;
  auto client = tls::ClientContext::create(client_options);
  if (!client.ok()) return client.status();
  upstream = std::move(*client);
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
      metrics_(*shared.metrics[static_cast<size_t>(worker.index())]) {
  PAMPROXY_CHECK(shared.client_facing != nullptr && shared.upstream != nullptr);
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

void ProxyService::on_drain() {
  draining_ = true;
  // drain() may close tunnels: walk a copy of the list.
  std::vector<Tunnel*> all = tunnels_;
  for (Tunnel* t : all) t->drain();
}

void ProxyService::on_abort() {
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
