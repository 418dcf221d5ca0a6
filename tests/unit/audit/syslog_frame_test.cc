#include "pamproxy/audit/syslog_frame.h"

#include <gtest/gtest.h>

#include <string>

#include "pamproxy/audit/syslog_collected.h"

namespace pamproxy::audit {
namespace {

constexpr int64_t kTime = 1796636774123456789;  // 2026-12-07T09:46:14.123456789Z

TEST(SyslogFrame, OctetCountedRfc5424MessageCarriesTheLineUnchanged) {
  std::string out = "previous";
  const std::string line = R"({"seq":42,"prev":"00","note":"a b \"c\""})";
  append_syslog_frame(out, {"pam-1", "pamproxy"}, kTime, line);
  const std::string msg = "<110>1 2026-12-07T09:46:14.123456Z pam-1 pamproxy - - - " + line;
  EXPECT_EQ(out, "previous" + std::to_string(msg.size()) + " " + msg);
}

TEST(SyslogFrame, LengthCountsBytesNotCharacters) {
  std::string out;
  const std::string line = "{\"seq\":1,\"who\":\"J\xC3\xBCrgen\"}";
  append_syslog_frame(out, {"h", "a"}, 0, line);
  size_t sp = out.find(' ');
  EXPECT_EQ(std::stoul(out.substr(0, sp)), out.size() - sp - 1);
  EXPECT_TRUE(out.ends_with(line));
}

TEST(SyslogFrame, HostnameIsPrintableAsciiWithoutSpaces) {
  EXPECT_EQ(syslog_hostname("pam-1.example"), "pam-1.example");
  EXPECT_EQ(syslog_hostname("node one\t\xC3\xA9"), "node_one___");
  EXPECT_EQ(syslog_hostname(""), "-");
  EXPECT_EQ(syslog_hostname(std::string(300, 'a')).size(), kSyslogHostnameBytesMax);
}

TEST(SyslogFrame, AppNameIsChecked) {
  EXPECT_EQ(check_syslog_app_name("pamproxy"), "");
  EXPECT_NE(check_syslog_app_name(""), "");
  EXPECT_NE(check_syslog_app_name("pam proxy"), "");
  EXPECT_NE(check_syslog_app_name("-"), "");
  EXPECT_NE(check_syslog_app_name(std::string(49, 'a')), "");
  EXPECT_EQ(check_syslog_app_name(std::string(48, 'a')), "");
}

// What a collector writes with RSYSLOG_SyslogProtocol23Format is what was sent, minus the length.
TEST(SyslogFrame, ACollectedFrameReadsBack) {
  std::string out;
  const std::string line = R"({"seq":7,"prev":"ab"})";
  append_syslog_frame(out, {"pam-1", "pamproxy"}, kTime, line);
  CollectedLine c;
  ASSERT_TRUE(parse_collected_line(std::string_view(out).substr(out.find(' ') + 1), &c));
  EXPECT_EQ(c.hostname, "pam-1");
  EXPECT_EQ(c.app_name, "pamproxy");
  EXPECT_EQ(c.msg, line);
}

}  // namespace
}  // namespace pamproxy::audit
