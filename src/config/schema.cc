#include "schema.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <utility>

#include "src/config/validate.h"

namespace pamproxy::config::internal {
namespace {

using IntRef = int64_t& (*)(Config&);
using BoolRef = bool& (*)(Config&);
using StringRef = std::string& (*)(Config&);
using ListRef = std::vector<std::string>& (*)(Config&);
// Checks one string value; returns "" when valid, else the reason.
using StringCheck = std::string (*)(std::string_view);

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

Field int_field(std::string_view section, std::string_view key, std::string_view doc,
                bool restart, IntRef ref, int64_t min, int64_t max, bool power_of_two = false) {
  return Field{
      section, key, doc, restart,
      [=](const toml::node& node, Config& c) -> std::string {
        const auto* v = node.as_integer();
        if (v == nullptr) return "expected an integer, got " + type_name(node);
        int64_t x = v->get();
        if (x < min || x > max) {
          return "out of range: " + std::to_string(x) + " (allowed " + std::to_string(min) +
                 " to " + std::to_string(max) + ")";
        }
        if (power_of_two && (x & (x - 1)) != 0) {
          return "must be a power of two (got " + std::to_string(x) + ")";
        }
        ref(c) = x;
        return {};
      },
      [=](const Config& c) { return std::to_string(ref(const_cast<Config&>(c))); }};
}

Field bool_field(std::string_view section, std::string_view key, std::string_view doc,
                 bool restart, BoolRef ref) {
  return Field{section, key, doc, restart,
               [=](const toml::node& node, Config& c) -> std::string {
                 const auto* v = node.as_boolean();
                 if (v == nullptr) return "expected true or false, got " + type_name(node);
                 ref(c) = v->get();
                 return {};
               },
               [=](const Config& c) {
                 return std::string(ref(const_cast<Config&>(c)) ? "true" : "false");
               }};
}

Field string_field(std::string_view section, std::string_view key, std::string_view doc,
                   bool restart, StringRef ref, StringCheck check = nullptr) {
  return Field{section, key, doc, restart,
               [=](const toml::node& node, Config& c) -> std::string {
                 const auto* v = node.as_string();
                 if (v == nullptr) return "expected a string, got " + type_name(node);
                 if (check != nullptr) {
                   std::string why = check(v->get());
                   if (!why.empty()) return why;
                 }
                 ref(c) = v->get();
                 return {};
               },
               [=](const Config& c) { return toml_quote(ref(const_cast<Config&>(c))); }};
}

Field list_field(std::string_view section, std::string_view key, std::string_view doc,
                 bool restart, ListRef ref, StringCheck check, size_t max_items = 1024) {
  return Field{
      section, key, doc, restart,
      [=](const toml::node& node, Config& c) -> std::string {
        const auto* arr = node.as_array();
        if (arr == nullptr) return "expected an array of strings, got " + type_name(node);
        if (arr->size() > max_items) {
          return "too many entries: " + std::to_string(arr->size()) + " (at most " +
                 std::to_string(max_items) + ")";
        }
        std::vector<std::string> out;
        out.reserve(arr->size());
        for (size_t i = 0; i < arr->size(); ++i) {
          const auto* s = (*arr)[i].as_string();
          if (s == nullptr) {
            return "entry " + std::to_string(i + 1) + ": expected a string, got " +
                   type_name((*arr)[i]);
          }
          if (check != nullptr) {
            std::string why = check(s->get());
            if (!why.empty()) return "entry " + std::to_string(i + 1) + ": " + why;
          }
          out.push_back(s->get());
        }
        ref(c) = std::move(out);
        return {};
      },
      [=](const Config& c) {
        const auto& list = ref(const_cast<Config&>(c));
        std::string out = "[";
        for (size_t i = 0; i < list.size(); ++i) {
          if (i > 0) out += ", ";
          out += toml_quote(list[i]);
        }
        return out + "]";
      }};
}

template <class E>
Field enum_field(std::string_view section, std::string_view key, std::string_view doc,
                 bool restart, E& (*ref)(Config&),
                 std::vector<std::pair<std::string_view, E>> names) {
  return Field{section, key, doc, restart,
               [=](const toml::node& node, Config& c) -> std::string {
                 std::string allowed;
                 for (size_t i = 0; i < names.size(); ++i) {
                   if (i > 0) allowed += ", ";
                   allowed += toml_quote(names[i].first);
                 }
                 const auto* v = node.as_string();
                 if (v == nullptr) {
                   return "expected one of " + allowed + ", got " + type_name(node);
                 }
                 for (const auto& [name, value] : names) {
                   if (v->get() == name) {
                     ref(c) = value;
                     return {};
                   }
                 }
                 return "expected one of " + allowed + " (got " + toml_quote(v->get()) + ")";
               },
               [=](const Config& c) {
                 E value = ref(const_cast<Config&>(c));
                 for (const auto& [name, v] : names) {
                   if (v == value) return toml_quote(name);
                 }
                 return std::string("\"?\"");
               }};
}

// audit.ship_syslog_address: "" (off) or host:port, the host a name, IPv4 or [IPv6] address.
std::string check_collector_address(std::string_view v) {
  if (v.empty()) return {};
  const std::string_view kWant = " (want host:port, e.g. \"logs.example.net:6514\")";
  size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "not host:port" + std::string(kWant);
  std::string_view host = v.substr(0, colon);
  std::string_view port = v.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return "unclosed [IPv6] address";
  } else if (host.find(':') != std::string_view::npos) {
    return "an IPv6 address needs brackets" + std::string(kWant);
  }
  for (char c : host) {
    if (c <= ' ' || c == 0x7f || c == '/')
      return "the host holds a space, control character or '/'";
  }
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || n == 0 ||
      n > 65535) {
    return "port must be 1 to 65535";
  }
  return {};
}

