#include "commands.h"

namespace pamproxy::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"config", "check a configuration file offline; print defaults or the key reference",
       run_config},
      {"sigv4", "sign a raw HTTP request with SigV4, or verify one (SignatureDoesNotMatch aid)",
       run_sigv4},
      {"audit", "verify, search an audit log directory offline; export the audit public key",
       run_audit},
      {"sessions", "list session reports, or show one (from the store file, read-only)",
       run_sessions},
      {"env", "print the four exports that point AWS tools at the appliance", run_env},
      {"aws-profile", "write an AWS CLI profile that gets the token through credential_process",
       run_aws_profile},
      {"credential-process", "print a token as credential_process JSON (used by aws-profile)",
       run_credential_process},
  };
  return kCommands;
}

}  // namespace pamproxy::cli
