#pragma once
// pamctl's command families. Each family lives in its own cmd_<name>.cc and is listed once in
// commands.cc. Exit codes scripts can rely on: 0 success, 1 the operation failed or found a
// problem (invalid file, denied, not found), 2 usage error.

#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct Command {
  std::string_view name;     // first word: "config", "sigv4", "records", ...
  std::string_view summary;  // one line for `pamctl help`
  // args excludes "pamctl" and the command name.
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// `help`, `--help` or `-h`: the words that ask a command or subcommand for its usage. Every
// command answers them on stdout with exit 0, as the first argument or after a subcommand.
inline bool is_help_word(std::string_view arg) {
  return arg == "help" || arg == "--help" || arg == "-h";
}
// Whether `args` ask for the usage: a help word first, or `--help`/`-h` anywhere.
inline bool wants_help(const std::vector<std::string>& args) {
  if (!args.empty() && is_help_word(args[0])) return true;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

// The families (one function per cmd_*.cc).
int run_config(const std::vector<std::string>& args);
int run_sigv4(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_sessions(const std::vector<std::string>& args);
int run_sessions_api(const std::vector<std::string>& args);  // cmd_reports_api.cc
int run_env(const std::vector<std::string>& args);
int run_aws_profile(const std::vector<std::string>& args);
int run_credential_process(const std::vector<std::string>& args);
// Signing in through the identity provider (cmd_login.cc).
int run_login(const std::vector<std::string>& args);
int run_logout(const std::vector<std::string>& args);
// credential-process --login: the login's token, renewed first when due.
int login_credentials(const std::string& record);
// Whether `pamctl login` left a login file.
bool login_exists();
// The admin REST API's calls (docs/admin-api.md): cmd_admin.cc, cmd_records.cc, cmd_users.cc,
// cmd_tokens.cc, on admin_client.h.
int run_health(const std::vector<std::string>& args);
int run_ca(const std::vector<std::string>& args);
int run_whoami(const std::vector<std::string>& args);
int run_metrics(const std::vector<std::string>& args);
int run_settings(const std::vector<std::string>& args);
int run_record_types(const std::vector<std::string>& args);
int run_records(const std::vector<std::string>& args);
int run_policies(const std::vector<std::string>& args);
int run_users(const std::vector<std::string>& args);
int run_roles(const std::vector<std::string>& args);
int run_grants(const std::vector<std::string>& args);
int run_tokens(const std::vector<std::string>& args);
int run_requests(const std::vector<std::string>& args);

}  // namespace pamproxy::cli
