#pragma once
// The one configuration of pamproxyd: a TOML file (appliance/pamproxy.toml documents every key).
// Every key has a default, so an empty file, or no file at all, is a working configuration.
// Units are in the key names (`_ms`, `_s`, `_bytes`, `_days`). The schema itself (names, types,
// defaults, ranges, one line of documentation) lives in src/config/schema.cc and is the single
// source for loading, validation, printing the effective configuration and the reference docs.
//
// Loading never throws and never aborts on bad input: a malformed, truncated or hostile file
// yields a list of errors, each naming the file, the line and the key.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::config {

enum class Ktls { kAuto, kOff, kRequired };
enum class TlsVersion { k1_2, k1_3 };
enum class Durability { kBeforeForward, kAsync };
enum class ProxyMode { kZeroTrust, kPassThrough };
enum class OnFull { kHold, kRefuse };
enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kKv, kJson };
enum class StoreBackend { kSqlite, kPostgresql };
enum class TokenEndpointAuth { kClientSecretBasic, kClientSecretPost };
enum class WebhookFormat { kJson, kSlack };

// A `[[upstream.resolve]]` entry: where to connect for hosts matching `host` (an exact name or
// `*.suffix`), bypassing DNS. Used for private endpoints and tests.
struct ResolveOverride {
  std::string host;     // pattern
  std::string address;  // "ip:port" or "[v6]:port"
};

struct ProxySection {
  std::vector<std::string> listen = {"127.0.0.1:8081"};
  std::vector<std::string> destination_allowlist = {"*.amazonaws.com:443", "*.amazonaws.com.cn:443",
                                                    "*.api.aws:443"};
  std::vector<std::string> private_destinations_allowed;  // CIDRs
  std::vector<std::string> proxy_protocol_trusted;        // CIDRs allowed to send PROXY v2
  int64_t clock_skew_s = 900;
  int64_t presigned_expiry_max_s = 604800;
  int64_t buffered_body_bytes_max = 8 << 20;
  int64_t replay_cache_entries = 65536;
  ProxyMode mode = ProxyMode::kZeroTrust;
};

struct EngineSection {
  int64_t threads = 0;  // 0 = "auto": one per online CPU
  bool pin_threads = true;
  int64_t ring_entries = 4096;
  int64_t buffer_bytes = 16384;
  int64_t buffer_count = 1024;
  int64_t batch_completions = 16;
  int64_t batch_wait_us = 50;
  Ktls ktls = Ktls::kAuto;
};

struct TlsSection {
  std::string ca_cert_file;  // "" = <store.directory>/ca/ca.pem, created on first start
  std::string ca_key_file;   // "" = <store.directory>/ca/ca.key
  int64_t leaf_validity_days = 30;
  int64_t leaf_cache_entries = 4096;
  TlsVersion min_version = TlsVersion::k1_2;
  std::string upstream_ca_file;  // "" = the system trust store
  bool own_records = true;       // TLS 1.3 records sealed/opened by pamproxy when not kTLS
  bool own_handshake = true;     // the common TLS 1.3 handshake is pamproxy's (own_records/kTLS)
};

struct UpstreamSection {
  std::vector<ResolveOverride> resolve;
  std::vector<std::string> dns_servers;  // "" = /etc/resolv.conf
  int64_t dns_cache_entries = 4096;
  int64_t dns_ttl_max_s = 300;
  int64_t pool_idle_per_host = 32;
  int64_t pool_idle_total = 1024;
  int64_t pool_idle_timeout_ms = 60000;
};

struct AdminSection {
  std::string listen = "127.0.0.1:8443";
  std::string cert_file;  // "" = minted from the appliance CA on first start
  std::string key_file;
  int64_t body_bytes_max = 1 << 20;
  int64_t connections_max = 256;
  bool fill_account_id = true;  // a record saved without an AWS account id asks STS for it
};

struct ConsoleSection {
  bool enabled = true;
  int64_t session_idle_timeout_s = 1800;
  int64_t session_absolute_timeout_s = 43200;
};

// Signing in to the web console through an OpenID Connect provider (docs/identity.md).
struct IdentitySection {
  bool enabled = false;
  std::string issuer;              // https://..., exactly as the provider's ID tokens name it
  std::string client_id;
  std::string client_secret_file;  // the client secret, alone in a file
  TokenEndpointAuth token_endpoint_auth = TokenEndpointAuth::kClientSecretBasic;
  std::vector<std::string> scopes = {"openid", "email", "profile"};
  std::string ca_file;             // "" = the system trust store
  std::string console_url;         // https://host[:port] the browser reaches the console at
  std::string subject_claim = "sub";
  std::string email_claim = "email";
  std::string name_claim = "name";
  std::string groups_claim = "groups";  // "" = no group mapping
  int64_t clock_skew_s = 60;
  int64_t provider_timeout_ms = 10000;
  // `pamctl login`: the REST API token's lifetime, and how often pamctl asks the provider again
  // (through the appliance) whether the person may still sign in.
  int64_t cli_token_lifetime_s = 8 * 3600;
  int64_t cli_recheck_s = 300;
};

struct StoreSection {
  StoreBackend backend = StoreBackend::kSqlite;
  std::string directory;        // "" = $STATE_DIRECTORY, else ./pamproxy-state
  std::string master_key_file;  // "" = $CREDENTIALS_DIRECTORY/master-key, else <directory>/master.key
  int64_t busy_timeout_ms = 5000;
  // backend = "postgresql": a libpq connection string, or a file holding one (for its password).
  std::string postgresql_url;
  std::string postgresql_url_file;
  int64_t connect_timeout_ms = 5000;
};