// audit.ship_app_name: an RFC 5424 APP-NAME, 1 to 48 printable ASCII characters, no spaces.
std::string check_syslog_app_name(std::string_view v) {
  if (v.empty() || v.size() > 48) return "must be 1 to 48 characters";
  for (char c : v) {
    if (c < 33 || c > 126) return "only printable ASCII without spaces is allowed";
  }
  if (v == "-") return "\"-\" means no name in syslog";
  return {};
}

// engine.threads: "auto" or a count.
Field threads_field() {
  return Field{
      "engine", "threads",
      "worker threads, one io_uring each: \"auto\" = one per online CPU, or a count (1-256)", true,
      [](const toml::node& node, Config& c) -> std::string {
        if (const auto* s = node.as_string()) {
          if (s->get() == "auto") {
            c.engine.threads = 0;
            return {};
          }
          return "expected \"auto\" or an integer from 1 to 256 (got " + toml_quote(s->get()) +
                 ")";
        }
        if (const auto* i = node.as_integer()) {
          if (i->get() < 1 || i->get() > 256) {
            return "out of range: " + std::to_string(i->get()) + " (allowed 1 to 256, or \"auto\")";
          }
          c.engine.threads = i->get();
          return {};
        }
        return "expected \"auto\" or an integer, got " + type_name(node);
      },
      [](const Config& c) {
        return c.engine.threads == 0 ? std::string("\"auto\"") : std::to_string(c.engine.threads);
      }};
}

// upstream.resolve: an array of tables { host = "pattern", address = "ip:port" }.
Field resolve_field() {
  return Field{
      "upstream", "resolve",
      "resolve overrides, first match wins: [{ host = \"*.s3.amazonaws.com\", address = "
      "\"10.0.0.5:443\" }]",
      false,
      [](const toml::node& node, Config& c) -> std::string {
        const auto* arr = node.as_array();
        if (arr == nullptr) return "expected an array of tables, got " + type_name(node);
        if (arr->size() > 4096) return "too many entries (at most 4096)";
        std::vector<ResolveOverride> out;
        for (size_t i = 0; i < arr->size(); ++i) {
          std::string where = "entry " + std::to_string(i + 1) + ": ";
          const auto* t = (*arr)[i].as_table();
          if (t == nullptr) return where + "expected a table, got " + type_name((*arr)[i]);
          ResolveOverride o;
          bool have_host = false;
          bool have_address = false;
          for (auto&& [k, v] : *t) {
            const auto* s = v.as_string();
            if (k.str() == "host") {
              if (s == nullptr) return where + "host: expected a string";
              std::string why = check_host_pattern(s->get());
              if (!why.empty()) return where + "host: " + why;
              o.host = s->get();
              have_host = true;
            } else if (k.str() == "address") {
              if (s == nullptr) return where + "address: expected a string";
              std::string why = check_socket_address(s->get());
              if (!why.empty()) return where + "address: " + why;
              o.address = s->get();
              have_address = true;
            } else {
              return where + "unknown key '" + std::string(k.str()) +
                     "' (expected host and address)";
            }
          }
          if (!have_host || !have_address) return where + "needs both host and address";
          out.push_back(std::move(o));
        }
        c.upstream.resolve = std::move(out);
        return {};
      },
      [](const Config& c) {
        std::string out = "[";
        for (size_t i = 0; i < c.upstream.resolve.size(); ++i) {
          if (i > 0) out += ", ";
          out += "{ host = " + toml_quote(c.upstream.resolve[i].host) +
                 ", address = " + toml_quote(c.upstream.resolve[i].address) + " }";
        }
        return out + "]";
      }};
}

#define REF(T, path) [](Config& c) -> T& { return c.path; }

