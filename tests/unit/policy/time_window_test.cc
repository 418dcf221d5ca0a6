#include "pamproxy/policy/time_window.h"

#include <gtest/gtest.h>

#include "absl/time/civil_time.h"

namespace pamproxy::policy {
namespace {

TEST(TimeWindow, ParsesAndPrintsCanonically) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"Mon-Fri 08:00-18:00", "Mon-Fri 08:00-18:00"},
      {"mon-fri 8:00-18:00", nullptr},
      {"Sat,Sun 10:00-14:00", "Sat-Sun 10:00-14:00"},
      {"daily 00:00-24:00", "daily 00:00-24:00"},
      {"Mon-Sun 00:00-24:00", "daily 00:00-24:00"},
      {"Mon-Wed,Fri 09:30-17:00", "Mon-Wed,Fri 09:30-17:00"},
      {"  Tue   07:15-07:16 ", "Tue 07:15-07:16"},
      {"Fri-Mon 08:00-18:00", nullptr},
      {"Mon 18:00-08:00", nullptr},
      {"Mon 08:00-08:00", nullptr},
      {"Mon 24:01-24:30", nullptr},
      {"Mon 08:60-09:00", nullptr},
      {"Funday 08:00-09:00", nullptr},
      {"Mon", nullptr},
      {"", nullptr},
      {"Mon,,Tue 08:00-09:00", nullptr},
      {"Mon 08:00", nullptr},
  };
  for (const Case& c : cases) {
    auto w = parse_time_window(c.in);
    if (c.out == nullptr) {
      EXPECT_FALSE(w.ok()) << c.in;
      if (!w.ok()) {
        EXPECT_FALSE(w.status().message().empty());
      }
    } else {
      ASSERT_TRUE(w.ok()) << c.in << ": " << w.status();
      EXPECT_EQ(format_time_window(*w), c.out);
      EXPECT_EQ(*parse_time_window(format_time_window(*w)), *w);
    }
  }
}

TEST(TimeWindow, OverlapIsRefusedAdjacentIsFine) {
  auto a = *parse_time_window("Mon-Fri 08:00-12:00");
  auto b = *parse_time_window("Fri 11:00-13:00");
  auto c = *parse_time_window("Mon-Fri 12:00-18:00");
  auto d = *parse_time_window("Sat 08:00-12:00");
  EXPECT_FALSE(check_windows_disjoint({a, b}).ok());
  EXPECT_NE(std::string(check_windows_disjoint({a, b}).message()).find("overlap"),
            std::string::npos);
  EXPECT_TRUE(check_windows_disjoint({a, c, d}).ok());
}

TEST(TimeWindow, EvaluatesInTheGivenZone) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  std::vector<TimeWindow> ws = {*parse_time_window("Mon-Fri 08:00-18:00")};
  // 2026-11-23 is a Monday. Berlin is UTC+1 in November.
  auto at = [&](int d, int h, int m) {
    return absl::FromCivil(absl::CivilMinute(2026, 11, d, h, m), berlin);
  };
  EXPECT_TRUE(within_windows(ws, at(23, 8, 0), berlin));
  EXPECT_TRUE(within_windows(ws, at(23, 17, 59), berlin));
  EXPECT_FALSE(within_windows(ws, at(23, 18, 0), berlin));
  EXPECT_FALSE(within_windows(ws, at(23, 7, 59), berlin));
  EXPECT_FALSE(within_windows(ws, at(28, 12, 0), berlin));  // Saturday
  EXPECT_TRUE(within_windows(ws, at(27, 12, 0), berlin));   // Friday
  // 07:30 UTC is 08:30 in Berlin: inside there, outside in UTC.
  absl::Time t = absl::FromCivil(absl::CivilMinute(2026, 11, 23, 7, 30), absl::UTCTimeZone());
  EXPECT_TRUE(within_windows(ws, t, berlin));
  EXPECT_FALSE(within_windows(ws, t, absl::UTCTimeZone()));
  // Summer time: 2026-07-06 (Monday) 06:30 UTC is 08:30 CEST.
  absl::Time summer = absl::FromCivil(absl::CivilMinute(2026, 7, 6, 6, 30), absl::UTCTimeZone());
  EXPECT_TRUE(within_windows(ws, summer, berlin));
  EXPECT_TRUE(within_windows({}, t, berlin));  // no windows: any time
  std::vector<TimeWindow> all_day = {*parse_time_window("Sun 00:00-24:00")};
  EXPECT_TRUE(within_windows(all_day, at(29, 23, 59), berlin));
}

}  // namespace
}  // namespace pamproxy::policy
