#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "pamproxy/config/config.h"

namespace pamproxy::config {
namespace {

LoadResult load(std::string_view text) { return load_string(text, "test.toml"); }

TEST(ConfigLoad, EmptyFileGivesTheEmbeddedDefaults) {
  LoadResult r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.proxy.listen, std::vector<std::string>{"127.0.0.1:8081"});
  EXPECT_EQ(r.config.admin.listen, "127.0.0.1:8443");
  EXPECT_EQ(r.config.proxy.clock_skew_s, 900);
  EXPECT_EQ(r.config.engine.threads, 0);
  EXPECT_EQ(r.config.engine.buffer_bytes, 16384);
  EXPECT_EQ(r.config.engine.ktls, Ktls::kAuto);
  EXPECT_EQ(r.config.audit.durability, Durability::kBeforeForward);
  EXPECT_EQ(r.config.audit.on_full, OnFull::kHold);
}

TEST(ConfigLoad, ReadsEveryKindOfValue) {
  LoadResult r = load(R"(
[proxy]
listen = ["127.0.0.1:9000", "[::1]:9000"]
clock_skew_s = 300
private_destinations_allowed = ["127.0.0.0/8"]

[engine]
threads = 2
ktls = "off"
pin_threads = false

[[upstream.resolve]]
host = "*.s3.amazonaws.com"
address = "127.0.0.1:9443"

[audit]
durability = "async"

[log]
level = "debug"
)");
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();
  EXPECT_EQ(r.config.proxy.listen.size(), 2u);
  EXPECT_EQ(r.config.proxy.clock_skew_s, 300);
  EXPECT_EQ(r.config.engine.threads, 2);
  EXPECT_EQ(r.config.engine.ktls, Ktls::kOff);
  EXPECT_FALSE(r.config.engine.pin_threads);
  ASSERT_EQ(r.config.upstream.resolve.size(), 1u);
  EXPECT_EQ(r.config.upstream.resolve[0].host, "*.s3.amazonaws.com");
  EXPECT_EQ(r.config.upstream.resolve[0].address, "127.0.0.1:9443");
  EXPECT_EQ(r.config.audit.durability, Durability::kAsync);
  EXPECT_EQ(r.config.log.level, LogLevel::kDebug);
}

TEST(ConfigLoad, ThreadsAcceptsAuto) {
  LoadResult r = load("[engine]\nthreads = \"auto\"\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.engine.threads, 0);
}

struct BadCase {
  const char* text;
  const char* key;
  uint32_t line;
  const char* message_part;
};

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NameKeyAndLine) {
  const BadCase& c = GetParam();
  LoadResult r = load(c.text);
  ASSERT_FALSE(r.ok()) << c.text;
  const Error& e = r.errors.front();
  EXPECT_EQ(e.key, c.key) << e.to_string();
  EXPECT_EQ(e.line, c.line) << e.to_string();
  EXPECT_NE(e.message.find(c.message_part), std::string::npos) << e.to_string();
  EXPECT_EQ(e.to_string().rfind("test.toml:" + std::to_string(c.line) + ":", 0), 0u)
      << e.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigErrors,
    ::testing::Values(
        BadCase{"[engine]\nktls = \"maybe\"\n", "engine.ktls", 2,
                "expected one of \"auto\", \"off\", \"required\" (got \"maybe\")"},
        BadCase{"[limits]\n\nhead_bytes_max = \"64k\"\n", "limits.head_bytes_max", 3,
                "expected an integer, got a string"},
        BadCase{"[proxy]\nlisen = [\"127.0.0.1:1\"]\n", "proxy.lisen", 2,
                "unknown key (did you mean 'listen'?)"},
        BadCase{"[proxi]\nlisten = []\n", "proxi", 1, "unknown section [proxi]"},
        BadCase{"top = 1\n", "top", 1, "every key belongs in a section"},
        BadCase{"[proxy]\nclock_skew_s = 0\n", "proxy.clock_skew_s", 2, "out of range: 0"},
        BadCase{"[engine]\nbuffer_bytes = 10000\n", "engine.buffer_bytes", 2, "power of two"},
        BadCase{"[engine]\nthreads = 0\n", "engine.threads", 2, "out of range"},
        BadCase{"[engine]\nthreads = \"many\"\n", "engine.threads", 2, "\"auto\""},
        BadCase{"[engine]\npin_threads = \"yes\"\n", "engine.pin_threads", 2, "true or false"},
        BadCase{"[proxy]\nlisten = [\"localhost:80\"]\n", "proxy.listen", 2, "entry 1"},
        BadCase{"[proxy]\nlisten = \"127.0.0.1:80\"\n", "proxy.listen", 2, "array of strings"},
        BadCase{"[proxy]\nproxy_protocol_trusted = [\"10.0.0.0/99\"]\n",
                "proxy.proxy_protocol_trusted", 2, "not a network"},
        BadCase{"[proxy]\ndestination_allowlist = [\"*.amazonaws.com\"]\n",
                "proxy.destination_allowlist", 2, "host:port"},
        BadCase{"[upstream]\nresolve = [{ host = \"a.example\" }]\n", "upstream.resolve", 2,
                "needs both host and address"},
        BadCase{"[upstream]\nresolve = [{ host = \"a.example\", address = \"127.0.0.1:1\", port = "
                "1 }]\n",
                "upstream.resolve", 2, "unknown key 'port'"},
        BadCase{"[admin]\nlisten = \"127.0.0.1\"\n", "admin.listen", 2, "not an address"},
        BadCase{"[store]\nbackend = \"postgresql\"\n", "store.postgresql_url", 2,
                "needs postgresql_url or postgresql_url_file"},
        BadCase{"[store]\nbackend = \"postgresql\"\npostgresql_url = \"db.example\"\n",
                "store.postgresql_url", 3, "libpq connection string"},
        BadCase{"[store]\nbackend = \"postgresql\"\npostgresql_url = \"host=h\"\n"
                "postgresql_url_file = \"/etc/pamproxy/pg\"\n",
                "store.postgresql_url_file", 4, "not both"},
        BadCase{"[store]\npostgresql_url = \"host=h\"\n", "store.postgresql_url", 2,
                "only used with backend = \"postgresql\""},
        BadCase{"[store]\nconnect_timeout_ms = 5\n", "store.connect_timeout_ms", 2, "1000"},
        BadCase{"[identity]\nissuer = \"http://login.example\"\n", "identity.issuer", 2,
                "https:// URL"},
        BadCase{"[identity]\nissuer = \"https://login.example/?x=1\"\n", "identity.issuer", 2,
                "no query"},
        BadCase{"[identity]\nconsole_url = \"https://pam.example/console\"\n",
                "identity.console_url", 2, "no path"},
        BadCase{"[identity]\nscopes = [\"openid\", \"a b\"]\n", "identity.scopes", 2,
                "entry 2"},
        BadCase{"[identity]\ngroups_claim = \"my groups\"\n", "identity.groups_claim", 2,
                "without spaces"},
        BadCase{"[identity]\nclock_skew_s = 601\n", "identity.clock_skew_s", 2, "0 to 600"},
        BadCase{"[identity]\ntoken_endpoint_auth = \"private_key_jwt\"\n",
                "identity.token_endpoint_auth", 2, "client_secret_basic"},
        BadCase{"[identity]\nenabled = true\n", "identity.issuer", 2,
                "required when enabled = true"},
        BadCase{"[identity]\nenabled = true\nissuer = \"https://id.example\"\nclient_id = \"p\"\n"
                "client_secret_file = \"/s\"\nconsole_url = \"https://pam.example\"\n"
                "scopes = [\"email\"]\n",
                "identity.scopes", 7, "must hold \"openid\""},
        BadCase{"[notify]\nwebhook_url = \"http://hooks.example/x\"\n", "notify.webhook_url", 2,
                "https://"},
        BadCase{"[notify]\nwebhook_url = \"https://hooks.example/x\"\n",
                "notify.webhook_secret_file", 2, "required when webhook_url"},
        BadCase{"[notify]\nwebhook_format = \"xml\"\n", "notify.webhook_format", 2, "\"slack\""},
        BadCase{"[notify]\nsmtp_address = \"mail.example:25\"\n", "notify.smtp_from", 2,
                "required when smtp_address"},
        BadCase{"[notify]\nsmtp_from = \"Pam <pam@example.test>\"\n", "notify.smtp_from", 2,
                "pamproxy@example.com"},
        BadCase{"[notify]\nsmtp_username = \"pam\"\nsmtp_password_file = \"/p\"\n"
                "smtp_starttls = false\n",
                "notify.smtp_starttls", 4, "never sent without TLS"},
        BadCase{"[notify]\nsmtp_username = \"pam\"\n", "notify.smtp_password_file", 2,
                "set together"},
        BadCase{"[notify]\nretry_initial_s = 60\nretry_max_s = 30\n", "notify.retry_max_s", 3,
                "less than retry_initial_s"},
        BadCase{"[notify]\nretry_max_attempts = 0\n", "notify.retry_max_attempts", 2, "1 to 100"},
        BadCase{"[proxy]\nlisten = [\n", "", 2, "syntax error"},
        BadCase{"[proxy]\nclock_skew_s = 1\nclock_skew_s = 2\n", "", 3, "syntax error"},
        BadCase{"[proxy]\nclock_skew_s = 99999999999999999999\n", "", 2, "syntax error"},
        BadCase{"[audit]\nship_syslog_address = \"logs.example\"\n", "audit.ship_syslog_address", 2,
                "not host:port"},
        BadCase{"[audit]\nship_syslog_address = \"::1:6514\"\n", "audit.ship_syslog_address", 2,
                "brackets"},
        BadCase{"[audit]\nship_syslog_address = \"h:70000\"\n", "audit.ship_syslog_address", 2,
                "port must be"},
        BadCase{"[audit]\n\nship_syslog_address = \"[::1]:6514\"\n", "audit.ship_ca_file", 3,
                "required when ship_syslog_address is set"},
        BadCase{"[audit]\nship_cert_file = \"c.pem\"\n", "audit.ship_key_file", 2, "set together"},
        BadCase{"[audit]\nship_app_name = \"pam proxy\"\n", "audit.ship_app_name", 2,
                "printable ASCII"}));

TEST(ConfigLoad, ReportsEveryErrorNotJustTheFirst) {
  LoadResult r = load("[engine]\nktls = \"maybe\"\nthreads = -1\n[log]\nlevel = 3\n");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].key, "engine.ktls");
  EXPECT_EQ(r.errors[1].key, "engine.threads");
  EXPECT_EQ(r.errors[2].key, "log.level");
}

