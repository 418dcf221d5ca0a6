#include "src/config/validate.h"

#include <gtest/gtest.h>

namespace pamproxy::config::internal {
namespace {

TEST(Validate, HostPatterns) {
  for (const char* ok : {"s3.amazonaws.com", "*.amazonaws.com", "*.api.aws", "a-b.example", "x"}) {
    EXPECT_EQ(check_host_pattern(ok), "") << ok;
  }
  for (const char* bad : {"", "*.", "*", "a..b", "a.b.", "**.a", "a*.b", "a b", "a/b",
                          "xn--\xe2\x98\x83.com"}) {
    EXPECT_NE(check_host_pattern(bad), "") << bad;
  }
  EXPECT_NE(check_host_pattern(std::string(64, 'a') + ".com"), "");
  EXPECT_EQ(check_host_pattern(std::string(63, 'a') + ".com"), "");
}

TEST(Validate, DestinationPatternsNeedAPort) {
  EXPECT_EQ(check_destination_pattern("*.amazonaws.com:443"), "");
  EXPECT_NE(check_destination_pattern("*.amazonaws.com"), "");
  EXPECT_NE(check_destination_pattern("*.amazonaws.com:0"), "");
  EXPECT_NE(check_destination_pattern("*.amazonaws.com:65536"), "");
  EXPECT_NE(check_destination_pattern("*.amazonaws.com:4a"), "");
  EXPECT_NE(check_destination_pattern(":443"), "");
}

TEST(Validate, DnsServers) {
  EXPECT_EQ(check_dns_server("10.0.0.2"), "");
  EXPECT_EQ(check_dns_server("10.0.0.2:5353"), "");
  EXPECT_EQ(check_dns_server("::1"), "");
  EXPECT_NE(check_dns_server("dns.example"), "");
}

}  // namespace
}  // namespace pamproxy::config::internal
