// pamproxyd: loads the configuration, prepares the state directory, starts the components that
// this build has, and serves signals (SIGTERM/SIGINT stop, SIGHUP reloads) until told to stop.
// The components themselves live in the library; this file only wires them together.

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bootstrap_token.h"
#include "control_events.h"
#include "options.h"
#include "pamproxy/admin/api.h"
#include "pamproxy/admin/server.h"
#include "pamproxy/audit/shipper.h"
#include "pamproxy/audit/signing_key.h"
#include "pamproxy/audit/writer.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/config/config.h"
#include "pamproxy/engine/engine.h"
#include "pamproxy/identity/relying_party.h"
#include "pamproxy/notify/deliver.h"
#include "pamproxy/notify/notifier.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/replay_cache.h"
#include "pamproxy/proxy/service.h"
#include "pamproxy/proxy/zero_trust_stage.h"
#include "pamproxy/store/session_indexer.h"
#include "pamproxy/store/store.h"

namespace pamproxy::daemon {
namespace {

void apply_log_settings(const config::Config& c) {
  log::set_level(static_cast<log::Level>(static_cast<int>(c.log.level)));
  log::set_format(c.log.format == config::LogFormat::kJson ? log::Format::json : log::Format::kv);
}

void print_errors(const std::vector<config::Error>& errors) {
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
}

// mkdir -p with mode 0700 for directories we create; existing ones are left as they are.
bool make_private_dirs(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// On shutdown, the longest wait for the collector to confirm the last lines (a connected
// shipper only).
constexpr int kShipDrainMs = 2000;

class Daemon {
 public:
  Daemon(Options options, config::Config config)
      : options_(std::move(options)), config_(std::move(config)) {}

  int run() {
    const char* state_env = std::getenv("STATE_DIRECTORY");
    const char* cred_env = std::getenv("CREDENTIALS_DIRECTORY");
    paths_ = config::resolve_paths(config_, state_env, cred_env);
    if (!make_private_dirs(paths_.state_directory)) {
      log::error("daemon.state_dir_failed")
          .kv("dir", paths_.state_directory)
          .kv("error", std::strerror(errno));
      return 1;
    }
    log::info("daemon.starting")
        .kv("version", PAMPROXY_VERSION)
        .kv("config", options_.config_file ? *options_.config_file : "(embedded defaults)")
        .kv("state_dir", paths_.state_directory);

    if (!open_store()) return 1;
    if (!open_audit()) return 1;
    // After the audit writer runs, so the bootstrap itself is an audited admin change.
    if (!bootstrap_admin()) {
      stop_audit();
      return 1;
    }
    if (!start_engine()) {
      stop_audit();
      return 1;
    }
    if (!start_admin()) {
      stop_engine();
      stop_audit();
      return 1;
    }

    int code = serve_signals();
    stop_admin();
    stop_engine();
    stop_audit();
    return code;
  }

 private:
  // Opens the store: a wrong master key, a newer schema or a corrupt file stops the start and
  // changes nothing. bootstrap_admin() then creates, on the very first start only, the admin user
  // and its token.
  bool open_store() {
    store::StoreOptions options{.database_file = paths_.database_file,
                                .master_key_file = paths_.master_key_file,
                                .busy_timeout_ms = config_.store.busy_timeout_ms};
    if (config_.store.backend == config::StoreBackend::kPostgresql) {
      options.backend = store::StoreBackend::kPostgresql;
      options.connect_timeout_ms = config_.store.connect_timeout_ms;
      options.postgresql_url = config_.store.postgresql_url;
      if (options.postgresql_url.empty()) {
        std::ifstream in(config_.store.postgresql_url_file);
        std::getline(in, options.postgresql_url);
        if (options.postgresql_url.empty()) {
          log::error("store.open_failed")
              .kv("postgresql_url_file", config_.store.postgresql_url_file)
              .kv("error", "cannot read a connection string from the file");
          return false;
        }
      }
    }
    auto s = store::Store::open(std::move(options));
    // The PostgreSQL server is named in the error without its password; here only the kind.
    const std::string database = config_.store.backend == config::StoreBackend::kPostgresql
                                     ? std::string("postgresql")
                                     : paths_.database_file;
    if (!s.ok()) {
      log::error("store.open_failed")
          .kv("database", database)
          .kv("master_key", paths_.master_key_file)
          .kv("error", std::string(s.status().message()));
      return false;
    }
    store_ = std::move(*s);
    log::info("store.opened")
        .kv("database", database)
        .kv("schema_version", store_->schema_version())
        .kv("generation", static_cast<int64_t>(store_->publisher().generation()));
    // A shared database: the changes other nodes make reach this one's snapshot as they happen.
    store_->follow_changes();
    return true;
  }

  bool bootstrap_admin() {
    auto boot = store_->bootstrap("admin");
    if (!boot.ok()) {
      log::error("store.bootstrap_failed").kv("error", std::string(boot.status().message()));
      return false;
    }
    return !boot->has_value() || publish_bootstrap_token(**boot, paths_, config_);
  }

  // The audit writer: recovers the log (a torn tail is cut and recorded), then runs its thread.
  // One ring per engine worker and one for the control plane.
  bool open_audit() {
    auto key = audit::SigningKey::load_or_create(paths_.audit_signing_key_file);
    if (!key.ok()) {
      log::error("audit.key_failed")
          .kv("file", paths_.audit_signing_key_file)
          .kv("error", std::string(key.status().message()));
      return false;
    }
    std::string node = config_.audit.node_name;
    if (node.empty()) {
      char host[256] = {};
      node = ::gethostname(host, sizeof host - 1) == 0 ? host : "pamproxy";
    }
    audit_public_key_pem_ = key->public_key().pem();
    audit::WriterOptions o;
    o.directory = paths_.audit_directory;
    o.node = node;
    o.ring_entries = static_cast<size_t>(config_.audit.ring_entries);
    o.commit_interval_ms = config_.audit.commit_interval_ms;
    o.rotate_bytes = config_.audit.rotate_bytes;
    o.rotate_age_s = config_.audit.rotate_age_s;
    o.retention_days = config_.audit.retention_days;
    o.checkpoint_interval_s = config_.audit.checkpoint_interval_s;
    o.preallocate_bytes = config_.audit.preallocate_bytes;
    auto w = audit::Writer::open(std::move(o), std::move(*key));
    if (!w.ok()) {
      log::error("audit.open_failed")
          .kv("dir", paths_.audit_directory)
          .kv("error", std::string(w.status().message()));
      return false;
    }
    audit_ = std::move(*w);
    auto engine_options = engine::EngineOptions::from_config(config_);
    const int workers = engine_options.ok() ? engine_options->worker_count() : 1;
    for (int i = 0; i < workers; ++i) worker_rings_.push_back(audit_->add_producer());
    control_events_ =
        std::make_unique<ControlEvents>(audit_->add_producer(), config_.audit.hold_timeout_ms);
    store_->set_change_sink(control_events_.get());
    audit_->start();
    const audit::RecoveryReport& r = audit_->recovery();
    log::info("audit.started")
        .kv("dir", paths_.audit_directory)
        .kv("node", node)
        .kv("rings", static_cast<int64_t>(workers + 1))
        .kv("durability", config_.audit.durability == config::Durability::kBeforeForward
                              ? "before-forward"
                              : "async")
        .kv("recovered_file", r.file)
        .kv("bytes_cut", static_cast<int64_t>(r.bytes_cut));
    // Session reports are built from the log as it grows.
    sessions_ = std::make_unique<store::SessionIndexer>(
        *store_, store::SessionIndexerOptions{
                     .audit_directory = paths_.audit_directory,
                     .node = node,
                     .idle_timeout_s = config_.session.idle_timeout_s,
                 });
    sessions_->start();
    start_notifier();
    return start_shipper(node);
  }

  // [notify]: the store queues a request's notifications with it; a thread of their own delivers
  // them (blocking on the network), and its failures are audited on the control ring.
  void start_notifier() {
    store_->set_notify_channels(notify::channels_of(config_.notify));
    ControlEvents* events = control_events_.get();
    notifier_ = std::make_unique<notify::Notifier>(
        *store_, config_.notify, [events](const notify::Outcome& o) { events->notification(o); });
    control_events_->set_notifier(notifier_.get());
    notifier_->start();
    const store::NotifyChannels on = notify::channels_of(config_.notify);
    log::info("notify.started")
        .kv("webhook", on.webhook ? "on" : "off")
        .kv("email", on.email ? "on" : "off");
  }

  // [audit] ship_syslog_address: a thread sends the log to the collector; it only reads the
  // files, so a collector that is down never holds a request.
  bool start_shipper(const std::string& node) {
    const config::AuditSection& a = config_.audit;
    if (a.ship_syslog_address.empty()) return true;
    audit::ShipperOptions o;
    o.audit_directory = paths_.audit_directory;
    o.cursor_file = paths_.state_directory + "/audit-ship.cursor";
    o.address = a.ship_syslog_address;
    o.tls = {.ca_file = a.ship_ca_file, .cert_file = a.ship_cert_file, .key_file = a.ship_key_file};
    o.app_name = a.ship_app_name;
    o.node = node;
    o.batch_lines_max = static_cast<size_t>(a.ship_batch_lines_max);
    const audit::Writer* writer = audit_.get();
    o.durable_seq = [writer] { return writer->stats().last_durable_seq; };
    auto s = audit::Shipper::create(std::move(o));
    if (!s.ok()) {
      log::error("audit.ship_failed")
          .kv("collector", a.ship_syslog_address)
          .kv("error", std::string(s.status().message()));
      stop_audit();
      return false;
    }
    shipper_ = std::move(*s);
    shipper_->start();
    log::info("audit.ship_started")
        .kv("collector", a.ship_syslog_address)
        .kv("from_seq", shipper_->stats().confirmed_seq + 1);
    return true;
  }

  // After the engine and the control plane stopped producing: drain, seal, sync.
  void stop_audit() {
    if (!audit_) return;
    if (sessions_) sessions_->stop();
    if (control_events_) control_events_->set_notifier(nullptr);
    if (notifier_) notifier_->stop();
    if (store_) store_->set_change_sink(nullptr);
    audit_->stop();
    // After the writer's last checkpoint, which the collector gets if it is there (bounded);
    // what is not confirmed yet is resent after a restart.
    if (shipper_) shipper_->stop(kShipDrainMs);
    shipper_.reset();
    audit::WriterStats st = audit_->stats();
    log::info("audit.stopped")
        .kv("lines", static_cast<int64_t>(st.lines))
        .kv("last_seq", static_cast<int64_t>(st.last_durable_seq));
    audit_.reset();
  }

  bool start_engine() {
    auto options = engine::EngineOptions::from_config(config_);
    if (!options.ok()) {
      log::error("engine.config_invalid").kv("error", std::string(options.status().message()));
      return false;
    }
    const int workers = options->worker_count();
    auto shared = proxy::ProxyShared::from_config(config_, static_cast<size_t>(workers));
    if (!shared.ok()) {
      log::error("proxy.config_invalid").kv("error", std::string(shared.status().message()));
      return false;
    }
    absl::Status tls = (*shared)->init_tls(config_, paths_);
    if (!tls.ok()) {
      log::error("tls.start_failed").kv("error", std::string(tls.message()));
      return false;
    }
    (*shared)->snapshots = &store_->publisher();
    (*shared)->audit_rings = worker_rings_;
    if (!(*shared)->make_stage) {
      // Clock skew, presigned expiry and the body cap come from the workers' settings
      // (Stage::follow), so a reload reaches them.
      proxy::ZeroTrustOptions zt;
      // One replay memory for every worker: a replay is refused whichever worker it reaches.
      zt.replay_cache = std::make_shared<proxy::ReplayCache>(
          static_cast<size_t>(config_.proxy.replay_cache_entries), config_.proxy.clock_skew_s);
      const policy::SnapshotPublisher* snapshots = &store_->publisher();
      (*shared)->make_stage = [snapshots, zt](int worker) {
        proxy::ZeroTrustOptions o = zt;
        o.worker = worker;
        return std::make_unique<proxy::ZeroTrustStage>(*snapshots, std::move(o));
      };
    } else {
      log::warn("proxy.pass_through")
          .kv("detail", "[proxy] mode = \"pass-through\": requests are relayed unverified to the "
                        "loopback destinations pinned by [upstream] resolve");
    }
    shared_ = std::move(*shared);
    const proxy::ProxyShared* shared_view = shared_.get();
    auto e = engine::Engine::start(*options, [shared_view](engine::Worker& w) {
      return std::make_unique<proxy::ProxyService>(w, *shared_view);
    });
    if (!e.ok()) {
      log::error("engine.start_failed").kv("error", std::string(e.status().message()));
      return false;
    }
    engine_ = std::move(*e);
    return true;
  }

  // Sign-in through the OpenID Connect provider: its settings now, its metadata and keys read
  // again at the next sign-in. A client secret that cannot be read turns it off, logged.
  void configure_identity(const config::Config& c) {
    absl::Status s = identity_->configure(c.identity);
    if (!s.ok()) {
      log::error("identity.configure_failed").kv("error", std::string(s.message()));
    } else if (c.identity.enabled) {
      log::info("identity.configured").kv("issuer", c.identity.issuer);
    }
  }

  // The dashboard's view of the proxy: every worker's counters summed (read-only, any thread).
  static admin::ProxyState proxy_state(const proxy::ProxyShared& shared) {
    admin::ProxyState p;
    for (const proxy::ProxyMetrics* m : shared.metrics_view()) {
      ++p.workers;
      p.tunnels_open += m->tunnels_open.get();
      p.tunnels_opened += m->tunnels_opened.get();
      p.tunnels_denied += m->closed_count(proxy::Cause::kDenied);
      p.tunnels_ktls += m->tls_ktls.get();
      p.tunnels_userspace += m->tls_userspace.get();
      p.ktls_fallbacks += m->tls_ktls_fallbacks.get();
    }
    if (shared.tls) {
      p.ktls = shared.tls->ktls.enabled;
      p.ktls_reason = shared.tls->ktls.reason;
    }
    return p;
  }

  static admin::ConsoleOptions console_options(const config::Config& c) {
    return {.enabled = c.console.enabled,
            .session_idle_timeout_s = c.console.session_idle_timeout_s,
            .session_absolute_timeout_s = c.console.session_absolute_timeout_s};
  }

  // STS reached as the data plane reaches AWS: through the current [upstream] resolve overrides
  // and with [tls] upstream_ca_file, a few seconds at most.
  admin::AccountLookup account_id_lookup() const {
    const proxy::ProxyShared* shared = shared_.get();
    return [shared, ca_file = config_.tls.upstream_ca_file](const admin::AwsKeys& keys,
                                                            std::string_view region) {
      admin::StsOptions o;
      o.region = std::string(region);
      o.ca_file = ca_file;
      o.timeout_ms = 3000;
      const std::string host = "sts." + o.region + ".amazonaws.com";
      if (auto to = shared->settings->current()->destinations.override_for(host)) {
        o.connect_to = to->to_string();
      }
      return admin::sts_account_id(o, keys, absl::Now());
    };
  }

  // The HTTPS admin API on [admin] listen, with the certificate the TLS runtime made for it.
  bool start_admin() {
    admin::ApiOptions o;
    o.store = store_.get();
    o.ca_pem = shared_->tls->ca->cert_pem();
    o.audit_directory = paths_.audit_directory;
    o.audit_public_key_pem = audit_public_key_pem_;
    const proxy::ProxyShared* shared = shared_.get();
    const audit::Shipper* shipper = shipper_.get();
    o.proxy_state = [shared] { return proxy_state(*shared); };
    if (!config_.proxy.listen.empty()) {
      auto address = net::SocketAddress::parse(config_.proxy.listen.front());
      if (address) o.proxy_port = address->port;
    }
    const notify::Notifier* notifier = notifier_.get();
    const store::Store* store = store_.get();
    o.metrics = [shared, shipper, notifier, store] {
      std::string text = proxy::render_prometheus(shared->metrics_view());
      if (shipper != nullptr) text += shipper->render_prometheus();
      if (notifier != nullptr) text += notifier->render_prometheus();
      text += store->render_prometheus();
      return text;
    };
    o.body_bytes_max = static_cast<size_t>(config_.admin.body_bytes_max);
    o.console = console_options(config_);
    configure_identity(config_);
    o.identity = identity_;
    if (config_.admin.fill_account_id) o.account_id_lookup = account_id_lookup();
    api_ = std::make_unique<admin::Api>(std::move(o));
    admin::ServerOptions so;
    so.listen = config_.admin.listen;
    so.connections_max = static_cast<size_t>(config_.admin.connections_max);
    so.body_bytes_max = static_cast<size_t>(config_.admin.body_bytes_max);
    so.handshake_timeout_ms = config_.timeouts.tls_handshake_ms;
    so.request_timeout_ms = config_.timeouts.request_head_ms;
    so.idle_timeout_ms = config_.timeouts.idle_keepalive_ms;
    admin::Api* api = api_.get();
    auto server = admin::Server::start(std::move(so), *shared_->tls->admin_server,
                                       [api](const admin::ApiRequest& r) { return api->handle(r); });
    if (!server.ok()) {
      log::error("admin.start_failed").kv("error", std::string(server.status().message()));
      return false;
    }
    admin_ = std::move(*server);
    log::info("admin.listening")
        .kv("address", config_.admin.listen)
        .kv("port", static_cast<int64_t>(admin_->port()));
    return true;
  }

  // Before the engine and the audit writer: admin changes are audit events.
  void stop_admin() {
    if (!admin_) return;
    admin_.reset();
    log::info("admin.stopped");
  }

  // SIGTERM: stop accepting, let tunnels finish within [timeouts] shutdown_drain_ms, then close.
  void stop_engine() {
    if (!engine_) return;
    log::info("engine.drain_started").kv("deadline_ms", config_.timeouts.shutdown_drain_ms);
    engine_->drain();
    engine_->join();
    engine_.reset();
    log::info("engine.stopped");
  }

  int serve_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
      log::error("daemon.signalfd_failed").kv("error", std::strerror(errno));
      return 1;
    }
    // systemd's watchdog, when the unit asks for one: ping at half the interval.
    uint64_t watchdog_usec = 0;
    int tfd = -1;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
      tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
      itimerspec its{};
      uint64_t half = watchdog_usec / 2;
      its.it_interval.tv_sec = static_cast<time_t>(half / 1000000);
      its.it_interval.tv_nsec = static_cast<long>((half % 1000000) * 1000);
      its.it_value = its.it_interval;
      timerfd_settime(tfd, 0, &its, nullptr);
    }
    sd_notify(0, "READY=1\nSTATUS=serving");
    log::info("daemon.ready").kv("pid", static_cast<int64_t>(getpid()));

