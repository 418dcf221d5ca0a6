// Fuzz target: reading a collector's file lines back (syslog_collected.h). Whatever the bytes,
// the parser answers without crashing, and what it returns lies inside the input; a line it
// accepts keeps its MSG at the end of the line (the audit line is never cut or moved).

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/audit/syslog_collected.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::audit;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  CollectedLine c;
  if (!parse_collected_line(line, &c)) {
    if (!c.hostname.empty() || !c.app_name.empty() || !c.msg.empty()) std::abort();
    return 0;
  }
  if (!inside(c.hostname, line) || !inside(c.app_name, line) || !inside(c.msg, line)) std::abort();
  if (c.hostname.empty() || c.app_name.empty()) std::abort();
  if (c.hostname.find(' ') != std::string_view::npos) std::abort();
  if (!c.msg.empty() && c.msg.data() + c.msg.size() != line.data() + line.size()) std::abort();
  return 0;
}
