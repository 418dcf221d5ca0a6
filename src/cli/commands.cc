#include "commands.h"

namespace pamproxy::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"config", "check a configuration file offline; print defaults or the key reference",
       run_config},
      {"sigv4", "sign a raw HTTP request with SigV4, or verify one (SignatureDoesNotMatch aid)",
       run_sigv4},
  };
  return kCommands;
}

}  // namespace pamproxy::cli
