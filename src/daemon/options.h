#pragma once
// pamproxyd's command line. Exceptions are fine here (startup only).

#include <optional>
#include <string>
#include <vector>

namespace pamproxy::daemon {

struct Options {
  std::optional<std::string> config_file;  // absent = embedded defaults
  bool check_config = false;               // validate, print the effective config, exit
  bool version = false;
  bool help = false;
};

// Parses argv; on a usage error returns nullopt and fills `error`.
std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error);

extern const char kUsage[];

}  // namespace pamproxy::daemon