std::vector<Field> build() {
  constexpr bool kRestart = true;
  constexpr bool kLive = false;
  constexpr int64_t kDay = 86400;
  std::vector<Field> f;

  // [proxy]
  f.push_back(list_field("proxy", "listen",
                         "addresses the CONNECT proxy listens on (ip:port; [v6]:port)", kRestart,
                         REF(std::vector<std::string>, proxy.listen), check_socket_address, 16));
  f.push_back(list_field("proxy", "destination_allowlist",
                         "CONNECT targets allowed, as host:port with an optional leading *.; "
                         "anything else is refused",
                         kLive, REF(std::vector<std::string>, proxy.destination_allowlist),
                         check_destination_pattern));
  f.push_back(list_field("proxy", "private_destinations_allowed",
                         "CIDRs a destination may resolve to although loopback, link-local or "
                         "private (refused by default)",
                         kLive, REF(std::vector<std::string>, proxy.private_destinations_allowed),
                         check_cidr));
  f.push_back(list_field("proxy", "proxy_protocol_trusted",
                         "peers (CIDRs) whose PROXY protocol v2 header gives the client address",
                         kLive, REF(std::vector<std::string>, proxy.proxy_protocol_trusted),
                         check_cidr));
  f.push_back(int_field("proxy", "clock_skew_s",
                        "how far a request's X-Amz-Date may be from the appliance clock", kLive,
                        REF(int64_t, proxy.clock_skew_s), 1, 3600));
  f.push_back(int_field("proxy", "presigned_expiry_max_s",
                        "longest X-Amz-Expires accepted on a presigned URL (AWS allows 7 days)",
                        kLive, REF(int64_t, proxy.presigned_expiry_max_s), 1, 7 * kDay));
  f.push_back(int_field("proxy", "buffered_body_bytes_max",
                        "largest body buffered to hash when a request has no "
                        "x-amz-content-sha256 (STS, EC2, DynamoDB...); above it: 413",
                        kLive, REF(int64_t, proxy.buffered_body_bytes_max), 0, 1ll << 30));
  f.push_back(int_field("proxy", "replay_cache_entries",
                        "signatures remembered for the whole process (all workers) to refuse "
                        "exact replays: a signed request or presigned URL used again from another "
                        "client address is refused on every worker for clock_skew_s seconds after "
                        "its first use, as long as fewer than replay_cache_entries / 16 other "
                        "signatures reached its shard since (about replay_cache_entries in all); 0 "
                        "turns it off",
                        kRestart,
                        REF(int64_t, proxy.replay_cache_entries), 0, 1 << 24));
  f.push_back(enum_field<ProxyMode>(
      "proxy", "mode",
      "what runs between a request head and the upstream: \"zero-trust\" verifies the token's "
      "signature, authorizes and re-signs with the record's keys; \"pass-through\" relays "
      "requests unverified and is accepted only when every allowed destination is pinned to a "
      "loopback address by [upstream] resolve (engine tests and benchmarks)",
      kRestart, REF(ProxyMode, proxy.mode),
      {{"zero-trust", ProxyMode::kZeroTrust}, {"pass-through", ProxyMode::kPassThrough}}));

  // [engine]
  f.push_back(threads_field());
  f.push_back(bool_field("engine", "pin_threads", "pin each worker to its own CPU", kRestart,
                         REF(bool, engine.pin_threads)));
  f.push_back(int_field("engine", "ring_entries", "io_uring submission queue entries per worker",
                        kRestart, REF(int64_t, engine.ring_entries), 64, 32768, true));
  f.push_back(int_field("engine", "buffer_bytes",
                        "size of each provided receive buffer (16 KiB holds a whole TLS record)",
                        kRestart, REF(int64_t, engine.buffer_bytes), 4096, 65536, true));
  f.push_back(int_field("engine", "buffer_count", "provided receive buffers per worker", kRestart,
                        REF(int64_t, engine.buffer_count), 16, 32768, true));
  f.push_back(int_field("engine", "batch_wait_us",
                        "after a wake-up that found several completions, how long a worker may "
                        "wait for batch_completions completions before handling them (fewer "
                        "wake-ups and system calls per request under load; a completion waits at "
                        "most this much longer; completions that come one at a time are not held "
                        "back); 0 = off; needs Linux 6.13, off on older kernels",
                        kRestart, REF(int64_t, engine.batch_wait_us), 0, 1000));
  f.push_back(int_field("engine", "batch_completions",
                        "completions that end a worker's batched wait early (see batch_wait_us)",
                        kRestart, REF(int64_t, engine.batch_completions), 1, 1024));
  f.push_back(enum_field<Ktls>("engine", "ktls",
                               "kernel TLS offload: \"auto\" uses it when the tls module is "
                               "there, \"off\" never, \"required\" refuses to start without it",
                               kRestart, REF(Ktls, engine.ktls),
                               {{"auto", Ktls::kAuto}, {"off", Ktls::kOff},
                                {"required", Ktls::kRequired}}));

  // [tls]
  f.push_back(string_field("tls", "ca_cert_file",
                           "appliance CA certificate (PEM), optionally followed by its issuers (sent "
                           "after each leaf, a self-signed root left out); \"\" = "
                           "<store.directory>/ca/ca.pem, created on first start",
                           kRestart, REF(std::string, tls.ca_cert_file)));
  f.push_back(string_field("tls", "ca_key_file",
                           "appliance CA private key (PEM); \"\" = <store.directory>/ca/ca.key",
                           kRestart, REF(std::string, tls.ca_key_file)));
  f.push_back(int_field("tls", "leaf_validity_days",
                        "validity of the certificates minted for AWS host names", kRestart,
                        REF(int64_t, tls.leaf_validity_days), 1, 397));
  f.push_back(int_field("tls", "leaf_cache_entries", "minted certificates kept in memory",
                        kRestart, REF(int64_t, tls.leaf_cache_entries), 16, 1 << 20));
  f.push_back(enum_field<TlsVersion>("tls", "min_version",
                                     "lowest TLS version accepted from clients and used upstream",
                                     kRestart, REF(TlsVersion, tls.min_version),
                                     {{"1.2", TlsVersion::k1_2}, {"1.3", TlsVersion::k1_3}}));
  f.push_back(string_field("tls", "upstream_ca_file",
                           "CA bundle trusted for upstream servers; \"\" = the system store",
                           kRestart, REF(std::string, tls.upstream_ca_file)));
  f.push_back(bool_field("tls", "own_records",
                         "after a TLS 1.3 handshake, seal and open records in pamproxy (the "
                         "cipher is then the only pass over relayed bytes) where the kernel "
                         "does not (kTLS); false: OpenSSL's record layer, two more copies per byte",
                         kRestart, REF(bool, tls.own_records)));
  f.push_back(bool_field("tls", "own_handshake",
                         "answer the common TLS 1.3 ClientHello (X25519, AES-128-GCM or "
                         "ChaCha20-Poly1305) in pamproxy, for about half the CPU of OpenSSL "
                         "3.0's handshake, and leave every other one to OpenSSL; needs "
                         "own_records or kTLS; no session tickets on that path; false: OpenSSL "
                         "answers every client",
                         kRestart, REF(bool, tls.own_handshake)));

  // [upstream]
  f.push_back(resolve_field());
  f.push_back(list_field("upstream", "dns_servers",
                         "DNS servers (ip or ip:port); empty = /etc/resolv.conf", kRestart,
                         REF(std::vector<std::string>, upstream.dns_servers), check_dns_server,
                         16));
  f.push_back(int_field("upstream", "dns_cache_entries", "resolved names cached per worker",
                        kRestart, REF(int64_t, upstream.dns_cache_entries), 16, 1 << 20));
  f.push_back(int_field("upstream", "dns_ttl_max_s", "longest time a DNS answer is cached", kLive,
                        REF(int64_t, upstream.dns_ttl_max_s), 1, kDay));
  f.push_back(int_field("upstream", "pool_idle_per_host",
                        "idle upstream connections kept per host and worker", kLive,
                        REF(int64_t, upstream.pool_idle_per_host), 0, 4096));
  f.push_back(int_field("upstream", "pool_idle_total", "idle upstream connections per worker",
                        kLive, REF(int64_t, upstream.pool_idle_total), 0, 65536));
  f.push_back(int_field("upstream", "pool_idle_timeout_ms",
                        "an idle upstream connection is closed after this long", kLive,
                        REF(int64_t, upstream.pool_idle_timeout_ms), 100, 3600000));

  // [admin]
  f.push_back(string_field("admin", "listen",
                           "address of the HTTPS admin API (ip:port; port 0: any free port, logged)",
                           kRestart,
                           REF(std::string, admin.listen), check_listen_address));
  f.push_back(string_field("admin", "cert_file",
                           "admin API certificate (PEM), optionally followed by its issuers; \"\" = "
                           "minted from the appliance CA",
                           kRestart, REF(std::string, admin.cert_file)));
  f.push_back(string_field("admin", "key_file", "admin API private key (PEM)", kRestart,
                           REF(std::string, admin.key_file)));
  f.push_back(int_field("admin", "body_bytes_max", "largest admin API request body", kLive,
                        REF(int64_t, admin.body_bytes_max), 1024, 64 << 20));
  f.push_back(int_field("admin", "connections_max", "concurrent admin API connections", kRestart,
                        REF(int64_t, admin.connections_max), 1, 65536));
  f.push_back(bool_field("admin", "fill_account_id",
                         "a record saved without an AWS account id (created, or its keys changed) "
                         "gets the one STS GetCallerIdentity names for its keys",
                         kRestart, REF(bool, admin.fill_account_id)));

  // [console]
  f.push_back(bool_field("console", "enabled",
                         "serve the web console on the admin listener (https://<admin listen>/); "
                         "false: / answers 404 and console sessions are refused",
                         kLive, REF(bool, console.enabled)));
  f.push_back(int_field("console", "session_idle_timeout_s",
                        "a console sign-in ends after this much inactivity", kLive,
                        REF(int64_t, console.session_idle_timeout_s), 60, kDay));
  f.push_back(int_field("console", "session_absolute_timeout_s",
                        "a console sign-in ends this long after it began, however active", kLive,
                        REF(int64_t, console.session_absolute_timeout_s), 60, 30 * kDay));

  // [identity]
  f.push_back(bool_field("identity", "enabled",
                         "offer \"Sign in with your identity provider\" on the console (OpenID "
                         "Connect, docs/identity.md); needs issuer, client_id, "
                         "client_secret_file and console_url",
                         kLive, REF(bool, identity.enabled)));
  f.push_back(string_field("identity", "issuer",
                           "the provider's issuer URL, exactly as its ID tokens name it; its "
                           "/.well-known/openid-configuration is read from there",
                           kLive, REF(std::string, identity.issuer), check_issuer_url));
  f.push_back(string_field("identity", "client_id",
                           "the client id the provider gave pamproxy", kLive,
                           REF(std::string, identity.client_id)));
  f.push_back(string_field("identity", "client_secret_file",
                           "file holding the client secret (keeps it out of this file)", kLive,
                           REF(std::string, identity.client_secret_file)));
  f.push_back(enum_field<TokenEndpointAuth>(
      "identity", "token_endpoint_auth",
      "how the client secret goes to the token endpoint: \"client_secret_basic\" (HTTP Basic) "
      "or \"client_secret_post\" (in the form)",
      kLive, REF(TokenEndpointAuth, identity.token_endpoint_auth),
      {{"client_secret_basic", TokenEndpointAuth::kClientSecretBasic},
       {"client_secret_post", TokenEndpointAuth::kClientSecretPost}}));
  f.push_back(list_field("identity", "scopes",
                         "scopes asked for at sign-in; must hold \"openid\"", kLive,
                         REF(std::vector<std::string>, identity.scopes), check_scope, 32));
  f.push_back(string_field("identity", "ca_file",
                           "CA bundle (PEM) trusted for the provider's HTTPS; \"\" = the system "
                           "store",
                           kLive, REF(std::string, identity.ca_file)));
  f.push_back(string_field("identity", "console_url",
                           "https://host[:port] browsers reach the console at; the provider "
                           "sends them back to <console_url>/auth/oidc/callback",
                           kLive, REF(std::string, identity.console_url), check_https_origin));
  f.push_back(string_field("identity", "subject_claim",
                           "ID token claim that identifies a person for good (the user's key)",
                           kLive, REF(std::string, identity.subject_claim), check_claim_name));
  f.push_back(string_field("identity", "email_claim", "ID token claim with the e-mail address",
                           kLive, REF(std::string, identity.email_claim), check_claim_name));
  f.push_back(string_field("identity", "name_claim", "ID token claim with the display name",
                           kLive, REF(std::string, identity.name_claim), check_claim_name));
  f.push_back(string_field("identity", "groups_claim",
                           "ID token claim listing the person's groups, mapped to roles by "
                           "`pamctl roles map-group`; \"\" = no mapping",
                           kLive, REF(std::string, identity.groups_claim), check_claim_name));
  f.push_back(int_field("identity", "clock_skew_s",
                        "how far an ID token's exp, iat and nbf may be from the appliance clock",
                        kLive, REF(int64_t, identity.clock_skew_s), 0, 600));
  f.push_back(int_field("identity", "provider_timeout_ms",
                        "longest wait for one answer of the provider (discovery, keys, token)",
                        kLive, REF(int64_t, identity.provider_timeout_ms), 100, 60000));
  f.push_back(int_field("identity", "cli_token_lifetime_s",
                        "lifetime of the REST API token `pamctl login` gets; it is renewed "
                        "through the provider before it ends",
                        kLive, REF(int64_t, identity.cli_token_lifetime_s), 60, 7 * 86400));
  f.push_back(int_field("identity", "cli_recheck_s",
                        "pamctl renews its login token through the provider when the token is "
                        "this close to its end or was last checked this long ago (0 = at every "
                        "use)",
                        kLive, REF(int64_t, identity.cli_recheck_s), 0, 86400));

  // [store]
  f.push_back(enum_field<StoreBackend>("store", "backend",
                                       "where users, records and tokens live: \"sqlite\" (this "
                                       "node) or \"postgresql\" (shared by several nodes)",
                                       kRestart, REF(StoreBackend, store.backend),
                                       {{"sqlite", StoreBackend::kSqlite},
                                        {"postgresql", StoreBackend::kPostgresql}}));
  f.push_back(string_field("store", "directory",
                           "state directory (database, CA, keys); \"\" = $STATE_DIRECTORY, else "
                           "./pamproxy-state",
                           kRestart, REF(std::string, store.directory)));
  f.push_back(string_field("store", "master_key_file",
                           "key that encrypts secrets at rest; \"\" = "
                           "$CREDENTIALS_DIRECTORY/master-key, else <directory>/master.key",
                           kRestart, REF(std::string, store.master_key_file)));
  f.push_back(int_field("store", "busy_timeout_ms", "longest wait for a locked database", kLive,
                        REF(int64_t, store.busy_timeout_ms), 0, 600000));
  f.push_back(string_field("store", "postgresql_url",
                           "backend = \"postgresql\": libpq connection string (postgresql://user@host/db"
                           "?sslmode=verify-full&sslrootcert=FILE); \"\" = read postgresql_url_file",
                           kRestart, REF(std::string, store.postgresql_url),
                           check_postgresql_url));
  f.push_back(string_field("store", "postgresql_url_file",
                           "file holding the connection string (keeps its password out of this "
                           "file)",
                           kRestart, REF(std::string, store.postgresql_url_file)));
  f.push_back(int_field("store", "connect_timeout_ms",
                        "longest wait for the PostgreSQL server to accept a connection", kRestart,
                        REF(int64_t, store.connect_timeout_ms), 1000, 600000));

  // [audit]
  f.push_back(string_field("audit", "directory",
                           "audit log directory; \"\" = <store.directory>/audit", kRestart,
                           REF(std::string, audit.directory)));
  f.push_back(string_field("audit", "signing_key_file",
                           "Ed25519 key that signs checkpoints; \"\" = "
                           "<store.directory>/audit-ed25519.key",
                           kRestart, REF(std::string, audit.signing_key_file)));
  f.push_back(string_field("audit", "node_name", "node name in every event; \"\" = the host name",
                           kRestart, REF(std::string, audit.node_name)));
  f.push_back(enum_field<Durability>("audit", "durability",
                                     "\"before-forward\": a request goes upstream only once its "
                                     "event is on disk; \"async\": written soon after",
                                     kLive, REF(Durability, audit.durability),
                                     {{"before-forward", Durability::kBeforeForward},
                                      {"async", Durability::kAsync}}));
  f.push_back(enum_field<OnFull>("audit", "on_full",
                                 "when the audit ring is full or the disk fails: \"hold\" "
                                 "requests (up to hold_timeout_ms) or \"refuse\" them with 503",
                                 kLive, REF(OnFull, audit.on_full),
                                 {{"hold", OnFull::kHold}, {"refuse", OnFull::kRefuse}}));
  f.push_back(int_field("audit", "hold_timeout_ms",
                        "longest a request is held waiting for the audit log before a 503", kLive,
                        REF(int64_t, audit.hold_timeout_ms), 1, 600000));
  f.push_back(int_field("audit", "ring_entries", "events buffered per worker ring", kRestart,
                        REF(int64_t, audit.ring_entries), 64, 1 << 20, true));
  f.push_back(int_field("audit", "commit_interval_ms", "longest wait before a group fdatasync",
                        kLive, REF(int64_t, audit.commit_interval_ms), 1, 10000));
  f.push_back(int_field("audit", "rotate_bytes", "start a new file after this many bytes", kLive,
                        REF(int64_t, audit.rotate_bytes), 1 << 20, 1ll << 40));
  f.push_back(int_field("audit", "rotate_age_s", "start a new file after this long", kLive,
                        REF(int64_t, audit.rotate_age_s), 60, 366 * kDay));
  f.push_back(int_field("audit", "retention_days", "delete files older than this; 0 = keep all",
                        kLive, REF(int64_t, audit.retention_days), 0, 36500));
  f.push_back(int_field("audit", "checkpoint_interval_s",
                        "a signed checkpoint is written this often, even when idle", kLive,
                        REF(int64_t, audit.checkpoint_interval_s), 1, kDay));
  f.push_back(int_field("audit", "preallocate_bytes",
                        "zero-filled, synced space kept ahead of the live file's end, so commits "
                        "do not grow it; 0 = off",
                        kRestart, REF(int64_t, audit.preallocate_bytes), 0, 1ll << 30));
  f.push_back(string_field("audit", "ship_syslog_address",
                           "syslog collector (host:port) the log is shipped to over TLS "
                           "(RFC 5424/5425); \"\" = not shipped",
                           kRestart, REF(std::string, audit.ship_syslog_address),
                           check_collector_address));
  f.push_back(string_field("audit", "ship_ca_file",
                           "CA (PEM) that signed the collector's certificate; required when "
                           "shipping",
                           kRestart, REF(std::string, audit.ship_ca_file)));
  f.push_back(string_field("audit", "ship_cert_file",
                           "client certificate (PEM) shown to the collector; \"\" = none", kRestart,
                           REF(std::string, audit.ship_cert_file)));
  f.push_back(string_field("audit", "ship_key_file", "key of ship_cert_file (PEM)", kRestart,
                           REF(std::string, audit.ship_key_file)));
  f.push_back(string_field("audit", "ship_app_name", "APP-NAME of every shipped message", kRestart,
                           REF(std::string, audit.ship_app_name), check_syslog_app_name));
  f.push_back(int_field("audit", "ship_batch_lines_max",
                        "most audit lines sent to the collector in one write", kRestart,
                        REF(int64_t, audit.ship_batch_lines_max), 1, 65536));

  // [notify]
  f.push_back(string_field("notify", "console_url",
                           "the console's address in messages: each links to "
                           "<console_url>/requests/<id>; \"\" = no link",
                           kLive, REF(std::string, notify.console_url), check_https_url));
  f.push_back(string_field("notify", "webhook_url",
                           "new access requests and decisions are POSTed here (https://); \"\" = "
                           "no webhook",
                           kLive, REF(std::string, notify.webhook_url), check_https_url));
  f.push_back(string_field("notify", "webhook_secret_file",
                           "file holding the key of the X-Pamproxy-Signature HMAC-SHA256 header; "
                           "required with webhook_url",
                           kLive, REF(std::string, notify.webhook_secret_file)));
  f.push_back(enum_field<WebhookFormat>(
      "notify", "webhook_format",
      "\"json\": the request's facts as JSON; \"slack\": a Slack-compatible {\"text\": ...} body",
      kLive, REF(WebhookFormat, notify.webhook_format),
      {{"json", WebhookFormat::kJson}, {"slack", WebhookFormat::kSlack}}));
  f.push_back(string_field("notify", "webhook_ca_file",
                           "CA bundle (PEM) trusted for the webhook's server; \"\" = the system "
                           "store",
                           kLive, REF(std::string, notify.webhook_ca_file)));
  f.push_back(string_field("notify", "smtp_address",
                           "mail server (host:port) that takes the e-mails to approvers and "
                           "requesters; \"\" = no e-mail",
                           kLive, REF(std::string, notify.smtp_address), check_collector_address));
  f.push_back(bool_field("notify", "smtp_starttls",
                         "require STARTTLS with the mail server (false is refused with "
                         "smtp_username: credentials never travel in clear)",
                         kLive, REF(bool, notify.smtp_starttls)));
  f.push_back(string_field("notify", "smtp_ca_file",
                           "CA bundle (PEM) trusted for the mail server; \"\" = the system store",
                           kLive, REF(std::string, notify.smtp_ca_file)));
  f.push_back(string_field("notify", "smtp_from",
                           "the sender of the e-mails; required with smtp_address", kLive,
                           REF(std::string, notify.smtp_from), check_mail_address));
  f.push_back(string_field("notify", "smtp_username", "SMTP AUTH user; \"\" = no authentication",
                           kLive, REF(std::string, notify.smtp_username)));
  f.push_back(string_field("notify", "smtp_password_file",
                           "file holding the SMTP AUTH password; required with smtp_username",
                           kLive, REF(std::string, notify.smtp_password_file)));
  f.push_back(int_field("notify", "timeout_ms",
                        "longest one delivery attempt may take (connect, TLS, send, answer)", kLive,
                        REF(int64_t, notify.timeout_ms), 100, 120000));
  f.push_back(int_field("notify", "retry_max_attempts",
                        "attempts per message before it is marked failed (and audited)", kLive,
                        REF(int64_t, notify.retry_max_attempts), 1, 100));
  f.push_back(int_field("notify", "retry_initial_s",
                        "wait after the first failed attempt; doubled after each further one",
                        kLive, REF(int64_t, notify.retry_initial_s), 1, kDay));
  f.push_back(int_field("notify", "retry_max_s", "longest wait between two attempts", kLive,
                        REF(int64_t, notify.retry_max_s), 1, 7 * kDay));

  // [session]
  f.push_back(int_field("session", "idle_timeout_s",
                        "a session (user, record, client address) ends after this much silence",
                        kLive, REF(int64_t, session.idle_timeout_s), 10, 7 * kDay));

  // [limits]
  f.push_back(int_field("limits", "connect_head_bytes_max", "largest CONNECT request head",
                        kLive, REF(int64_t, limits.connect_head_bytes_max), 256, 65536));
  f.push_back(int_field("limits", "head_bytes_max", "largest HTTP request or response head",
                        kLive, REF(int64_t, limits.head_bytes_max), 1024, 1 << 20));
  f.push_back(int_field("limits", "header_count_max", "most header fields in one head", kLive,
                        REF(int64_t, limits.header_count_max), 8, 1024));
  f.push_back(int_field("limits", "header_name_bytes_max", "longest header field name", kLive,
                        REF(int64_t, limits.header_name_bytes_max), 16, 65536));
  f.push_back(int_field("limits", "header_value_bytes_max", "longest header field value", kLive,
                        REF(int64_t, limits.header_value_bytes_max), 64, 1 << 20));
  f.push_back(int_field("limits", "pipeline_depth_max",
                        "requests a client may send ahead of the responses", kLive,
                        REF(int64_t, limits.pipeline_depth_max), 1, 1024));
  f.push_back(int_field("limits", "connections_max", "client connections in total", kLive,
                        REF(int64_t, limits.connections_max), 1, 1 << 22));
  f.push_back(int_field("limits", "connections_per_client_max",
                        "client connections from one address", kLive,
                        REF(int64_t, limits.connections_per_client_max), 1, 1 << 22));
  f.push_back(int_field("limits", "lingering_close_bytes_max",
                        "after a request refused in the middle of its body, the most of the "
                        "rest the client may send (read and dropped) before its connection "
                        "closes",
                        kLive, REF(int64_t, limits.lingering_close_bytes_max), 0, 1ll << 40));

  // [timeouts]
  const int64_t kHour = 3600000;
  f.push_back(int_field("timeouts", "connect_head_ms", "wait for the CONNECT head", kLive,
                        REF(int64_t, timeouts.connect_head_ms), 100, kHour));
  f.push_back(int_field("timeouts", "tls_handshake_ms", "wait for a TLS handshake (either side)",
                        kLive, REF(int64_t, timeouts.tls_handshake_ms), 100, kHour));
  f.push_back(int_field("timeouts", "request_head_ms", "wait for a whole request head", kLive,
                        REF(int64_t, timeouts.request_head_ms), 100, kHour));
  f.push_back(int_field("timeouts", "body_stall_ms",
                        "longest silence in the middle of a body, either way", kLive,
                        REF(int64_t, timeouts.body_stall_ms), 100, kHour));
  f.push_back(int_field("timeouts", "lingering_close_ms",
                        "after a request refused in the middle of its body, how long the rest is "
                        "read and dropped so the client sees the answer; 0 closes at once",
                        kLive, REF(int64_t, timeouts.lingering_close_ms), 0, kHour));
  f.push_back(int_field("timeouts", "upstream_connect_ms",
                        "wait for an upstream TCP connect and TLS handshake", kLive,
                        REF(int64_t, timeouts.upstream_connect_ms), 100, kHour));
  f.push_back(int_field("timeouts", "upstream_response_ms",
                        "wait for the upstream's response head", kLive,
                        REF(int64_t, timeouts.upstream_response_ms), 100, 24 * kHour));
  f.push_back(int_field("timeouts", "idle_keepalive_ms",
                        "an idle client tunnel is closed after this long", kLive,
                        REF(int64_t, timeouts.idle_keepalive_ms), 100, 24 * kHour));
  f.push_back(int_field("timeouts", "dns_ms", "wait for a DNS answer", kRestart,
                        REF(int64_t, timeouts.dns_ms), 100, 60000));
  f.push_back(int_field("timeouts", "shutdown_drain_ms",
                        "on SIGTERM, how long open tunnels may finish before they are closed",
                        kLive, REF(int64_t, timeouts.shutdown_drain_ms), 0, kHour));

  // [log]
  f.push_back(enum_field<LogLevel>("log", "level", "least severe level written", kLive,
                                   REF(LogLevel, log.level),
                                   {{"debug", LogLevel::kDebug},
                                    {"info", LogLevel::kInfo},
                                    {"warn", LogLevel::kWarn},
                                    {"error", LogLevel::kError}}));
  f.push_back(enum_field<LogFormat>("log", "format",
                                    "\"kv\": key=value lines; \"json\": one JSON object per line",
                                    kLive, REF(LogFormat, log.format),
                                    {{"kv", LogFormat::kKv}, {"json", LogFormat::kJson}}));
  return f;
}

#undef REF

}  // namespace

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = build();
  return kFields;
}

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char esc[8];
          std::snprintf(esc, sizeof(esc), "\\u%04X", c);
          out += esc;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace pamproxy::config::internal
