// pamctl: the appliance's admin command line. `pamctl help` lists the command families; each
// family's code is in cmd_<family>.cc. Exceptions may be used here (not the data plane); any that
// escapes is reported as a failure, never a crash.

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"

namespace {

void usage(std::FILE* out) {
  std::fputs("usage: pamctl COMMAND [ARGS...]\n\ncommands:\n", out);
  for (const auto& c : pamproxy::cli::commands()) {
    std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
  std::fputs("  version        print the version\n\nRun `pamctl COMMAND --help` for its usage.\n", out);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pamproxy::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  const std::string name = args[0];
  if (name == "help" || name == "--help" || name == "-h") {
    usage(stdout);
    return kExitOk;
  }
  if (name == "version" || name == "--version") {
    std::printf("pamctl %s\n", PAMPROXY_VERSION);
    return kExitOk;
  }
  for (const auto& c : commands()) {
    if (c.name == name) {
      try {
        return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "pamctl %s: %s\n", name.c_str(), e.what());
        return kExitFailed;
      }
    }
  }
  std::fprintf(stderr, "pamctl: unknown command '%s'\n\n", name.c_str());
  usage(stderr);
  return kExitUsage;
}
