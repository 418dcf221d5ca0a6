#include "time_arg.h"

#include "absl/strings/numbers.h"

namespace pamproxy::cli {

std::optional<int64_t> parse_time_arg(const std::string& s, absl::Time now) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return absl::ToUnixNanos(t);
  if (s.size() < 2) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(s.substr(0, s.size() - 1), &n) || n < 0 || n > 100000) {
    return std::nullopt;
  }
  absl::Duration unit;
  switch (s.back()) {
    case 's': unit = absl::Seconds(1); break;
    case 'm': unit = absl::Minutes(1); break;
    case 'h': unit = absl::Hours(1); break;
    case 'd': unit = absl::Hours(24); break;
    default: return std::nullopt;
  }
  return absl::ToUnixNanos(now - n * unit);
}

}  // namespace pamproxy::cli
