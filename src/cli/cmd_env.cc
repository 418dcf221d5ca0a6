// What a user types to point AWS tools at the appliance (SPEC.md step 9), without copying four
// values by hand:
//   pamctl env --record REF [--token-file F | --token ID:SECRET] [--proxy HOST:PORT]
//              [--ca FILE] [--config FILE]
//       prints the four exports: HTTPS_PROXY, AWS_CA_BUNDLE, AWS_ACCESS_KEY_ID (TOKENID#REF) and
//       AWS_SECRET_ACCESS_KEY (the token's secret), quoted for sh.
//   pamctl aws-profile NAME --record REF --token-file F [--ca FILE] [--proxy HOST:PORT]
//              [--config FILE]
//       writes [profile NAME] into the AWS CLI config ($AWS_CONFIG_FILE, else ~/.aws/config)
//       with credential_process (so the secret stays in the token file, not in the shell's
//       environment) and ca_bundle, and says how to set the proxy (the CLI reads it only from
//       HTTPS_PROXY).
//   pamctl credential-process --record REF --token-file F
//       the JSON the AWS CLI's credential_process expects (Version 1).
// With --login instead of a token file (or, for aws-profile, no token file and a login), the
// token is the one `pamctl login` keeps, renewed through the identity provider as it is used
// (cmd_login.cc).
// The token is "<token id>:<secret>" from --token, --token-file, or $PAMCTL_TOKEN (a token file
// must not be readable by others). The proxy address is --proxy, $PAMCTL_PROXY, or the first
// [proxy] listen address of the configuration; the CA is --ca, else $PAMCTL_CA (or `ca` in
// pamctl's config file), else the configuration's CA file, and must exist.
// Exit 0, 1 (unreadable token file, cannot write the config), 2 usage.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "admin_settings.h"
#include "commands.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/config/config.h"