    for (;;) {
      pollfd fds[2] = {{sfd, POLLIN, 0}, {tfd, POLLIN, 0}};
      int n = ::poll(fds, tfd >= 0 ? 2 : 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        log::error("daemon.poll_failed").kv("error", std::strerror(errno));
        return 1;
      }
      if (tfd >= 0 && (fds[1].revents & POLLIN)) {
        uint64_t expirations = 0;
        ssize_t r = ::read(tfd, &expirations, sizeof(expirations));
        (void)r;
        sd_notify(0, "WATCHDOG=1");
      }
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo si{};
        if (::read(sfd, &si, sizeof(si)) != static_cast<ssize_t>(sizeof(si))) continue;
        if (si.ssi_signo == SIGHUP) {
          reload();
        } else {
          sd_notify(0, "STOPPING=1");
          log::info("daemon.stopping").kv("signal", si.ssi_signo == SIGTERM ? "TERM" : "INT");
          ::close(sfd);
          if (tfd >= 0) ::close(tfd);
          stop_admin();
          stop_engine();
          stop_audit();
          log::info("daemon.stopped");
          return 0;
        }
      }
    }
  }

  void reload() {
    if (!options_.config_file) {
      log::info("config.reload_skipped").kv("reason", "running on embedded defaults, no file");
      return;
    }
    sd_notify(0, "RELOADING=1");
    config::LoadResult r = config::load_file(*options_.config_file);
    if (!r.ok()) {
      for (const auto& e : r.errors) {
        log::error("config.reload_refused").kv("file", e.file).kv("line", e.line).kv("key", e.key)
            .kv("error", e.message);
      }
      keep_running_config();
      return;
    }
    // Everything that can still refuse comes before anything changes.
    config::Config next = config::with_live_keys(config_, r.config);
    auto settings = proxy::ProxySettings::from_config(next, shared_->settings->generation() + 1);
    if (!settings.ok()) {
      log::error("config.reload_refused")
          .kv("file", *options_.config_file)
          .kv("error", std::string(settings.status().message()));
      keep_running_config();
      return;
    }
    std::string live;
    std::string need_restart;
    for (const std::string& key : config::changed_keys(config_, r.config)) {
      const bool restart = std::ranges::any_of(config::schema(), [&](const config::KeyInfo& k) {
        return k.restart_required && std::string(k.section) + "." + std::string(k.key) == key;
      });
      std::string& list = restart ? need_restart : live;
      if (!list.empty()) list += ",";
      list += key;
    }
    config_ = std::move(next);
    apply_live_settings(std::move(*settings));
    if (control_events_) control_events_->config_reloaded(*options_.config_file, live, need_restart);
    log::info("config.reloaded")
        .kv("file", *options_.config_file)
        .kv("changed", live)
        .kv("restart_required", need_restart);
    sd_notify(0, "READY=1");
  }

  // A reload refused: nothing changed.
  void keep_running_config() {
    log::warn("config.kept").kv("reason", "the new file has errors; the running configuration "
                                          "stays in force");
    sd_notify(0, "READY=1");
  }

  // A reload: every component that runs takes up the values that are not restart-only.
  void apply_live_settings(std::shared_ptr<const proxy::ProxySettings> settings) {
    const config::Config& c = config_;
    apply_log_settings(c);
    shared_->settings->publish(std::move(settings));
    engine_->wake_all();  // idle workers too: the pool's new bounds apply now
    if (shared_->resolver) shared_->resolver->set_ttl_max_s(c.upstream.dns_ttl_max_s);
    engine_->limits().set_limits(c.limits.connections_max, c.limits.connections_per_client_max);
    engine_->set_drain_deadline_ms(static_cast<uint64_t>(c.timeouts.shutdown_drain_ms));
    audit_->set_live({.commit_interval_ms = c.audit.commit_interval_ms,
                      .rotate_bytes = c.audit.rotate_bytes,
                      .rotate_age_s = c.audit.rotate_age_s,
                      .retention_days = c.audit.retention_days,
                      .checkpoint_interval_s = c.audit.checkpoint_interval_s});
    control_events_->set_hold_timeout_ms(c.audit.hold_timeout_ms);
    sessions_->set_idle_timeout_s(c.session.idle_timeout_s);
    store_->set_busy_timeout_ms(c.store.busy_timeout_ms);
    store_->set_notify_channels(notify::channels_of(c.notify));
    notifier_->set_config(c.notify);
    api_->set_body_bytes_max(static_cast<size_t>(c.admin.body_bytes_max));
    api_->set_console(console_options(c));
    configure_identity(c);
    admin_->set_limits(static_cast<size_t>(c.admin.body_bytes_max), c.timeouts.tls_handshake_ms,
                       c.timeouts.request_head_ms, c.timeouts.idle_keepalive_ms);
  }

  Options options_;
  config::Config config_;
  config::Paths paths_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<audit::Writer> audit_;  // its rings outlive every producer
  std::string audit_public_key_pem_;      // GET /api/v1/audit/verify checks with it
  std::unique_ptr<audit::Shipper> shipper_;  // reads audit_'s files; stopped before it goes
  std::unique_ptr<store::SessionIndexer> sessions_;
  std::unique_ptr<notify::Notifier> notifier_;  // stopped before audit_ and control_events_
  std::vector<audit::Ring*> worker_rings_;
  std::unique_ptr<ControlEvents> control_events_;
  std::unique_ptr<proxy::ProxyShared> shared_;  // outlives the engine (declared first)
  std::unique_ptr<engine::Engine> engine_;
  std::shared_ptr<identity::RelyingParty> identity_ = std::make_shared<identity::RelyingParty>();
  std::unique_ptr<admin::Api> api_;
  std::unique_ptr<admin::Server> admin_;  // stopped before api_ goes
};

}  // namespace
}  // namespace pamproxy::daemon

