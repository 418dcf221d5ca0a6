#include "admin_settings.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace pamproxy::cli {
namespace {

constexpr size_t kConfigBytesMax = 64 * 1024;
constexpr size_t kTokenBytesMax = 4096;

struct ConfigFile {
  std::string path;
  std::optional<std::string> url, token_file, ca;
};

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

// "~/x" -> $HOME/x; a relative path -> next to the config file.
std::string config_relative(const std::string& value, const std::string& config_path,
                            const EnvLookup& env) {
  if (value.starts_with("~/")) {
    if (auto home = env("HOME")) return *home + value.substr(1);
  }
  if (value.empty() || value[0] == '/') return value;
  return dir_of(config_path) + "/" + value;
}

absl::StatusOr<ConfigFile> load_config_file(const std::string& path, const EnvLookup& env) {
  ConfigFile c;
  c.path = path;
  if (path.empty()) return c;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return c;
    return absl::InvalidArgumentError(path + ": cannot read: " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(path + ": cannot read");
  std::string text;
  char chunk[8192];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kConfigBytesMax) {
      return absl::InvalidArgumentError(path + ": larger than " + std::to_string(kConfigBytesMax) +
                                        " bytes");
    }
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(path + ":" + std::to_string(e.source().begin.line) +
                                      ": syntax error: " + std::string(e.description()));
  }
  for (const auto& [key, node] : root) {
    const std::string where = path + ":" + std::to_string(node.source().begin.line);
    std::optional<std::string>* slot = nullptr;
    if (key == "url")
      slot = &c.url;
    else if (key == "token_file")
      slot = &c.token_file;
    else if (key == "ca")
      slot = &c.ca;
    if (slot == nullptr) {
      return absl::InvalidArgumentError(where + ": unknown key '" + std::string(key.str()) +
                                        "' (known: url, token_file, ca)");
    }
    const auto* s = node.as_string();
    if (s == nullptr || s->get().empty()) {
      return absl::InvalidArgumentError(where + ": key '" + std::string(key.str()) +
                                        "' must be a non-empty string");
    }
    *slot = s->get();
  }
  if (c.token_file) c.token_file = config_relative(*c.token_file, path, env);
  if (c.ca) c.ca = config_relative(*c.ca, path, env);
  return c;
}

// One token word: printable ASCII without spaces, so it stays one header value.
bool header_safe(std::string_view s) {
  for (char ch : s) {
    if (ch <= 0x20 || ch >= 0x7f) return false;
  }
  return true;
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

std::string default_config_path(const EnvLookup& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && (*xdg)[0] == '/') {
    return *xdg + "/pamctl/config.toml";
  }
  if (auto home = env("HOME")) return *home + "/.config/pamctl/config.toml";
  return "";
}

absl::StatusOr<AdminUrl> parse_admin_url(std::string_view text) {
  AdminUrl u;
  u.text = std::string(text);
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError("bad URL '" + u.text + "': " + why);
  };
  constexpr std::string_view kScheme = "https://";
  if (text.size() < kScheme.size() ||
      absl::AsciiStrToLower(std::string(text.substr(0, kScheme.size()))) != kScheme) {
    return bad("it must start with https:// (the token must not cross the network in clear)");
  }
  std::string_view rest = text.substr(kScheme.size());
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) return bad("no user:password@ in the URL");
  if (path.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment");
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    u.host = std::string(authority.substr(1, close - 1));
    in6_addr a6;
    if (::inet_pton(AF_INET6, u.host.c_str(), &a6) != 1) return bad("not an IPv6 address in []");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
    for (char ch : u.host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' &&
          ch != '_') {
        return bad("the host may only hold letters, digits, '.', '-' and '_'");
      }
    }
  }
  if (u.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (port_text.find_first_not_of("0123456789") != std::string_view::npos ||
        !absl::SimpleAtoi(std::string(port_text), &port) || port == 0 || port > 65535) {
      return bad("the port must be 1 to 65535");
    }
    u.port = static_cast<uint16_t>(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (char ch : path) {
    if (ch <= 0x20 || ch >= 0x7f) return bad("the path may only hold printable ASCII");
  }
  u.prefix = std::string(path);
  return u;
}

absl::StatusOr<Bearer> parse_bearer(std::string_view text, std::string_view origin) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size() ||
      !header_safe(text)) {
    // Never quote the text: it may be (most of) the secret.
    return absl::InvalidArgumentError(std::string(origin) +
                                      ": the token must be <token id>:<secret>");
  }
  return Bearer{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

absl::StatusOr<Bearer> read_token_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError("cannot read token file " + path + ": " +
                                      std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError("token file " + path +
                                       " is open to group or others: chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError("cannot read token file " + path);
  std::string line;
  std::getline(in, line);
  if (line.size() > kTokenBytesMax) {
    return absl::InvalidArgumentError("token file " + path + ": the first line is too long");
  }
  return parse_bearer(line, "token file " + path);
}

absl::StatusOr<AdminSettings> resolve_admin_settings(const AdminFlags& flags, const EnvLookup& env,
                                                     const std::string& config_path) {
  auto file = load_config_file(config_path.empty() ? default_config_path(env) : config_path, env);
  if (!file.ok()) return file.status();
  AdminSettings s;

  std::string url = kDefaultAdminUrl;
  if (flags.url)
    url = *flags.url;
  else if (auto e = env("PAMCTL_URL"))
    url = *e;
  else if (file->url)
    url = *file->url;
  auto parsed = parse_admin_url(url);
  if (!parsed.ok()) return parsed.status();
  s.url = *std::move(parsed);

  if (flags.ca)
    s.ca_file = *flags.ca;
  else if (auto e = env("PAMCTL_CA"))
    s.ca_file = *e;
  else if (file->ca)
    s.ca_file = *file->ca;

  absl::StatusOr<Bearer> token = absl::NotFoundError("");
  if (flags.token_file) {
    token = read_token_file(*flags.token_file);
  } else if (auto e = env("PAMCTL_TOKEN")) {
    token = parse_bearer(*e, "PAMCTL_TOKEN");
  } else if (file->token_file) {
    token = read_token_file(*file->token_file);
  } else {
    s.token_problem =
        "no token: pass --token-file F, set PAMCTL_TOKEN, or set token_file in " +
        (file->path.empty() ? std::string("~/.config/pamctl/config.toml") : file->path);
    s.token_problem_is_usage = true;
  }
  if (token.ok())
    s.token = *std::move(token);
  else if (s.token_problem.empty())
    s.token_problem = std::string(token.status().message());
  return s;
}

}  // namespace pamproxy::cli
