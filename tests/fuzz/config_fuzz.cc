// Fuzz target: the TOML configuration loader. Any input must yield either a configuration or a
// list of errors that each name a line, never a crash, a hang or an escaped exception; a valid
// configuration must survive printing and re-loading unchanged.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::config;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = load_string(text, "fuzz.toml");
  if (r.ok()) {
    std::string printed = to_toml(r.config);
    LoadResult again = load_string(printed, "printed.toml");
    if (!again.ok() || to_toml(again.config) != printed) std::abort();
  } else {
    for (const Error& e : r.errors) {
      if (e.message.empty() || e.file != "fuzz.toml") std::abort();
    }
  }
  return 0;
}
