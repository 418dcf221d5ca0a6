#include "commands.h"

namespace pamproxy::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"config", "check a configuration file offline; print defaults or the key reference",
       run_config},
  };
  return kCommands;
}

}  // namespace pamproxy::cli
