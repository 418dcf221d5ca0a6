// Loading: TOML text -> Config, walking the schema. toml++ reports syntax errors by exception
// (configuration is read at start and on SIGHUP, never on the data plane), caught here and turned
// into an Error with the file and line.

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "pamproxy/base/check.h"
#include "pamproxy/config/config.h"
#include "schema.h"

namespace pamproxy::config {
namespace {

using internal::Field;
using internal::fields;

constexpr size_t kFileBytesMax = 4 << 20;
constexpr size_t kErrorsMax = 50;

size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 99;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view got, const std::vector<std::string_view>& known) {
  std::string_view best;
  size_t best_d = 3;  // only close misspellings
  for (std::string_view k : known) {
    size_t d = edit_distance(got, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best.empty() ? std::string() : " (did you mean '" + std::string(best) + "'?)";
}

class Loader {
 public:
  Loader(std::string_view file, LoadResult* out) : file_(file), out_(out) {}

  void add(const toml::source_region& where, std::string key, std::string message) {
    if (out_->errors.size() >= kErrorsMax) return;
    out_->errors.push_back(Error{file_, where.begin.line, where.begin.column, std::move(key),
                                 std::move(message)});
  }

  void run(const toml::table& root) {
    std::vector<std::string_view> sections;
    std::unordered_map<std::string_view, std::unordered_map<std::string_view, const Field*>> by;
    for (const Field& f : fields()) {
      if (by.find(f.section) == by.end()) sections.push_back(f.section);
      by[f.section][f.key] = &f;
    }
    for (auto&& [section_key, section_node] : root) {
      std::string section(section_key.str());
      auto it = by.find(section);
      if (it == by.end()) {
        add(section_key.source(), section,
            section_node.is_table() ? "unknown section [" + section + "]" + suggestion(section, sections)
                                    : "unknown key '" + section + "' (every key belongs in a section)");
        continue;
      }
      const auto* table = section_node.as_table();
      if (table == nullptr) {
        add(section_key.source(), section, "expected a [" + section + "] table");
        continue;
      }
      std::vector<std::string_view> keys;
      for (const auto& [k, f] : it->second) keys.push_back(k);
      for (auto&& [key, node] : *table) {
        std::string dotted = section + "." + std::string(key.str());
        auto field = it->second.find(key.str());
        if (field == it->second.end()) {
          add(key.source(), dotted, "unknown key" + suggestion(key.str(), keys));
          continue;
        }
        std::string why = field->second->parse(node, out_->config);
        if (!why.empty()) add(node.source(), dotted, why);
      }
    }
    check_audit_ship(root);
    check_store(root);
    check_identity(root);
    check_notify(root);
  }

  // Sign-in through the provider needs all of these; checked only when it is enabled, so the
  // keys can be filled in before it is turned on.
  void check_identity(const toml::table& root) {
    const IdentitySection& i = out_->config.identity;
    const toml::node* identity = root.get("identity");
    const toml::table* table = identity != nullptr ? identity->as_table() : nullptr;
    auto at = [&](std::string_view key) {
      const toml::node* n = table != nullptr ? table->get(key) : nullptr;
      if (n != nullptr) return n->source();
      return identity != nullptr ? identity->source() : toml::source_region{};
    };
    if (!i.enabled) return;
    const std::pair<std::string_view, const std::string*> required[] = {
        {"issuer", &i.issuer},
        {"client_id", &i.client_id},
        {"client_secret_file", &i.client_secret_file},
        {"console_url", &i.console_url},
        {"subject_claim", &i.subject_claim}};
    for (const auto& [key, value] : required) {
      if (value->empty()) {
        add(at("enabled"), "identity." + std::string(key), "required when enabled = true");
      }
    }
    if (std::find(i.scopes.begin(), i.scopes.end(), "openid") == i.scopes.end()) {
      add(at("scopes"), "identity.scopes", "must hold \"openid\" (an OpenID Connect sign-in)");
    }
  }

  // [notify]: the keys that need one another, and no credentials without TLS.
  void check_notify(const toml::table& root) {
    const NotifySection& n = out_->config.notify;
    const toml::table* notify = root["notify"].as_table();
    if (notify == nullptr) return;
    auto at = [&](std::string_view key) {
      const toml::node* node = notify->get(key);
      return node != nullptr ? node->source() : notify->source();
    };
    if (!n.webhook_url.empty() && n.webhook_secret_file.empty()) {
      add(at("webhook_url"), "notify.webhook_secret_file",
          "required when webhook_url is set (the key of the signature a receiver checks)");
    }
    if (!n.smtp_address.empty() && n.smtp_from.empty()) {
      add(at("smtp_address"), "notify.smtp_from", "required when smtp_address is set");
    }
    if (n.smtp_username.empty() != n.smtp_password_file.empty()) {
      const bool user = n.smtp_username.empty();
      add(at(user ? "smtp_password_file" : "smtp_username"),
          user ? "notify.smtp_username" : "notify.smtp_password_file",
          "smtp_username and smtp_password_file are set together");
    }
    if (!n.smtp_username.empty() && !n.smtp_starttls) {
      add(at("smtp_starttls"), "notify.smtp_starttls",
          "must be true when smtp_username is set: a password is never sent without TLS");
    }
    if (n.retry_max_s < n.retry_initial_s) {
      add(at("retry_max_s"), "notify.retry_max_s", "must not be less than retry_initial_s");
    }
  }

  // The shipping keys that only make sense together.
  void check_audit_ship(const toml::table& root) {
    const AuditSection& a = out_->config.audit;
    const toml::table* audit = root["audit"].as_table();
    if (audit == nullptr) return;
    auto where = [&](std::string_view key) {
      const toml::node* n = audit->get(key);
      return n != nullptr ? n->source() : audit->source();
    };
    if (!a.ship_syslog_address.empty() && a.ship_ca_file.empty()) {
      add(where("ship_syslog_address"), "audit.ship_ca_file",
          "required when ship_syslog_address is set (the CA of the collector's certificate)");
    }
    if (a.ship_cert_file.empty() != a.ship_key_file.empty()) {
      const bool cert = a.ship_cert_file.empty();
      add(where(cert ? "ship_key_file" : "ship_cert_file"),
          cert ? "audit.ship_cert_file" : "audit.ship_key_file",
          "ship_cert_file and ship_key_file are set together");
    }
  }

  // Keys that are valid alone but not together.
  void check_store(const toml::table& root) {
    const StoreSection& s = out_->config.store;
    const toml::node* store = root.get("store");
    toml::source_region where = store != nullptr ? store->source() : toml::source_region{};
    auto at = [&](std::string_view key) {
      const toml::node* n =
          store != nullptr && store->is_table() ? store->as_table()->get(key) : nullptr;
      return n != nullptr ? n->source() : where;
    };
    bool has_url = !s.postgresql_url.empty(), has_file = !s.postgresql_url_file.empty();
    if (s.backend == StoreBackend::kPostgresql && !has_url && !has_file) {
      add(at("backend"), "store.postgresql_url",
          "backend = \"postgresql\" needs postgresql_url or postgresql_url_file");
    }
    if (has_url && has_file) {
      add(at("postgresql_url_file"), "store.postgresql_url_file",
          "set postgresql_url or postgresql_url_file, not both");
    }
    if (s.backend != StoreBackend::kPostgresql && (has_url || has_file)) {
      add(at(has_url ? "postgresql_url" : "postgresql_url_file"),
          has_url ? "store.postgresql_url" : "store.postgresql_url_file",
          "only used with backend = \"postgresql\"");
    }
  }

 private:
  std::string file_;
  LoadResult* out_;
};

}  // namespace

std::string Error::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += "key '" + key + "': ";
  return out + message;
}

LoadResult load_string(std::string_view toml_text, std::string_view file) {
  LoadResult result;
  if (toml_text.size() > kFileBytesMax) {
    result.errors.push_back(Error{std::string(file), 0, 0, "",
                                  "file is larger than " + std::to_string(kFileBytesMax) + " bytes"});
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string(file));
  } catch (const toml::parse_error& e) {
    result.errors.push_back(Error{std::string(file), e.source().begin.line,
                                  e.source().begin.column, "",
                                  "syntax error: " + std::string(e.description())});
    return result;
  }
  Loader(file, &result).run(root);
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back(Error{path, 0, 0, "", "cannot read the file"});
    return result;
  }
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kFileBytesMax) break;
  }
  return load_string(text, path);
}

