#include "pamproxy/audit/event.h"

#include <gtest/gtest.h>

namespace pamproxy::audit {
namespace {

TEST(CliCommand, ExtractsTheAwsCliCommandToken) {
  EXPECT_EQ(cli_command_of("aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 exe/x86_64.debian.12 "
                           "prompt/off command/s3.cp"),
            "s3.cp");
  EXPECT_EQ(cli_command_of("aws-cli/1.45.0 md/Botocore#1.43.0 command/ec2.describe-instances "
                           "md/arch#x86_64"),
            "ec2.describe-instances");
}

TEST(CliCommand, EmptyWithoutAWholeToken) {
  EXPECT_EQ(cli_command_of("Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"), "");
  EXPECT_EQ(cli_command_of("xcommand/s3.cp"), "");
  EXPECT_EQ(cli_command_of("command/"), "");
  EXPECT_EQ(cli_command_of("command/s3.cp\"injected"), "");
  EXPECT_EQ(cli_command_of(""), "");
}

TEST(InlineString, KeepsShortValues) {
  InlineString<8> s;
  s.assign("abc");
  EXPECT_EQ(s.view(), "abc");
  EXPECT_FALSE(s.truncated());
  s.assign("12345678");
  EXPECT_EQ(s.view(), "12345678");
  EXPECT_FALSE(s.truncated());
}

TEST(InlineString, EmptyViewWithNullDataIsFine) {
  InlineString<8> s;
  s.assign("abc");
  s.assign(std::string_view());  // data() is null: must not reach memcpy (UBSan checks it)
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.truncated());
}

TEST(InlineString, TruncatesAtACharacterBoundaryAndMarks) {
  InlineString<4> s;
  s.assign("ab\xc3\xa9z");  // "abéz": é would straddle the limit at byte 4
  EXPECT_EQ(s.view(), "ab\xc3\xa9");
  EXPECT_TRUE(s.truncated());
  s.assign("a\xe2\x82\xac");  // "a€" is 4 bytes: fits
  EXPECT_FALSE(s.truncated());
  s.assign("abc\xe2\x82\xac");  // the euro sign would be split: dropped whole
  EXPECT_EQ(s.view(), "abc");
  EXPECT_TRUE(s.truncated());
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.truncated());
}

TEST(EventType, NamesRoundTrip) {
  for (int i = 1; i <= kEventTypeCount; ++i) {
    auto t = static_cast<EventType>(i);
    std::string_view name = event_type_name(t);
    ASSERT_FALSE(name.empty()) << i;
    EventType back;
    ASSERT_TRUE(parse_event_type(name, &back));
    EXPECT_EQ(back, t);
  }
  EventType t;
  EXPECT_FALSE(parse_event_type("request.smuggled", &t));
  EXPECT_EQ(event_type_name(static_cast<EventType>(99)), "");
}

}  // namespace
}  // namespace pamproxy::audit
