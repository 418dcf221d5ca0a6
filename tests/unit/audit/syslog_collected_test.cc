#include "pamproxy/audit/syslog_collected.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::audit {
namespace {

constexpr std::string_view kMsg = R"({"seq":3,"prev":"x","note":"a: b [c] - d"})";

// The views point into `line`: callers keep it alive.
CollectedLine parse_ok(const std::string& line) {
  CollectedLine c;
  EXPECT_TRUE(parse_collected_line(line, &c)) << line;
  return c;
}

TEST(SyslogCollected, Rfc5424Layout) {
  const std::string line =
      "<110>1 2026-12-07T11:26:14.123456+00:00 pam-1 pamproxy - - - " + std::string(kMsg);
  CollectedLine c = parse_ok(line);
  EXPECT_EQ(c.hostname, "pam-1");
  EXPECT_EQ(c.app_name, "pamproxy");
  EXPECT_EQ(c.msg, kMsg);
}

TEST(SyslogCollected, Rfc5424WithStructuredDataAndBom) {
  const std::string line =
      "<13>1 - h app 12 ID [ex@1 a=\"x\\\"]y\"][b@2] \xEF\xBB\xBF" + std::string(kMsg);
  CollectedLine c = parse_ok(line);
  EXPECT_EQ(c.hostname, "h");
  EXPECT_EQ(c.msg, kMsg);
}

TEST(SyslogCollected, FileFormatLayouts) {
  const std::string a = "2026-12-07T11:26:14.123456+00:00 pam-1 pamproxy: " + std::string(kMsg);
  CollectedLine c = parse_ok(a);
  EXPECT_EQ(c.hostname, "pam-1");
  EXPECT_EQ(c.app_name, "pamproxy");
  EXPECT_EQ(c.msg, kMsg);
  const std::string b = "Dec  7 11:26:14 pam-2 pamproxy[123]: " + std::string(kMsg);
  c = parse_ok(b);
  EXPECT_EQ(c.hostname, "pam-2");
  EXPECT_EQ(c.app_name, "pamproxy");
  EXPECT_EQ(c.msg, kMsg);
  const std::string d = "Dec 17 11:26:14 pam-2 other: hello";
  c = parse_ok(d);
  EXPECT_EQ(c.app_name, "other");
  EXPECT_EQ(c.msg, "hello");
}

TEST(SyslogCollected, OtherLinesAreNotOurs) {
  CollectedLine c;
  for (std::string_view bad :
       {"", " ", "<>1 a b c d e - m", "<1234>1 a b c d e - m", "<1>2 a b c d e - m",
        "<1>1 a b c d e [unclosed", "<1>1 a b c d e -x", "hello", "Dec  7 11:26:14 host",
        "Dec  7 11:26:14 host notag msg", "2026 h :", "D", "Dec7 1 h t: m",
        "2026-12-07T11:26:14Z h app]: m"}) {
    EXPECT_FALSE(parse_collected_line(bad, &c)) << bad;
    EXPECT_TRUE(c.msg.empty());
  }
}

}  // namespace
}  // namespace pamproxy::audit
