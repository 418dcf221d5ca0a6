#pragma once
// Where pamctl's API commands connect and who they say they are, each setting from the first
// place that has it:
//   URL    --url U        > $PAMCTL_URL   > `url` in the config file        >
//   https://127.0.0.1:8443 token  --token-file F > $PAMCTL_TOKEN > `token_file` in the config file
//   > none CA     --ca F         > $PAMCTL_CA    > `ca` in the config file         > the system
//   trust store
// The config file is $XDG_CONFIG_HOME/pamctl/config.toml, else ~/.config/pamctl/config.toml; a
// missing file is no error. Relative paths in it are relative to its directory; "~/" is $HOME.
//
//   url = "https://pam.example.com:8443"
//   token_file = "~/.config/pamctl/token"
//   ca = "/etc/pamproxy/ca.pem"
//
// The token is "<token id>:<secret>" ($PAMCTL_TOKEN holds it, the files hold it on their first
// line). A token file readable or writable by group or others is refused: it is a password.
// The secret is never part of an error message, and is checked to be one header-safe word so it
// cannot smuggle a line into the request.
//
// A token problem is kept aside rather than failing the resolution: `pamctl health` and
// `pamctl ca export` need none, and must work with a half-set-up config.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pamproxy::cli {

inline constexpr char kDefaultAdminUrl[] = "https://127.0.0.1:8443";

// The flags every API command accepts (besides --json).
struct AdminFlags {
  std::optional<std::string> url, token_file, ca;
};

// A parsed https URL: host without brackets, port, and a path prefix without a trailing slash
// ("" or "/pam").
struct AdminUrl {
  std::string host;
  uint16_t port = 443;
  std::string prefix;
  std::string text;  // as given, for messages (never carries credentials)
};

struct Bearer {
  std::string id;
  std::string secret;
};

struct AdminSettings {
  AdminUrl url;
  std::string ca_file;  // empty: the system trust store
  std::optional<Bearer> token;
  // Why there is no token (none configured, unreadable file, file open to others, malformed):
  // reported by the first call that needs one.
  std::string token_problem;
  bool token_problem_is_usage = false;  // nothing configured at all (exit 2, not 1)
};

// Looks up an environment variable (std::getenv in pamctl, a map in tests).
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

// The config file path for this environment, or "" when neither XDG_CONFIG_HOME nor HOME is set.
std::string default_config_path(const EnvLookup& env);

// Resolves the settings. `config_path` "" means default_config_path(env). Errors: a bad URL, a
// config file that cannot be read or parsed, an unknown key or a value of the wrong type (named
// with its line).
absl::StatusOr<AdminSettings> resolve_admin_settings(const AdminFlags& flags, const EnvLookup& env,
                                                     const std::string& config_path = "");

// "https://host[:port][/prefix]" -> AdminUrl. Only https: the token must not cross the network
// in clear text.
absl::StatusOr<AdminUrl> parse_admin_url(std::string_view text);

// Reads "<id>:<secret>" from the first line of `path` after checking its permissions.
absl::StatusOr<Bearer> read_token_file(const std::string& path);
absl::StatusOr<Bearer> parse_bearer(std::string_view text, std::string_view origin);

}  // namespace pamproxy::cli
