#pragma once
// A time on pamctl's command line: RFC 3339 ("2026-11-24T08:00:00Z") or an age before `now`
// ("90s", "15m", "2h", "7d"). Unix nanoseconds, or nullopt when it is neither.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace pamproxy::cli {

std::optional<int64_t> parse_time_arg(const std::string& text, absl::Time now);

}  // namespace pamproxy::cli
