#include "pamproxy/policy/time_window.h"

#include "absl/time/civil_time.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

constexpr std::string_view kDayNames[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr uint8_t kAllDays = 0x7f;

int parse_day(std::string_view s) {
  for (int i = 0; i < 7; ++i) {
    if (iequals(s, kDayNames[i])) return i;
  }
  return -1;
}

// "HH:MM" with 00 <= HH <= 24, MM < 60, 24:00 only as 1440.
int parse_clock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {0u, 1u, 3u, 4u}) {
    if (!(s[i] >= '0' && s[i] <= '9')) return -1;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m >= 60 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

absl::StatusOr<uint8_t> parse_days(std::string_view s) {
  if (iequals(s, "daily")) return kAllDays;
  uint8_t days = 0;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string_view item = s.substr(pos, comma == std::string_view::npos ? s.npos : comma - pos);
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      int d = parse_day(item);
      if (d < 0) return absl::InvalidArgumentError(cat("unknown day '", item, "'"));
      days |= static_cast<uint8_t>(1u << d);
    } else {
      int a = parse_day(item.substr(0, dash));
      int b = parse_day(item.substr(dash + 1));
      if (a < 0 || b < 0) {
        return absl::InvalidArgumentError(cat("bad day range '", item, "'"));
      }
      if (a > b) {
        return absl::InvalidArgumentError(
            cat("day range '", item, "' runs backwards (the week starts on Mon)"));
      }
      for (int d = a; d <= b; ++d) days |= static_cast<uint8_t>(1u << d);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return days;
}

std::string format_clock(int minute) {
  char buf[6] = {
      static_cast<char>('0' + minute / 600),     static_cast<char>('0' + minute / 60 % 10), ':',
      static_cast<char>('0' + minute % 60 / 10), static_cast<char>('0' + minute % 10),      0};
  return std::string(buf, 5);
}

}  // namespace

absl::StatusOr<TimeWindow> parse_time_window(std::string_view text) {
  text = strip(text);
  if (text.size() > 64) return absl::InvalidArgumentError("time window longer than 64 bytes");
  size_t space = text.find_first_of(" \t");
  if (space == std::string_view::npos) {
    return absl::InvalidArgumentError(
        cat("time window '", text, "' is not 'DAYS HH:MM-HH:MM' (e.g. Mon-Fri 08:00-18:00)"));
  }
  std::string_view days_text = text.substr(0, space);
  std::string_view span = strip(text.substr(space));
  absl::StatusOr<uint8_t> days = parse_days(days_text);
  if (!days.ok()) return days.status();
  size_t dash = span.find('-');
  int start = dash == std::string_view::npos ? -1 : parse_clock(span.substr(0, dash));
  int end = dash == std::string_view::npos ? -1 : parse_clock(span.substr(dash + 1));
  if (start < 0 || end < 0) {
    return absl::InvalidArgumentError(
        cat("time span '", span, "' is not HH:MM-HH:MM (00:00 to 24:00)"));
  }
  if (start >= end) {
    return absl::InvalidArgumentError(
        cat("time span '", span, "' must end after it starts (split overnight access in two)"));
  }
  return TimeWindow{*days, start, end};
}

std::string format_time_window(const TimeWindow& w) {
  std::string days;
  if (w.days == kAllDays) {
    days = "daily";
  } else {
    int d = 0;
    while (d < 7) {
      if ((w.days & (1u << d)) == 0) {
        ++d;
        continue;
      }
      int e = d;
      while (e + 1 < 7 && (w.days & (1u << (e + 1))) != 0) ++e;
      if (!days.empty()) days += ',';
      days += kDayNames[d];
      if (e > d) append(days, "-", kDayNames[e]);
      d = e + 1;
    }
  }
  return cat(days, " ", format_clock(w.start_minute), "-", format_clock(w.end_minute));
}

std::string format_time_windows(const std::vector<TimeWindow>& ws) {
  std::string out;
  for (const TimeWindow& w : ws) {
    if (!out.empty()) out += ", ";
    out += format_time_window(w);
  }
  return out;
}

absl::Status check_windows_disjoint(const std::vector<TimeWindow>& ws) {
  for (size_t i = 0; i < ws.size(); ++i) {
    for (size_t j = i + 1; j < ws.size(); ++j) {
      if ((ws[i].days & ws[j].days) != 0 && ws[i].start_minute < ws[j].end_minute &&
          ws[j].start_minute < ws[i].end_minute) {
        return absl::InvalidArgumentError(cat("time windows '", format_time_window(ws[i]),
                                              "' and '", format_time_window(ws[j]), "' overlap"));
      }
    }
  }
  return absl::OkStatus();
}

bool within_windows(const std::vector<TimeWindow>& ws, absl::Time now, absl::TimeZone tz) {
  if (ws.empty()) return true;
  absl::CivilSecond local = absl::ToCivilSecond(now, tz);
  int day = 0;
  switch (absl::GetWeekday(local)) {
    case absl::Weekday::monday: day = 0; break;
    case absl::Weekday::tuesday: day = 1; break;
    case absl::Weekday::wednesday: day = 2; break;
    case absl::Weekday::thursday: day = 3; break;
    case absl::Weekday::friday: day = 4; break;
    case absl::Weekday::saturday: day = 5; break;
    case absl::Weekday::sunday: day = 6; break;
  }
  int minute = local.hour() * 60 + local.minute();
  for (const TimeWindow& w : ws) {
    if ((w.days & (1u << day)) != 0 && minute >= w.start_minute && minute < w.end_minute) {
      return true;
    }
  }
  return false;
}

}  // namespace pamproxy::policy
