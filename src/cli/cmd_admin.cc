// The appliance-wide calls of the admin REST API (docs/admin-api.md):
//   pamctl health                        is the API up (no token needed)
//   pamctl ca export [FILE] [--insecure] the CA certificate for AWS_CA_BUNDLE (no token needed)
//   pamctl whoami                        the user and token the API sees
//   pamctl metrics                       Prometheus text (admins)
//   pamctl settings get [KEY]            all settings, or one value alone (for scripts)
//   pamctl settings set KEY VALUE...     change settings (admins); VALUE true/false, an integer,
//                                        or a string
//   pamctl record-types list|enable NAME|disable NAME
// Common flags and exit codes: see admin_client.h.

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "admin_client.h"
#include "commands.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::cli {
namespace {

constexpr char kHealthUsage[] = "usage: pamctl health\n";
constexpr char kCaUsage[] =
    "usage: pamctl ca export [FILE] [--insecure]\n"
    "  writes the appliance CA certificate (PEM) to FILE, or stdout; --insecure fetches it\n"
    "  without verifying the server (first contact): compare the fingerprint it prints\n";
constexpr char kWhoamiUsage[] = "usage: pamctl whoami\n";
constexpr char kMetricsUsage[] = "usage: pamctl metrics\n";
constexpr char kSettingsUsage[] =
    "usage: pamctl settings get [KEY]\n"
    "       pamctl settings set KEY VALUE [KEY VALUE...]   (e.g. proxy.enabled true)\n";
constexpr char kRecordTypesUsage[] =
    "usage: pamctl record-types list\n"
    "       pamctl record-types enable|disable NAME\n";

// Runs a call that takes no argument and shows one object.
int simple_get(const char* family, const char* text, const std::vector<std::string>& args,
               const std::string& path, bool authenticated) {
  ApiArgs a = ApiArgs::parse(args, 0, {});
  if (!args.empty() && is_help_word(args[0])) {
    return api_usage(family, text, "help");
  }
  if (!a.error.empty()) return api_usage(family, text, a.error);
  if (!a.positional.empty()) return api_usage(family, text, "unexpected '" + a.positional[0] + "'");
  ApiContext ctx;
  if (int rc = open_api(family, a, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  if (int rc = api_call(ctx, "GET", path, std::nullopt, &r, {.authenticated = authenticated});
      rc != kExitOk) {
    return rc;
  }
  return print_object(ctx, r);
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, i + 1 < len ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

// JSON for one setting value given on the command line.
void setting_value(JsonWriter& w, const std::string& v) {
  int64_t n = 0;
  if (v == "true" || v == "false")
    w.value(v == "true");
  else if (absl::SimpleAtoi(v, &n) && v.find_first_not_of("-0123456789") == std::string::npos) {
    w.value(n);
  } else {
    w.value(v);
  }
}

}  // namespace

int run_health(const std::vector<std::string>& args) {
  return simple_get("health", kHealthUsage, args, "/api/v1/health", false);
}

int run_whoami(const std::vector<std::string>& args) {
  return simple_get("whoami", kWhoamiUsage, args, "/api/v1/whoami", true);
}

int run_metrics(const std::vector<std::string>& args) {
  ApiArgs a = ApiArgs::parse(args, 0, {});
  if (!args.empty() && is_help_word(args[0])) {
    return api_usage("metrics", kMetricsUsage, "help");
  }
  if (!a.error.empty()) return api_usage("metrics", kMetricsUsage, a.error);
  if (!a.positional.empty() || a.json) {
    return api_usage("metrics", kMetricsUsage, "metrics takes no argument (its answer is text)");
  }
  ApiContext ctx;
  if (int rc = open_api("metrics", a, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  if (int rc = api_call(ctx, "GET", "/api/v1/metrics", std::nullopt, &r); rc != kExitOk) return rc;
  std::fwrite(r.body.data(), 1, r.body.size(), stdout);
  return kExitOk;
}

int run_ca(const std::vector<std::string>& args) {
  if (args.empty()) return api_usage("ca", kCaUsage, "");
  if (is_help_word(args[0])) return api_usage("ca", kCaUsage, "help");
  if (args[0] != "export") return api_usage("ca", kCaUsage, "unknown action '" + args[0] + "'");
  ApiArgs a = ApiArgs::parse(args, 1, {{"--insecure", ApiArgs::kSwitch}});
  if (!a.error.empty()) return api_usage("ca", kCaUsage, a.error);
  if (a.positional.size() > 1 || a.json) return api_usage("ca", kCaUsage, "give at most one FILE");
  ApiContext ctx;
  if (int rc = open_api("ca export", a, &ctx); rc != kExitOk) return rc;
  const bool insecure = a.has("--insecure");
  HttpsResponse r;
  if (int rc = api_call(ctx, "GET", "/api/v1/ca.pem", std::nullopt, &r,
                        {.authenticated = false, .verify = !insecure});
      rc != kExitOk) {
    return rc;
  }
  auto cert = tls::cert_from_pem(r.body);
  if (!cert.ok()) return fail(ctx, "the answer is not a PEM certificate");
  const std::string fingerprint = sha256_fingerprint(cert->get());
  if (insecure) {
    std::fprintf(stderr,
                 "pamctl ca export: NOT VERIFIED (--insecure). Check that its SHA-256 "
                 "fingerprint\n  %s\nis the appliance's: openssl x509 -noout -fingerprint "
                 "-sha256 -in <state>/ca/ca.pem\n",
                 fingerprint.c_str());
  }
  if (a.positional.empty() || a.positional[0] == "-") {
    std::fwrite(r.body.data(), 1, r.body.size(), stdout);
    return kExitOk;
  }
  const std::string& file = a.positional[0];
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << r.body;
    if (!out) return fail(ctx, "cannot write " + file);
  }
  ::chmod(file.c_str(), 0644);
  std::printf("wrote the CA certificate to %s (SHA-256 %s)\n", file.c_str(), fingerprint.c_str());
  return kExitOk;
}

int run_settings(const std::vector<std::string>& args) {
  if (args.empty()) return api_usage("settings", kSettingsUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage("settings", kSettingsUsage, "help");
  if (action != "get" && action != "set") {
    return api_usage("settings", kSettingsUsage, "unknown action '" + action + "'");
  }
  ApiArgs a = ApiArgs::parse(args, 1, {});
  if (!a.error.empty()) return api_usage("settings", kSettingsUsage, a.error);
  if (action == "get" && a.positional.size() > 1) {
    return api_usage("settings", kSettingsUsage, "get takes at most one KEY");
  }
  if (action == "set" && (a.positional.empty() || a.positional.size() % 2 != 0)) {
    return api_usage("settings", kSettingsUsage, "set takes KEY VALUE pairs");
  }
  ApiContext ctx;
  if (int rc = open_api("settings " + action, a, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  if (action == "set") {
    JsonWriter w;
    w.begin_object();
    for (size_t i = 0; i < a.positional.size(); i += 2) {
      w.key(a.positional[i]);
      setting_value(w, a.positional[i + 1]);
    }
    w.end_object();
    if (int rc = api_call(ctx, "PATCH", "/api/v1/settings", w.str(), &r); rc != kExitOk) return rc;
    return print_object(ctx, r);
  }
  if (int rc = api_call(ctx, "GET", "/api/v1/settings", std::nullopt, &r); rc != kExitOk) return rc;
  if (a.positional.empty()) return print_object(ctx, r);
  // One value alone, for scripts: `if [ "$(pamctl settings get proxy.enabled)" = true ]`.
  simdjson::dom::parser parser;
  simdjson::dom::element root, value;
  if (parser.parse(r.body).get(root) != simdjson::SUCCESS ||
      root.at_key(a.positional[0]).get(value) != simdjson::SUCCESS) {
    return fail(ctx, "no setting '" + a.positional[0] + "'");
  }
  if (ctx.json)
    std::printf("%s\n", simdjson::minify(value).c_str());
  else
    std::printf("%s\n", cell_text(value).c_str());
  return kExitOk;
}

int run_record_types(const std::vector<std::string>& args) {
  const char* f = "record-types";
  if (args.empty()) return api_usage(f, kRecordTypesUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kRecordTypesUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1, {});
  if (!a.error.empty()) return api_usage(f, kRecordTypesUsage, a.error);
  ApiContext ctx;
  HttpsResponse r;
  if (action == "list") {
    if (!a.positional.empty()) return api_usage(f, kRecordTypesUsage, "list takes no argument");
    if (int rc = open_api("record-types list", a, &ctx); rc != kExitOk) return rc;
    if (int rc = api_call(ctx, "GET", "/api/v1/record-types", std::nullopt, &r); rc != kExitOk) {
      return rc;
    }
    return print_list(ctx, r, {field_column("NAME", "name"), field_column("ENABLED", "enabled")});
  }
  if (action == "enable" || action == "disable") {
    if (a.positional.size() != 1) return api_usage(f, kRecordTypesUsage, action + " takes NAME");
    if (int rc = open_api("record-types " + action, a, &ctx); rc != kExitOk) return rc;
    const std::string path =
        "/api/v1/record-types/" + percent_encode(a.positional[0]) + "/" + action;
    if (int rc = api_call(ctx, "POST", path, std::nullopt, &r); rc != kExitOk) return rc;
    return print_object(ctx, r);
  }
  return api_usage(f, kRecordTypesUsage, "unknown action '" + action + "'");
}

}  // namespace pamproxy::cli