struct AuditSection {
  std::string directory;  // "" = <store.directory>/audit
  std::string signing_key_file;  // "" = <store.directory>/audit-ed25519.key
  std::string node_name;  // "" = the host name
  Durability durability = Durability::kBeforeForward;
  OnFull on_full = OnFull::kHold;
  int64_t hold_timeout_ms = 5000;
  int64_t ring_entries = 8192;
  int64_t commit_interval_ms = 5;
  int64_t rotate_bytes = 256ll << 20;
  int64_t rotate_age_s = 86400;
  int64_t retention_days = 365;
  int64_t checkpoint_interval_s = 60;
  int64_t preallocate_bytes = 4 << 20;  // 0 = off
  // Shipping to a syslog collector over TLS: off while the address is "".
  std::string ship_syslog_address;
  std::string ship_ca_file;
  std::string ship_cert_file;  // "" = no client certificate
  std::string ship_key_file;
  std::string ship_app_name = "pamproxy";
  int64_t ship_batch_lines_max = 512;
};

// Notifications about access requests (src/notify): a webhook, e-mail, or both; off while
// neither webhook_url nor smtp_address is set.
struct NotifySection {
  std::string console_url;  // "" = messages carry no link
  std::string webhook_url;  // https://...; "" = no webhook
  std::string webhook_secret_file;
  WebhookFormat webhook_format = WebhookFormat::kJson;
  std::string webhook_ca_file;  // "" = the system store
  std::string smtp_address;     // host:port; "" = no e-mail
  bool smtp_starttls = true;
  std::string smtp_ca_file;  // "" = the system store
  std::string smtp_from;
  std::string smtp_username;  // "" = no authentication
  std::string smtp_password_file;
  int64_t timeout_ms = 10000;
  int64_t retry_max_attempts = 8;
  int64_t retry_initial_s = 30;
  int64_t retry_max_s = 3600;
};

struct SessionSection {
  int64_t idle_timeout_s = 900;
};

struct LimitsSection {
  int64_t connect_head_bytes_max = 4096;
  int64_t head_bytes_max = 65536;
  int64_t header_count_max = 128;
  int64_t header_name_bytes_max = 256;
  int64_t header_value_bytes_max = 16384;
  int64_t pipeline_depth_max = 16;
  int64_t connections_max = 20000;
  int64_t connections_per_client_max = 512;
  int64_t lingering_close_bytes_max = 64ll << 20;
};

struct TimeoutsSection {
  int64_t connect_head_ms = 10000;
  int64_t tls_handshake_ms = 10000;
  int64_t request_head_ms = 30000;
  int64_t body_stall_ms = 60000;
  int64_t lingering_close_ms = 5000;
  int64_t upstream_connect_ms = 10000;
  int64_t upstream_response_ms = 120000;
  int64_t idle_keepalive_ms = 60000;
  int64_t dns_ms = 5000;
  int64_t shutdown_drain_ms = 30000;
};

struct LogSection {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kKv;
};

struct Config {
  ProxySection proxy;
  EngineSection engine;
  TlsSection tls;
  UpstreamSection upstream;
  AdminSection admin;
  ConsoleSection console;
  IdentitySection identity;
  StoreSection store;
  AuditSection audit;
  NotifySection notify;
  SessionSection session;
  LimitsSection limits;
  TimeoutsSection timeouts;
  LogSection log;
};

// One problem found in a configuration file. `line` is 1-based (0 when unknown, e.g. when the
// file cannot be read).
struct Error {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string key;  // dotted, e.g. "engine.ktls"; empty for syntax errors
  std::string message;

  // "FILE:LINE:COL: key 'engine.ktls': expected one of auto, off, required (got \"maybe\")"
  std::string to_string() const;
};

struct LoadResult {
  Config config;
  std::vector<Error> errors;  // empty = valid
  bool ok() const { return errors.empty(); }
};

// Parses and validates TOML text. `file` only names the source in errors.
LoadResult load_string(std::string_view toml_text, std::string_view file);
// Reads and loads a file; a missing or unreadable file is an error (line 0).
LoadResult load_file(const std::string& path);

// The effective configuration as TOML, every key, in schema order (secrets never live here).
std::string to_toml(const Config& config);

// One entry of the schema, for docs and for checking the example file.
struct KeyInfo {
  std::string_view section;
  std::string_view key;
  std::string_view doc;
  bool restart_required;  // false = applied on SIGHUP reload
};
const std::vector<KeyInfo>& schema();

// Keys whose values differ between two configurations (dotted names, schema order).
std::vector<std::string> changed_keys(const Config& a, const Config& b);

// What a reload puts in force: `running` with every key that is not restart_required taken
// from `next`. Restart-only keys keep their running values, so the next reload reports them
// again until the daemon is restarted.
Config with_live_keys(const Config& running, const Config& next);

// Resolved paths: the defaults that depend on the environment ($STATE_DIRECTORY,
// $CREDENTIALS_DIRECTORY) or on other keys, filled in. Pure given the environment values.
struct Paths {
  std::string state_directory;
  std::string master_key_file;
  std::string ca_cert_file;
  std::string ca_key_file;
  std::string audit_directory;
  std::string audit_signing_key_file;
  std::string database_file;
};
Paths resolve_paths(const Config& config, const char* state_directory_env,
                    const char* credentials_directory_env);

}  // namespace pamproxy::config
