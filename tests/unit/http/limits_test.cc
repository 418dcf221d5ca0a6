#include "pamproxy/http/limits.h"

#include <gtest/gtest.h>

#include "pamproxy/config/config.h"
#include "pamproxy/http/request_parser.h"

namespace pamproxy::http {
namespace {

TEST(Limits, ComeFromTheLimitsSectionFieldByField) {
  config::LimitsSection s;
  s.head_bytes_max = 1000;
  s.header_count_max = 3;
  s.header_name_bytes_max = 40;
  s.header_value_bytes_max = 500;
  s.connect_head_bytes_max = 200;
  s.pipeline_depth_max = 4;
  const Limits l = limits_from(s);
  EXPECT_EQ(l.head_bytes_max, 1000u);
  EXPECT_EQ(l.header_count_max, 3u);
  EXPECT_EQ(l.header_name_bytes_max, 40u);
  EXPECT_EQ(l.header_value_bytes_max, 500u);
  EXPECT_EQ(l.connect_head_bytes_max, 200u);
  EXPECT_EQ(l.pipeline_depth_max, 4u);
  EXPECT_EQ(l.for_connect().head_bytes_max, 200u);
}

TEST(Limits, DefaultsMatchTheConfigurationDefaults) {
  const Limits from_config = limits_from(config::LimitsSection{});
  const Limits ours;
  EXPECT_EQ(from_config.head_bytes_max, ours.head_bytes_max);
  EXPECT_EQ(from_config.header_count_max, ours.header_count_max);
  EXPECT_EQ(from_config.header_name_bytes_max, ours.header_name_bytes_max);
  EXPECT_EQ(from_config.header_value_bytes_max, ours.header_value_bytes_max);
  EXPECT_EQ(from_config.connect_head_bytes_max, ours.connect_head_bytes_max);
  EXPECT_EQ(from_config.pipeline_depth_max, ours.pipeline_depth_max);
}

TEST(Limits, TheConnectHeadLimitApplies) {
  config::LimitsSection s;
  s.connect_head_bytes_max = 64;
  RequestParser p(limits_from(s).for_connect());
  const std::string head =
      "CONNECT s3.amazonaws.com:443 HTTP/1.1\r\nHost: s3.amazonaws.com:443\r\n"
      "User-Agent: x\r\n\r\n";
  ASSERT_GT(head.size(), 64u);
  EXPECT_EQ(p.parse(head), ParseStatus::kError);
  EXPECT_EQ(p.error(), Error::kHeadTooLarge);
}

}  // namespace
}  // namespace pamproxy::http