TEST(ConfigLoad, MissingFileIsAnErrorNamingTheFile) {
  LoadResult r = load_file("/nonexistent/pamproxy.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].to_string().find("/nonexistent/pamproxy.toml"), std::string::npos);
}

TEST(ConfigLoad, EffectiveConfigRoundTrips) {
  LoadResult a = load("[engine]\nthreads = 3\n[[upstream.resolve]]\nhost = \"x.example\"\n"
                      "address = \"[::1]:443\"\n[audit]\non_full = \"refuse\"\n");
  ASSERT_TRUE(a.ok());
  std::string text = to_toml(a.config);
  LoadResult b = load_string(text, "printed.toml");
  ASSERT_TRUE(b.ok()) << b.errors[0].to_string() << "\n" << text;
  EXPECT_EQ(to_toml(b.config), text);
  EXPECT_TRUE(changed_keys(a.config, b.config).empty());
}

TEST(ConfigLoad, ChangedKeysNamesWhatDiffers) {
  LoadResult a = load("");
  LoadResult b = load("[log]\nlevel = \"warn\"\n[engine]\nthreads = 4\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(changed_keys(a.config, b.config),
            (std::vector<std::string>{"engine.threads", "log.level"}));
}

TEST(ConfigLoad, ReloadTakesLiveKeysAndKeepsRestartOnes) {
  LoadResult running = load("[engine]\nthreads = 2\n[proxy]\nclock_skew_s = 300\n");
  LoadResult next = load(
      "[engine]\nthreads = 4\n[proxy]\nclock_skew_s = 60\n"
      "destination_allowlist = [\"a.example:443\"]\n[audit]\non_full = \"refuse\"\n"
      "[[upstream.resolve]]\nhost = \"a.example\"\naddress = \"127.0.0.1:9\"\n");
  ASSERT_TRUE(running.ok() && next.ok());
  Config merged = with_live_keys(running.config, next.config);
  EXPECT_EQ(merged.engine.threads, 2);  // restart only
  EXPECT_EQ(merged.proxy.clock_skew_s, 60);
  EXPECT_EQ(merged.proxy.destination_allowlist, std::vector<std::string>{"a.example:443"});
  EXPECT_EQ(merged.audit.on_full, OnFull::kRefuse);
  ASSERT_EQ(merged.upstream.resolve.size(), 1u);
  EXPECT_EQ(merged.upstream.resolve[0].address, "127.0.0.1:9");
  // Only the restart-only key still differs from the file, so a second reload names it again.
  EXPECT_EQ(changed_keys(merged, next.config), std::vector<std::string>{"engine.threads"});
}

TEST(ConfigLoad, IdentityIsReadAndChangedOnReload) {
  LoadResult running = load("");
  LoadResult next = load(
      "[identity]\nenabled = true\nissuer = \"https://id.example/realms/staff\"\n"
      "client_id = \"pamproxy\"\nclient_secret_file = \"/etc/pamproxy/oidc-secret\"\n"
      "token_endpoint_auth = \"client_secret_post\"\n"
      "scopes = [\"openid\", \"email\", \"groups\"]\nca_file = \"/etc/pamproxy/id-ca.pem\"\n"
      "console_url = \"https://pam.example:8443\"\ngroups_claim = \"roles\"\n"
      "clock_skew_s = 30\n");
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(next.ok()) << next.errors[0].to_string();
  EXPECT_FALSE(running.config.identity.enabled);
  EXPECT_EQ(running.config.identity.scopes,
            (std::vector<std::string>{"openid", "email", "profile"}));
  Config merged = with_live_keys(running.config, next.config);
  const IdentitySection& i = merged.identity;
  EXPECT_TRUE(i.enabled);
  EXPECT_EQ(i.issuer, "https://id.example/realms/staff");
  EXPECT_EQ(i.client_id, "pamproxy");
  EXPECT_EQ(i.token_endpoint_auth, TokenEndpointAuth::kClientSecretPost);
  EXPECT_EQ(i.scopes, (std::vector<std::string>{"openid", "email", "groups"}));
  EXPECT_EQ(i.console_url, "https://pam.example:8443");
  EXPECT_EQ(i.subject_claim, "sub");
  EXPECT_EQ(i.groups_claim, "roles");
  EXPECT_EQ(i.clock_skew_s, 30);
  EXPECT_TRUE(changed_keys(merged, next.config).empty());
}

TEST(ConfigSchema, EveryKeyIsDocumentedOnceAndHasAUnitWhereItHasOne) {
  std::set<std::string> seen;
  for (const KeyInfo& k : schema()) {
    std::string dotted = std::string(k.section) + "." + std::string(k.key);
    EXPECT_TRUE(seen.insert(dotted).second) << "duplicate " << dotted;
    EXPECT_FALSE(k.doc.empty()) << dotted;
  }
  // Durations and sizes carry their unit.
  for (const char* key : {"timeout", "interval", "skew", "age", "retention"}) {
    for (const KeyInfo& k : schema()) {
      if (std::string(k.key).find(key) == std::string::npos) continue;
      std::string name(k.key);
      bool has_unit = name.ends_with("_ms") || name.ends_with("_s") || name.ends_with("_days");
      EXPECT_TRUE(has_unit) << k.section << "." << k.key;
    }
  }
}

// appliance/pamproxy.toml is the documented example: it must load, and it must mention every
// key of the schema with its default value.
TEST(ConfigSchema, ApplianceExampleListsEveryKeyWithItsDefault) {
  const char* root = std::getenv("SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "SOURCE_ROOT is set by meson test";
  std::string path = std::string(root) + "/appliance/pamproxy.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();

  LoadResult r = load_string(text, path);
  ASSERT_TRUE(r.ok()) << r.errors[0].to_string();

  // Every key appears as "key = default" (commented out or not) under its section.
  std::string defaults = to_toml(Config{});
  std::istringstream lines(defaults);
  std::string line;
  std::string section;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      section = line;
      EXPECT_NE(text.find(section), std::string::npos) << "section missing: " << section;
      continue;
    }
    size_t after = text.find(section);
    EXPECT_NE(text.find(line, after), std::string::npos)
        << "appliance/pamproxy.toml lacks `" << line << "` in " << section;
  }
}

