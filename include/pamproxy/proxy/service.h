#pragma once
// The proxy as the engine runs it: one ProxyService per worker (engine::Service), sharing one
// ProxyShared built at start (the reloadable settings' publisher, the TLS contexts, the stage,
// every worker's metrics). The service owns its worker's tunnels and follows the published
// settings (see settings.h for what applies when).

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pamproxy/audit/ring.h"
#include "pamproxy/config/config.h"
#include "pamproxy/engine/worker.h"
#include "pamproxy/http/limits.h"
#include "pamproxy/proxy/audit_gate.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/proxy/destination.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/relay_memory.h"
#include "pamproxy/proxy/resolver.h"
#include "pamproxy/proxy/settings.h"
#include "pamproxy/proxy/stage.h"
#include "pamproxy/proxy/upstream_pool.h"
#include "pamproxy/tls/runtime.h"

namespace pamproxy::proxy {

class Tunnel;

struct ProxyShared {
  // The reloadable values (limits, timeouts, destinations, audit durability, pool bounds); the
  // daemon publishes new ones on reload.
  std::unique_ptr<SettingsPublisher> settings;
  // The CA, leaf cache, the client-facing and upstream contexts, and the kTLS decision.
  std::unique_ptr<tls::Runtime> tls;
  // Makes each worker's stage (called on the worker's thread). Set by from_config() to the
  // pass-through stage when [proxy] mode = "pass-through"; the daemon installs the zero-trust
  // stage (it needs the store's snapshots).
  std::function<std::unique_ptr<Stage>(int worker)> make_stage;
  // DNS for names without an [upstream] resolve override; one inbox per worker.
  std::unique_ptr<Resolver> resolver;
  std::vector<std::unique_ptr<ProxyMetrics>> metrics;  // one per worker, by index
  // The store's snapshot publisher (each worker keeps its own SnapshotReader); null when the
  // daemon runs without a store (tests of the bare engine).
  const policy::SnapshotPublisher* snapshots = nullptr;
  // One audit ring per worker, by index (owned by the audit writer); empty when audit is off.
  std::vector<audit::Ring*> audit_rings;

  // Everything but the TLS contexts from the configuration (settings generation 1); `workers`
  // sizes the metrics.
  static absl::StatusOr<std::unique_ptr<ProxyShared>> from_config(const config::Config& config,
                                                                  size_t workers);
  // The TLS side (tls::Runtime: the appliance CA loaded or created, the leaf cache, the
  // contexts, the kTLS decision; [engine] ktls "required" without the kernel's ULP is an
  // error). Logs which TLS path the relay runs.
  absl::Status init_tls(const config::Config& config, const config::Paths& paths);
  std::vector<const ProxyMetrics*> metrics_view() const;
};

class ProxyService final : public engine::Service,
                           private engine::IoHandler,
                           private engine::Timer::Handler {
 public:
  ProxyService(engine::Worker& worker, const ProxyShared& shared);
  ~ProxyService() override;

  void on_accept(int fd, const net::SocketAddress& peer) override;
  void on_drain() override;
  void on_abort() override;
  size_t live() const override { return tunnels_.size() + finished_.size(); }
  void after_dispatch() override;

  engine::Worker& worker() { return worker_; }
  const ProxyShared& shared() const { return shared_; }
  // The settings this worker is on; a new tunnel keeps a reference to them for its life.
  const std::shared_ptr<const ProxySettings>& settings() const { return settings_; }
  ProxyMetrics& metrics() { return metrics_; }
  AuditGate& audit() { return audit_gate_; }
  Stage& stage() { return *stage_; }
  uint64_t next_tunnel_id() { return ++tunnel_ids_; }
  bool draining() const { return draining_; }
  // Called by a tunnel once both its sockets are closed; frees it.
  void tunnel_finished(Tunnel* tunnel);
  // DNS for a tunnel: returns the cookie its answer will carry, or 0 when the resolver is busy.
  // The answer calls Tunnel::on_resolved unless cancel_dns(cookie) came first.
  uint64_t await_dns(Tunnel* tunnel, std::string_view host);
  void cancel_dns(uint64_t cookie) { dns_waiting_.erase(cookie); }
  // Idle upstream connections between tunnels (empty and unused while draining).
  UpstreamPool& upstream_pool() { return upstream_pool_; }
  // The relay mappings of closed tunnels, for the next ones (relay_memory.h).
  RelayMemoryCache& relay_memory() { return relay_memory_; }
  // A tunnel parked a connection: make sure expired ones get closed.
  void upstream_parked();

 private:
  engine::Worker& worker_;
  const ProxyShared& shared_;
  std::shared_ptr<const ProxySettings> settings_;
  ProxyMetrics& metrics_;
  RelayMemoryCache relay_memory_;  // outlives every tunnel (they give their mappings back)
  std::vector<Tunnel*> tunnels_;  // index kept in each tunnel: O(1) removal
  std::vector<Tunnel*> finished_;  // closed, freed in after_dispatch()
  bool draining_ = false;
  AuditGate audit_gate_;
  std::unique_ptr<Stage> stage_;
  uint64_t tunnel_ids_ = 0;
  UpstreamPool upstream_pool_;
  engine::Timer pool_timer_{this};  // closes expired idle connections while any are kept
  void on_timer(engine::Timer& t) override;
  // Takes up newly published settings: the stage, the audit gate and the pool follow them.
  void follow_settings();

  // The resolver's answers for this worker: its inbox eventfd, read through the ring.
  void on_cqe(uint8_t tag, int32_t res, uint32_t flags) override;
  void arm_dns_inbox();
  absl::flat_hash_map<uint64_t, Tunnel*> dns_waiting_;
  std::vector<Resolver::Answer> dns_answers_;
  uint64_t next_dns_cookie_ = 1;
  uint64_t dns_inbox_value_ = 0;
  bool dns_inbox_armed_ = false;
};

}  // namespace pamproxy::proxy
