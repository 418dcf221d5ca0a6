#include "commands.h"

namespace pamproxy::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"config", "check a configuration file offline; print defaults or the key reference",
       run_config},
      {"sigv4", "sign a raw HTTP request with SigV4, or verify one (SignatureDoesNotMatch aid)",
       run_sigv4},
      {"audit", "verify an audit log directory offline; export the audit public key", run_audit},
  };
  return kCommands;
}

}  // namespace pamproxy::cli