TEST(ConfigPaths, DefaultsFollowStateAndCredentialsDirectories) {
  Config c;
  Paths p = resolve_paths(c, nullptr, nullptr);
  EXPECT_EQ(p.state_directory, "pamproxy-state");
  EXPECT_EQ(p.master_key_file, "pamproxy-state/master.key");
  EXPECT_EQ(p.ca_cert_file, "pamproxy-state/ca/ca.pem");
  EXPECT_EQ(p.audit_directory, "pamproxy-state/audit");

  Paths s = resolve_paths(c, "/var/lib/pamproxy:/var/lib/other", "/run/credentials/p.service");
  EXPECT_EQ(s.state_directory, "/var/lib/pamproxy");
  EXPECT_EQ(s.master_key_file, "/run/credentials/p.service/master-key");
  EXPECT_EQ(s.database_file, "/var/lib/pamproxy/pamproxy.db");

  c.store.directory = "/srv/pp";
  c.audit.directory = "/var/log/pamproxy";
  Paths o = resolve_paths(c, "/var/lib/pamproxy", nullptr);
  EXPECT_EQ(o.state_directory, "/srv/pp");
  EXPECT_EQ(o.audit_directory, "/var/log/pamproxy");
}

}  // namespace
}  // namespace pamproxy::config
