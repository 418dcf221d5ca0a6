#include "time_arg.h"

#include "absl/strings/numbers.h"

namespace pamproxy::cli {

std::optional<int64_t> parse_duration_arg(const std::string& s) {
  if (s.size() < 2) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(s.substr(0, s.size() - 1), &n) || n < 0 || n > 100000) {
    return std::nullopt;
  }
  switch (s.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    default: return std::nullopt;
  }
}

std::optional<int64_t> parse_time_arg(const std::string& s, absl::Time now) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return absl::ToUnixNanos(t);
  std::optional<int64_t> seconds = parse_duration_arg(s);
  if (!seconds) return std::nullopt;
  return absl::ToUnixNanos(now - absl::Seconds(*seconds));
}

std::optional<absl::Time> parse_future_time_arg(const std::string& s, absl::Time now) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  if (s.size() < 3 || s[0] != '+') return std::nullopt;
  std::optional<int64_t> seconds = parse_duration_arg(s.substr(1));
  if (!seconds) return std::nullopt;
  return now + absl::Seconds(*seconds);
}

std::string rfc3339_utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace pamproxy::cli
