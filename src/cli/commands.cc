#include "commands.h"

namespace pamproxy::cli {
namespace {

// The offline reader (cmd_sessions.cc) knows no help flag; the usage of the API reader names both
// ways to read sessions, so a help request goes there whatever else is on the line.
int run_sessions_or_help(const std::vector<std::string>& args) {
  if (wants_help(args)) return run_sessions_api({"list", "--help"});
  return run_sessions(args);
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"config", "check a configuration file offline; print defaults or the key reference",
       run_config},
      {"sigv4", "sign a raw HTTP request with SigV4, or verify one (SignatureDoesNotMatch aid)",
       run_sigv4},
      {"audit", "verify, search an audit log directory offline; export the audit public key",
       run_audit},
      {"sessions", "list session reports, or show one (from the store file, read-only)",
       run_sessions_or_help},
      {"env", "print the four exports that point AWS tools at the appliance", run_env},
      {"aws-profile", "write an AWS CLI profile that gets the token through credential_process",
       run_aws_profile},
      {"credential-process", "print a token as credential_process JSON (used by aws-profile)",
       run_credential_process},
      {"login", "sign in through the identity provider; keeps a token the AWS CLI can use",
       run_login},
      {"logout", "revoke the token of pamctl login and forget it", run_logout},
      // Through the admin REST API (--url, --token-file, --ca; see `pamctl health`).
      {"health", "check that the admin API answers (no token needed)", run_health},
      {"ca", "export the appliance CA certificate from the API (for AWS_CA_BUNDLE)", run_ca},
      {"whoami", "show the user and token the admin API sees", run_whoami},
      {"metrics", "print the daemon's Prometheus metrics (admins)", run_metrics},
      {"settings", "get or set appliance settings (proxy.enabled, ...)", run_settings},
      {"record-types", "list record types; enable or disable one", run_record_types},
      {"records", "list, add, show, edit, remove records (secrets from files or stdin)",
       run_records},
      {"policies", "show, set, remove a record's access policy", run_policies},
      {"users", "list, add, show, edit, disable, enable, remove users", run_users},
      {"roles", "list, add, remove roles; add and remove members", run_roles},
      {"grants", "list, add, remove grants of records to users and roles", run_grants},
      {"tokens", "create, list, revoke REST API tokens", run_tokens},
      {"requests", "list, create, approve, deny, revoke access requests", run_requests},
  };
  return kCommands;
}

}  // namespace pamproxy::cli
