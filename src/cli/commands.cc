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
  };
  return kCommands;
}

}  // namespace pamproxy::cli
