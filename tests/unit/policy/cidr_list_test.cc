#include "pamproxy/policy/cidr_list.h"

#include <gtest/gtest.h>

namespace pamproxy::policy {
namespace {

net::IpAddress ip(const char* s) {
  return *net::IpAddress::parse(s);
}

TEST(CidrList, ParsesSeparatorsAndBareAddresses) {
  auto l = parse_cidr_list("10.0.0.0/8, 192.168.1.7\n2001:db8::/32,,  ");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ(format_cidr_list(*l), "10.0.0.0/8, 192.168.1.7/32, 2001:db8::/32");
  EXPECT_TRUE(cidr_list_allows(*l, ip("10.200.1.1")));
  EXPECT_TRUE(cidr_list_allows(*l, ip("192.168.1.7")));
  EXPECT_FALSE(cidr_list_allows(*l, ip("192.168.1.8")));
  EXPECT_TRUE(cidr_list_allows(*l, ip("2001:db8::5")));
  EXPECT_TRUE(cidr_list_allows(*l, ip("::ffff:10.1.1.1")));  // mapped v4 is v4
  EXPECT_TRUE(parse_cidr_list("")->empty());
  EXPECT_TRUE(cidr_list_allows({}, ip("203.0.113.9")));
}

TEST(CidrList, RefusesBadEntriesNamingThem) {
  auto bad = parse_cidr_list("10.0.0.0/8, 10.0.0.0/33");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("10.0.0.0/33"), std::string::npos);
  auto host = parse_cidr_list("10.1.2.3/8");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(std::string(host.status().message()).find("did you mean 10.0.0.0/8"),
            std::string::npos);
  EXPECT_FALSE(parse_cidr_list("example.com").ok());
  EXPECT_FALSE(parse_cidr_list("::ffff:10.0.0.0/104").ok());
  std::string many;
  for (int i = 0; i < 257; ++i) many += "10.0.0.1 ";
  EXPECT_FALSE(parse_cidr_list(many).ok());
}

}  // namespace
}  // namespace pamproxy::policy