namespace pamproxy::cli {
namespace {

struct EnvFlags {
  std::vector<std::string> positional;
  std::optional<std::string> record, token, token_file, proxy, ca, config;
  bool login = false;  // the token of `pamctl login` (cmd_login.cc)
  std::string error;
};

EnvFlags parse(const std::vector<std::string>& args, size_t from) {
  EnvFlags f;
  for (size_t i = from; i < args.size() && f.error.empty(); ++i) {
    const std::string& a = args[i];
    std::optional<std::string>* slot = nullptr;
    if (a == "--record") slot = &f.record;
    else if (a == "--token") slot = &f.token;
    else if (a == "--token-file") slot = &f.token_file;
    else if (a == "--proxy") slot = &f.proxy;
    else if (a == "--ca") slot = &f.ca;
    else if (a == "--config") slot = &f.config;
    if (a == "--login") {
      f.login = true;
    } else if (slot != nullptr) {
      if (i + 1 >= args.size()) f.error = a + " needs a value";
      else *slot = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      f.error = "unknown flag " + a;
    } else {
      f.positional.push_back(a);
    }
  }
  return f;
}

constexpr char kUsage[] =
    "usage: pamctl env --record REF [--token-file F | --token ID:SECRET] [--proxy HOST:PORT]\n"
    "                  [--ca FILE] [--config FILE]\n"
    "       pamctl aws-profile NAME --record REF (--token-file F | --login) [--ca FILE]\n"
    "                  [--proxy HOST:PORT] [--config FILE]\n"
    "       pamctl credential-process --record REF (--token-file F | --login)\n";

int usage(const char* cmd, const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "pamctl %s: %s\n", cmd, why.c_str());
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

int help() {
  std::fputs(kUsage, stdout);
  return kExitOk;
}

// "<id>:<secret>" -> id, secret. The secret is never printed in an error.
bool read_token(const EnvFlags& f, std::string* id, std::string* secret, std::string* error) {
  std::string bearer;
  if (f.token) {
    bearer = *f.token;
  } else if (f.token_file) {
    struct stat st {};
    if (::stat(f.token_file->c_str(), &st) != 0) {
      *error = "cannot read token file " + *f.token_file;
      return false;
    }
    if ((st.st_mode & 077) != 0) {
      *error = "token file " + *f.token_file + " is readable by others: chmod 600 it";
      return false;
    }
    std::ifstream in(*f.token_file);
    std::getline(in, bearer);
  } else if (const char* env = std::getenv("PAMCTL_TOKEN")) {
    bearer = env;
  } else {
    *error = "no token: pass --token-file F (or --token, or set PAMCTL_TOKEN)";
    return false;
  }
  while (!bearer.empty() && (bearer.back() == '\n' || bearer.back() == '\r')) bearer.pop_back();
  size_t colon = bearer.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == bearer.size()) {
    *error = "the token must be <token id>:<secret>";
    return false;
  }
  *id = bearer.substr(0, colon);
  *secret = bearer.substr(colon + 1);
  return true;
}

bool load_config(const EnvFlags& f, config::Config* c, std::string* error) {
  if (!f.config) return true;
  config::LoadResult r = config::load_file(*f.config);
  if (!r.ok()) {
    *error = r.errors.front().to_string();
    return false;
  }
  *c = r.config;
  return true;
}

std::string proxy_of(const EnvFlags& f, const config::Config& c) {
  if (f.proxy) return *f.proxy;
  if (const char* env = std::getenv("PAMCTL_PROXY")) return env;
  return c.proxy.listen.empty() ? "127.0.0.1:8081" : c.proxy.listen.front();
}

// The appliance CA: --ca, else the one pamctl trusts for the admin API ($PAMCTL_CA or `ca` in
// ~/.config/pamctl/config.toml: the admin API's certificate comes from the same CA), else the
// configuration's CA file (on the appliance itself).
std::string ca_of(const EnvFlags& f, const config::Config& c) {
  std::string ca;
  if (f.ca) {
    ca = *f.ca;
  } else if (auto admin = resolve_admin_settings({}, process_env());
             !f.config && admin.ok() && !admin->ca_file.empty()) {
    ca = admin->ca_file;
  } else {
    ca = config::resolve_paths(c, std::getenv("STATE_DIRECTORY"),
                               std::getenv("CREDENTIALS_DIRECTORY"))
             .ca_cert_file;
  }
  if (!ca.empty() && ca[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) ca = std::string(cwd) + "/" + ca;
  }
  return ca;
}

std::string sh_quote(const std::string& v) {
  std::string out = "'";
  for (char ch : v) {
    if (ch == '\'')
      out += "'\\''";
    else
      out += ch;
  }
  return out + "'";
}

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("pamctl");
}

}  // namespace

int run_env(const std::vector<std::string>& args) {
  if (wants_help(args)) return help();
  EnvFlags f = parse(args, 0);
  if (!f.error.empty() || !f.positional.empty()) return usage("env", f.error);
  if (!f.record) return usage("env", "--record REF is required (a record id or search)");
  std::string id, secret, error;
  config::Config c;
  if (!load_config(f, &c, &error) || !read_token(f, &id, &secret, &error)) {
    std::fprintf(stderr, "pamctl env: %s\n", error.c_str());
    return error.starts_with("no token") ? kExitUsage : kExitFailed;
  }
  const std::string ca = ca_of(f, c);
  if (::access(ca.c_str(), R_OK) != 0) {
    std::fprintf(stderr,
                 "pamctl env: no CA certificate at %s: download it with `pamctl ca export "
                 "FILE` and pass --ca FILE\n",
                 ca.c_str());
    return kExitFailed;
  }
  std::printf("export HTTPS_PROXY=%s\n", sh_quote(proxy_of(f, c)).c_str());
  std::printf("export AWS_CA_BUNDLE=%s\n", sh_quote(ca).c_str());
  std::printf("export AWS_ACCESS_KEY_ID=%s\n", sh_quote(id + "#" + *f.record).c_str());
  std::printf("export AWS_SECRET_ACCESS_KEY=%s\n", sh_quote(secret).c_str());
  return kExitOk;
}

