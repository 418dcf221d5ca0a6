#pragma once
// What every pamctl command of the admin REST API (docs/admin-api.md) shares: its flags, the
// call itself, and how answers and errors are shown.
//
//   ApiArgs a = ApiArgs::parse(args, 1, {{"--tag", ApiArgs::kValue}});
//   if (!a.error.empty()) return usage(a.error);
//   ApiContext ctx;
//   if (int rc = open_api("records list", a, &ctx); rc != kExitOk) return rc;
//   HttpsResponse r;
//   if (int rc = api_call(ctx, "GET", "/api/v1/records", std::nullopt, &r); rc != kExitOk) return
//   rc; return print_list(ctx, r, columns);
//
// Common flags: --url U, --token-file F, --ca F (see admin_settings.h) and --json (the server's
// JSON answer on one line, for scripts). Errors go to stderr as "pamctl <cmd>: <message>": an
// API error as "<message> (<code>)" from its {"error": {...}} answer, exit 1; a connection or TLS
// failure names the URL, exit 1; no token configured, exit 2.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin_output.h"
#include "admin_settings.h"
#include "https_client.h"

namespace pamproxy::cli {

class ApiArgs {
 public:
  enum Kind { kSwitch, kValue, kRepeated };
  struct Spec {
    std::string_view name;
    Kind kind;
  };

  // Parses args[from..]: the common flags, the command's `specs`, positional arguments. An
  // unknown flag, a missing value or a non-repeatable flag given twice sets `error`; `--help` or
  // `-h` sets it to "help", which api_usage answers with the usage on stdout.
  static ApiArgs parse(const std::vector<std::string>& args, size_t from,
                       std::initializer_list<Spec> specs);

  bool has(std::string_view name) const;
  std::optional<std::string> value(std::string_view name) const;
  std::vector<std::string> values(std::string_view name) const;
  // Whether any flag besides the common ones was given.
  bool has_own_flags() const;

  std::string error;
  std::vector<std::string> positional;
  // Every flag with a value, in command-line order (--allow/--deny keep their order).
  std::vector<std::pair<std::string, std::string>> ordered;
  std::vector<std::string> switches;
  AdminFlags admin;
  bool json = false;
};

// The common flags' line for usage texts.
inline constexpr char kCommonFlagsUsage[] =
    "  common flags: --url URL  --token-file FILE  --ca FILE  --json\n"
    "  (else $PAMCTL_URL, $PAMCTL_TOKEN, $PAMCTL_CA, ~/.config/pamctl/config.toml)\n";

// Prints "pamctl <family>: <why>" (when given), the family's usage `text` and the common flags on
// stderr and returns kExitUsage; why == "help" prints them on stdout and returns kExitOk.
int api_usage(const char* family, const char* text, const std::string& why);

struct ApiContext {
  std::string cmd;  // "records add": how errors are prefixed
  AdminSettings settings;
  bool json = false;
};

// Resolves the settings from the common flags. On failure prints why and returns the exit code.
int open_api(std::string cmd, const ApiArgs& args, ApiContext* ctx);

struct CallOptions {
  bool authenticated = true;
  bool verify = true;  // false only for `ca export --insecure`
};

// One call. A 2xx answer fills *out and returns kExitOk; anything else is printed (see above)
// and its exit code returned.
int api_call(const ApiContext& ctx, const std::string& method, const std::string& path,
             const std::optional<std::string>& body, HttpsResponse* out, CallOptions options = {});

// open_api + api_call + the print_* that `show` names, for the many calls that need nothing else.
enum class Show { kObject, kList, kDeleted };
int call_and_show(const std::string& cmd, const ApiArgs& args, const std::string& method,
                  const std::string& path, const std::optional<std::string>& body, Show show,
                  const std::vector<Column>& columns = {});

// "pamctl <cmd>: <message>" on stderr; returns kExitFailed.
int fail(const ApiContext& ctx, const std::string& message);

// Shows a 2xx JSON answer: --json prints it on one line; otherwise one object as "key: value"
// lines, a list ({"items": [...]} or an array) as a table with a hint on stderr when a next page
// exists, a deletion as "deleted <id>". Returns the exit code (1 when the answer is not JSON).
int print_object(const ApiContext& ctx, const HttpsResponse& r);
int print_list(const ApiContext& ctx, const HttpsResponse& r, const std::vector<Column>& columns);
int print_deleted(const ApiContext& ctx, const HttpsResponse& r);

// The text of a JSON error answer: "<message> (<code>)", or "" when `body` is not one.
std::string api_error_text(std::string_view body);

// Reads a secret from a file (first line, trailing newline removed) or from stdin (without echo
// when it is a terminal, after `prompt` on stderr). Never quotes the secret in an error.
bool read_secret_file(const std::string& path, std::string* out, std::string* error);
bool read_secret_stdin(const char* prompt, std::string* out, std::string* error);

}  // namespace pamproxy::cli
