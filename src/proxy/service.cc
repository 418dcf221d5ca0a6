#include "pamproxy/proxy/service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/tls/ktls.h"
#include "tunnel.h"

namespace pamproxy::proxy {

// Closed tunnels' relay mappings kept per worker for the next tunnels: at most this many times
// Tunnel::kRelayUsualBytes (400 KiB) stay resident, about 13 MiB per worker.
constexpr size_t kRelayMappingsKept = 32;

absl::StatusOr<std::unique_ptr<ProxyShared>> ProxyShared::from_config(const config::Config& c,
                                                                      size_t workers) {
  auto shared = std::make_unique<ProxyShared>();
  auto settings = ProxySettings::from_config(c, 1);
  if (!settings.ok()) return settings.status();
  shared->settings = std::make_unique<SettingsPublisher>(std::move(*settings));
  if (c.proxy.mode == config::ProxyMode::kPassThrough) {
    shared->make_stage = [](int) { return std::make_unique<PassThroughStage>(); };
  }
  ResolverOptions dns;
  dns.servers = c.upstream.dns_servers;
  dns.cache_entries = static_cast<size_t>(c.upstream.dns_cache_entries);
  dns.ttl_max_s = c.upstream.dns_ttl_max_s;
  // [timeouts] dns_ms bounds a whole lookup: c-ares' per-try timeout times its tries.
  dns.query_timeout_ms = std::max<int64_t>(100, c.timeouts.dns_ms / dns.tries);
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
      .kv("ktls_decision", tls->ktls.reason)
      // TLS 1.3 records outside the kernel: sealed by pamproxy, or by OpenSSL ([tls] own_records).
      .kv("records", tls->proxy_server->options().own_records ? "pamproxy" : "openssl")
      // The common TLS 1.3 client handshake: pamproxy's, or OpenSSL's ([tls] own_handshake).
      .kv("handshakes", tls->proxy_server->options().own_handshake ? "pamproxy" : "openssl");
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
      settings_(shared.settings->current()),
      metrics_(*shared.metrics[static_cast<size_t>(worker.index())]),
      relay_memory_(kRelayMappingsKept, Tunnel::kRelayUsualBytes),
      audit_gate_(worker.ring(),
                  shared.audit_rings.empty()
                      ? nullptr
                      : shared.audit_rings[static_cast<size_t>(worker.index())],
                  settings_->audit_before_forward),
      upstream_pool_(settings_->pool, metrics_) {
  PAMPROXY_CHECK(shared.tls != nullptr && shared.tls->proxy_server && shared.tls->upstream);
  PAMPROXY_CHECK(shared.make_stage != nullptr);
  stage_ = shared.make_stage(worker.index());
  stage_->follow(*settings_);
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
                         std::min<uint64_t>(settings_->pool.idle_ms, 1000));
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
  if (shared_.settings->generation() != settings_->generation) follow_settings();
}

void ProxyService::follow_settings() {
  settings_ = shared_.settings->current();
  stage_->follow(*settings_);
  audit_gate_.set_before_forward(settings_->audit_before_forward);
  upstream_pool_.set_limits(settings_->pool, worker_.now_ms());
  log::info("proxy.settings_followed")
      .kv("worker", static_cast<int64_t>(worker_.index()))
      .kv("generation", static_cast<int64_t>(settings_->generation));
}

}  // namespace pamproxy::proxy
