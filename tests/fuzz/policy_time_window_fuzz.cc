// Fuzz target: weekly time window specs ("Mon-Fri 08:00-18:00"). A parsed window is well formed,
// prints canonically, and parses back to itself; evaluation never fails.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/policy/time_window.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto w = parse_time_window(text);
  if (!w.ok()) {
    if (w.status().message().empty()) std::abort();
    return 0;
  }
  if (w->days == 0 || w->days > 0x7f || w->start_minute < 0 || w->end_minute > 1440 ||
      w->start_minute >= w->end_minute) {
    std::abort();
  }
  std::string printed = format_time_window(*w);
  auto again = parse_time_window(printed);
  if (!again.ok() || !(*again == *w) || format_time_window(*again) != printed) std::abort();
  within_windows({*w}, absl::FromUnixSeconds(static_cast<int64_t>(size) * 7919),
                 absl::UTCTimeZone());
  if (!check_windows_disjoint({*w}).ok() || check_windows_disjoint({*w, *w}).ok()) std::abort();
  return 0;
}