int run_credential_process(const std::vector<std::string>& args) {
  if (wants_help(args)) return help();
  EnvFlags f = parse(args, 0);
  if (!f.error.empty() || !f.positional.empty()) return usage("credential-process", f.error);
  if (!f.record) return usage("credential-process", "--record REF is required");
  if (f.login) {
    if (f.token || f.token_file) return usage("credential-process", "--login takes no token");
    return login_credentials(*f.record);
  }
  std::string id, secret, error;
  if (!read_token(f, &id, &secret, &error)) {
    std::fprintf(stderr, "pamctl credential-process: %s\n", error.c_str());
    return kExitFailed;
  }
  JsonWriter w;
  w.begin_object();
  w.key("Version").value(int64_t{1});
  w.key("AccessKeyId").value(id + "#" + *f.record);
  w.key("SecretAccessKey").value(secret);
  w.end_object();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

int run_aws_profile(const std::vector<std::string>& args) {
  if (wants_help(args)) return help();
  EnvFlags f = parse(args, 0);
  if (!f.error.empty()) return usage("aws-profile", f.error);
  if (f.positional.size() != 1) return usage("aws-profile", "give one profile NAME");
  // Without a token file, the login of `pamctl login` when there is one.
  const bool login = f.login || (!f.token_file && login_exists());
  if (!f.record || (!f.token_file && !login)) {
    return usage("aws-profile",
                 "--record REF and --token-file F (or --login, after pamctl login) are required");
  }
  if (login && f.token_file) return usage("aws-profile", "give --token-file or --login, not both");
  const std::string& name = f.positional[0];
  std::string id, secret, error;
  config::Config c;
  if (!load_config(f, &c, &error) || (!login && !read_token(f, &id, &secret, &error))) {
    std::fprintf(stderr, "pamctl aws-profile: %s\n", error.c_str());
    return kExitFailed;
  }
  std::string token_file = login ? "" : *f.token_file;
  if (!login && token_file[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) token_file = std::string(cwd) + "/" + token_file;
  }
  std::string path;
  if (const char* env = std::getenv("AWS_CONFIG_FILE")) {
    path = env;
  } else if (const char* home = std::getenv("HOME")) {
    path = std::string(home) + "/.aws/config";
    ::mkdir((std::string(home) + "/.aws").c_str(), 0700);
  } else {
    std::fprintf(stderr, "pamctl aws-profile: neither AWS_CONFIG_FILE nor HOME is set\n");
    return kExitFailed;
  }
  // Keep every other section; replace this profile's.
  std::string existing;
  {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    existing = ss.str();
  }
  const std::string header = "[profile " + name + "]";
  std::string out;
  bool skipping = false;
  std::istringstream lines(existing);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '[') skipping = (line == header);
    if (!skipping) out += line + "\n";
  }
  if (!out.empty() && !out.ends_with("\n\n")) out += "\n";
  out += header + "\n";
  out += "credential_process = " + self_path() + " credential-process --record " +
         sh_quote(*f.record) +
         (login ? std::string(" --login") : " --token-file " + sh_quote(token_file)) + "\n";
  out += "ca_bundle = " + ca_of(f, c) + "\n";
  {
    std::ofstream o(path, std::ios::trunc);
    o << out;
    if (!o) {
      std::fprintf(stderr, "pamctl aws-profile: cannot write %s\n", path.c_str());
      return kExitFailed;
    }
  }
  std::printf(
      "wrote [profile %s] to %s (credentials from %s through credential_process; the secret "
      "is not in your environment)\n"
      "The AWS CLI takes the proxy only from the environment:\n"
      "  export HTTPS_PROXY=%s\n"
      "  aws --profile %s s3 ls\n",
      name.c_str(), path.c_str(), login ? "your pamctl login" : token_file.c_str(),
      sh_quote(proxy_of(f, c)).c_str(), name.c_str());
  return kExitOk;
}

}  // namespace pamproxy::cli