std::string to_toml(const Config& config) {
  std::string out;
  std::string_view section;
  for (const Field& f : fields()) {
    if (f.section != section) {
      if (!section.empty()) out += "\n";
      section = f.section;
      out += "[" + std::string(section) + "]\n";
    }
    out += std::string(f.key) + " = " + f.render(config) + "\n";
  }
  return out;
}

const std::vector<KeyInfo>& schema() {
  static const std::vector<KeyInfo> kInfo = [] {
    std::vector<KeyInfo> v;
    for (const Field& f : fields()) v.push_back({f.section, f.key, f.doc, f.restart_required});
    return v;
  }();
  return kInfo;
}

std::vector<std::string> changed_keys(const Config& a, const Config& b) {
  std::vector<std::string> out;
  for (const Field& f : fields()) {
    if (f.render(a) != f.render(b)) out.push_back(std::string(f.section) + "." + std::string(f.key));
  }
  return out;
}

Config with_live_keys(const Config& running, const Config& next) {
  Config out = running;
  for (const Field& f : fields()) {
    if (f.restart_required) continue;
    // Through the key's own TOML text: one path for every type, and the parse that checked
    // `next` when it was loaded cannot refuse its own rendering.
    toml::table doc = toml::parse("v = " + f.render(next));
    const toml::node* node = doc.get("v");
    PAMPROXY_CHECK(node != nullptr && f.parse(*node, out).empty());
  }
  return out;
}

Paths resolve_paths(const Config& c, const char* state_env, const char* credentials_env) {
  Paths p;
  if (!c.store.directory.empty()) {
    p.state_directory = c.store.directory;
  } else if (state_env != nullptr && *state_env != '\0') {
    // systemd may list several directories separated by ':'; the first is ours.
    std::string_view s(state_env);
    p.state_directory = std::string(s.substr(0, s.find(':')));
  } else {
    p.state_directory = "pamproxy-state";
  }
  const std::string& dir = p.state_directory;
  if (!c.store.master_key_file.empty()) {
    p.master_key_file = c.store.master_key_file;
  } else if (credentials_env != nullptr && *credentials_env != '\0') {
    p.master_key_file = std::string(credentials_env) + "/master-key";
  } else {
    p.master_key_file = dir + "/master.key";
  }
  p.ca_cert_file = c.tls.ca_cert_file.empty() ? dir + "/ca/ca.pem" : c.tls.ca_cert_file;
  p.ca_key_file = c.tls.ca_key_file.empty() ? dir + "/ca/ca.key" : c.tls.ca_key_file;
  p.audit_directory = c.audit.directory.empty() ? dir + "/audit" : c.audit.directory;
  p.audit_signing_key_file =
      c.audit.signing_key_file.empty() ? dir + "/audit-ed25519.key" : c.audit.signing_key_file;
  p.database_file = dir + "/pamproxy.db";
  return p;
}

}  // namespace pamproxy::config
