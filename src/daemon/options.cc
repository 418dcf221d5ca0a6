#include "options.h"

namespace pamproxy::daemon {

const char kUsage[] =
    "usage: pamproxyd [--config FILE]\n"
    "       pamproxyd --check-config FILE\n"
    "       pamproxyd --version\n"
    "\n"
    "  --config FILE        the TOML configuration (default: the embedded defaults)\n"
    "  --check-config FILE  validate FILE, print the effective configuration, exit 0 if valid\n"
    "  --version            print the version and exit\n"
    "\n"
    "Signals: SIGTERM or SIGINT stop gracefully; SIGHUP reloads the configuration file\n"
    "(a file with errors is refused and the running configuration kept).\n";

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      std::string prefix = std::string(flag) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      if (i + 1 < args.size()) return args[++i];
      *error = std::string(flag) + " needs a file name";
      return std::nullopt;
    };
    if (a == "--version" || a == "-V") {
      o.version = true;
    } else if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--config" || a.rfind("--config=", 0) == 0) {
      auto v = value("--config");
      if (!v) return std::nullopt;
      o.config_file = *v;
    } else if (a == "--check-config" || a.rfind("--check-config=", 0) == 0) {
      auto v = value("--check-config");
      if (!v) return std::nullopt;
      o.config_file = *v;
      o.check_config = true;
    } else {
      *error = "unknown argument: " + a;
      return std::nullopt;
    }
  }
  return o;
}

}  // namespace pamproxy::daemon
