// pamctl audit: offline tools for the audit log (no daemon needed).
//   pamctl audit verify DIR [--public-key FILE] [--config FILE] [--require-sealed]
//       checks the hash chain, the sequence and every checkpoint signature; prints the first bad
//       line and why. Exit 0 valid, 1 invalid (or unreadable), 2 usage.
//   pamctl audit verify --from-syslog FILE --node NAME [--app-name NAME] [key options]
//       the same checks on the copy a syslog collector wrote of what one node shipped: the lines
//       of FILE from host NAME (app "pamproxy" unless given), their syslog headers stripped;
//       exact resends are skipped.
//   pamctl audit export-key [--config FILE | --key FILE]
//       prints the audit public key (PEM), to keep off the appliance for later verification.
//   pamctl audit search [DIR] [filters]: cmd_audit_search.cc.
//
// The public key comes from --public-key, else from the appliance's signing key file as the
// configuration resolves it ([audit] signing_key_file, $STATE_DIRECTORY, ...).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "audit_search.h"
#include "commands.h"
#include "pamproxy/audit/signing_key.h"
#include "pamproxy/audit/syslog_frame.h"
#include "pamproxy/audit/verifier.h"
#include "pamproxy/config/config.h"

namespace pamproxy::cli {
namespace {

constexpr char kUsage[] =
    "usage: pamctl audit verify DIR [--public-key FILE] [--config FILE] [--require-sealed]\n"
    "       pamctl audit verify --from-syslog FILE --node NAME [--app-name NAME]\n"
    "                           [--public-key FILE] [--config FILE] [--require-sealed]\n"
    "       pamctl audit export-key [--config FILE | --key FILE]\n"
    "       pamctl audit search [DIR] [filters] [--json]   (pamctl audit search --help)\n";

int usage() {
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

struct Flags {
  std::vector<std::string> positional;
  std::optional<std::string> public_key;
  std::optional<std::string> config;
  std::optional<std::string> key;
  std::optional<std::string> from_syslog;
  std::optional<std::string> node;
  std::optional<std::string> app_name;
  bool require_sealed = false;
  bool ok = true;
};

Flags parse_flags(const std::vector<std::string>& args, size_t from) {
  Flags f;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::optional<std::string>* out) {
      if (i + 1 >= args.size()) {
        f.ok = false;
        return;
      }
      *out = args[++i];
    };
    if (a == "--public-key") {
      value(&f.public_key);
    } else if (a == "--config") {
      value(&f.config);
    } else if (a == "--key") {
      value(&f.key);
    } else if (a == "--from-syslog") {
      value(&f.from_syslog);
    } else if (a == "--node") {
      value(&f.node);
    } else if (a == "--app-name") {
      value(&f.app_name);
    } else if (a == "--require-sealed") {
      f.require_sealed = true;
    } else if (!a.empty() && a[0] == '-') {
      f.ok = false;
    } else {
      f.positional.push_back(a);
    }
  }
  return f;
}

// The signing key path the daemon would use with this configuration (or the defaults).
std::optional<std::string> signing_key_path(const Flags& f, std::string* error) {
  if (f.key) return *f.key;
  config::Config c;
  if (f.config) {
    config::LoadResult r = config::load_file(*f.config);
    if (!r.ok()) {
      *error = r.errors.front().to_string();
      return std::nullopt;
    }
    c = r.config;
  }
  config::Paths p = config::resolve_paths(c, std::getenv("STATE_DIRECTORY"),
                                          std::getenv("CREDENTIALS_DIRECTORY"));
  return p.audit_signing_key_file;
}

std::optional<audit::PublicKey> load_public_key(const Flags& f, std::string* error) {
  if (f.public_key) {
    std::ifstream in(*f.public_key);
    if (!in) {
      *error = "cannot read " + *f.public_key;
      return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto pub = audit::PublicKey::from_pem(ss.str());
    if (!pub.ok()) {
      *error = *f.public_key + ": " + std::string(pub.status().message());
      return std::nullopt;
    }
    return std::move(*pub);
  }
  auto path = signing_key_path(f, error);
  if (!path) return std::nullopt;
  auto key = audit::SigningKey::load(*path);
  if (!key.ok()) {
    *error = std::string(key.status().message()) +
             " (pass --public-key FILE, as printed by `pamctl audit export-key`)";
    return std::nullopt;
  }
  return audit::PublicKey::from_pem(key->public_key().pem()).value();
}

int print_summary(const std::string& what, const audit::VerifySummary& s,
                  const audit::PublicKey& pub) {
  std::printf(
      "%s: valid: %llu file(s), %llu line(s), seq %llu..%llu, %llu checkpoint(s) signed "
      "by key %s",
      what.c_str(), static_cast<unsigned long long>(s.files),
      static_cast<unsigned long long>(s.lines), static_cast<unsigned long long>(s.first_seq),
      static_cast<unsigned long long>(s.last_seq), static_cast<unsigned long long>(s.checkpoints),
      pub.key_id().c_str());
  if (s.checkpoints > 0) {
    std::printf(", last at seq %llu (%s)", static_cast<unsigned long long>(s.last_checkpoint_seq),
                s.last_checkpoint_time.c_str());
  }
  std::printf("\n");
  if (s.unsealed_lines > 0) {
    std::printf(
        "note: %llu line(s) after the last checkpoint are not sealed yet (the daemon is "
        "running, or stopped without its shutdown checkpoint)\n",
        static_cast<unsigned long long>(s.unsealed_lines));
  }
  return kExitOk;
}

// The collector's copy: the node's lines of one file.
int run_verify_collected(const Flags& f, const audit::PublicKey& pub) {
  const std::string& file = *f.from_syslog;
  audit::VerifyOptions o;
  o.key = &pub;
  o.require_sealed = f.require_sealed;
  audit::CollectedSummary collected;
  const std::string host = audit::syslog_hostname(*f.node);
  audit::VerifyResult r =
      audit::verify_collected(file, host, f.app_name.value_or("pamproxy"), o, &collected);
  if (r.problem) {
    std::printf("%s\ninvalid: %s (node %s)\n", r.problem->to_string().c_str(), file.c_str(),
                host.c_str());
    return kExitFailed;
  }
  print_summary(file + " (node " + host + ")", r.summary, pub);
  std::printf("%llu repeated line(s) skipped (resent), %llu line(s) of other hosts or programs\n",
              static_cast<unsigned long long>(collected.duplicates),
              static_cast<unsigned long long>(collected.other_lines));
  return kExitOk;
}

int run_verify(const std::vector<std::string>& args) {
  Flags f = parse_flags(args, 1);
  if (!f.ok || f.key) return usage();
  if (f.from_syslog.has_value() != f.node.has_value()) return usage();
  if (f.from_syslog ? !f.positional.empty() : (f.positional.size() != 1 || f.app_name)) {
    return usage();
  }
  const std::string dir = f.positional.empty() ? "" : f.positional[0];
  std::string error;
  auto pub = load_public_key(f, &error);
  if (!pub) {
    std::fprintf(stderr, "pamctl audit verify: no public key: %s\n", error.c_str());
    return kExitUsage;
  }
  if (f.from_syslog) return run_verify_collected(f, *pub);
  audit::VerifyOptions o;
  o.key = &*pub;
  o.require_sealed = f.require_sealed;
  audit::VerifyResult r = audit::verify_directory(dir, o);
  if (r.problem) {
    audit::Problem p = *r.problem;
    if (!p.file.empty() && p.file != dir) p.file = dir + "/" + p.file;
    std::printf("%s\ninvalid: %s\n", p.to_string().c_str(), dir.c_str());
    return kExitFailed;
  }
  return print_summary(dir, r.summary, *pub);
}

int run_export_key(const std::vector<std::string>& args) {
  Flags f = parse_flags(args, 1);
  if (!f.ok || !f.positional.empty() || f.public_key || f.require_sealed || (f.key && f.config) ||
      f.from_syslog || f.node || f.app_name) {
    return usage();
  }
  std::string error;
  auto path = signing_key_path(f, &error);
  if (!path) {
    std::fprintf(stderr, "pamctl audit export-key: %s\n", error.c_str());
    return kExitFailed;
  }
  auto key = audit::SigningKey::load(*path);
  if (!key.ok()) {
    std::fprintf(stderr,
                 "pamctl audit export-key: %s (the key is created when pamproxyd first "
                 "starts)\n",
                 std::string(key.status().message()).c_str());
    return kExitFailed;
  }
  std::fputs(key->public_key().pem().c_str(), stdout);
  return kExitOk;
}

}  // namespace

int run_audit(const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  if (args[0] == "search") return run_audit_search(args);  // its own, longer usage
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (args[0] == "verify") return run_verify(args);
  if (args[0] == "export-key") return run_export_key(args);
  return usage();
}

}  // namespace pamproxy::cli
