// pamctl config: offline tools for the TOML configuration.
//   pamctl config check FILE      validate; exit 0 when valid, 1 with one error per line
//   pamctl config defaults        the embedded defaults as TOML
//   pamctl config reference       every key with its default and meaning, as Markdown

#include <cstdio>

#include "commands.h"
#include "pamproxy/config/config.h"

namespace pamproxy::cli {
namespace {

constexpr char kUsage[] =
    "usage: pamctl config check FILE\n"
    "       pamctl config defaults\n"
    "       pamctl config reference\n";

std::string default_of(std::string_view section, std::string_view key) {
  // Render the defaults once and pick the line "key = value" inside "[section]".
  static const std::string kDefaults = config::to_toml(config::Config{});
  std::string header = "[" + std::string(section) + "]\n";
  size_t start = kDefaults.find(header);
  if (start == std::string::npos) return {};
  std::string prefix = std::string(key) + " = ";
  size_t pos = start + header.size();
  while (pos < kDefaults.size() && kDefaults[pos] != '[') {
    size_t end = kDefaults.find('\n', pos);
    std::string line = kDefaults.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return {};
}

}  // namespace

int run_config(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (wants_help(args)) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (args[0] == "check") {
    if (args.size() != 2) {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
    config::LoadResult r = config::load_file(args[1]);
    for (const auto& e : r.errors) std::printf("%s\n", e.to_string().c_str());
    if (!r.ok()) return kExitFailed;
    std::printf("%s: valid\n", args[1].c_str());
    return kExitOk;
  }
  if (args[0] == "defaults" && args.size() == 1) {
    std::fputs(config::to_toml(config::Config{}).c_str(), stdout);
    return kExitOk;
  }
  if (args[0] == "reference" && args.size() == 1) {
    std::string_view section;
    for (const auto& k : config::schema()) {
      if (k.section != section) {
        section = k.section;
        std::printf("\n## [%.*s]\n\n| key | default | applied | meaning |\n|---|---|---|---|\n",
                    static_cast<int>(section.size()), section.data());
      }
      std::string def = default_of(k.section, k.key);
      std::printf("| `%.*s` | `%s` | %s | %.*s |\n", static_cast<int>(k.key.size()), k.key.data(),
                  def.c_str(), k.restart_required ? "restart" : "reload",
                  static_cast<int>(k.doc.size()), k.doc.data());
    }
    return kExitOk;
  }
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

}  // namespace pamproxy::cli
