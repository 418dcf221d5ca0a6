#pragma once
// Weekly time windows in text form, as users write them and as deny reasons print them:
//
//   "Mon-Fri 08:00-18:00"   "Sat,Sun 10:00-14:00"   "daily 00:00-24:00"   "Mon-Wed,Fri 09:30-17:00"
//
// Days: Mon Tue Wed Thu Fri Sat Sun (any case), ranges "A-B" (A before B in the week), lists with
// ',', or "daily". Times are HH:MM, 00:00-24:00, start before end. Pure: no I/O.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::policy {

absl::StatusOr<TimeWindow> parse_time_window(std::string_view text);
// Canonical text: days in ranges where contiguous ("Mon-Fri", "Mon-Wed,Fri", "daily").
std::string format_time_window(const TimeWindow& w);
// All windows joined with ", " (for deny reasons).
std::string format_time_windows(const std::vector<TimeWindow>& ws);

// An error names the first pair of windows that share a day and overlap in time.
absl::Status check_windows_disjoint(const std::vector<TimeWindow>& ws);

// Whether `now` in `tz` falls inside any window. An empty list means "any time".
bool within_windows(const std::vector<TimeWindow>& ws, absl::Time now, absl::TimeZone tz);

}  // namespace pamproxy::policy