int main(int argc, char** argv) {
  using namespace pamproxy;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string usage_error;
  auto options = daemon::parse_options(args, &usage_error);
  if (!options) {
    std::fprintf(stderr, "pamproxyd: %s\n\n%s", usage_error.c_str(), daemon::kUsage);
    return 2;
  }
  if (options->help) {
    std::fputs(daemon::kUsage, stdout);
    return 0;
  }
  if (options->version) {
    std::printf("pamproxyd %s\n", PAMPROXY_VERSION);
    return 0;
  }

  config::LoadResult loaded;
  if (options->config_file) loaded = config::load_file(*options->config_file);
  if (!loaded.ok()) {
    daemon::print_errors(loaded.errors);
    std::fprintf(stderr, "pamproxyd: %zu error(s) in %s\n", loaded.errors.size(),
                 options->config_file->c_str());
    return 1;
  }
  if (options->check_config) {
    std::printf("# %s is valid. Effective configuration:\n%s", options->config_file->c_str(),
                config::to_toml(loaded.config).c_str());
    return 0;
  }

  // Signals are taken through a signalfd; block them before any thread starts so every thread
  // inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Everything the daemon creates (database, keys, certificates, audit files) is private to it.
  ::umask(0077);

  daemon::apply_log_settings(loaded.config);
  notify::init_transport();
  daemon::Daemon d(std::move(*options), std::move(loaded.config));
  return d.run();
}
