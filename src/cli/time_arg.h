#pragma once
// A time on pamctl's command line: RFC 3339 ("2026-11-24T08:00:00Z") or an age before `now`
// ("90s", "15m", "2h", "7d"). Unix nanoseconds, or nullopt when it is neither.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace pamproxy::cli {

std::optional<int64_t> parse_time_arg(const std::string& text, absl::Time now);

// A duration: a count of at most 100000 and one unit of s, m, h or d ("90s", "15m", "8h",
// "30d"). Seconds, or nullopt when the text is anything else.
std::optional<int64_t> parse_duration_arg(const std::string& text);

// A time to come: RFC 3339, or "+" and a duration after `now` ("+2h"). nullopt otherwise.
std::optional<absl::Time> parse_future_time_arg(const std::string& text, absl::Time now);

// "2026-12-05T08:00:00Z": how the admin API writes times (UTC, whole seconds).
std::string rfc3339_utc(absl::Time t);

}  // namespace pamproxy::cli
