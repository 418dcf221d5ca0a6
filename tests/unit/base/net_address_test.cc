#include "pamproxy/base/net_address.h"

#include <gtest/gtest.h>

namespace pamproxy::net {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndNormalizesMappedV4) {
  auto v4 = IpAddress::parse("192.0.2.7");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->to_string(), "192.0.2.7");
  auto mapped = IpAddress::parse("::ffff:192.0.2.7");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, *v4);
  auto v6 = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_FALSE(IpAddress::parse("example.com"));
  EXPECT_FALSE(IpAddress::parse("1.2.3"));
  EXPECT_FALSE(IpAddress::parse(""));
}

TEST(IpAddress, PrivateAndSpecialRanges) {
  for (const char* s : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::",
                        "fe80::1", "fd00:ec2::254", "ff02::1"}) {
    EXPECT_TRUE(IpAddress::parse(s)->is_private_or_special()) << s;
  }
  for (const char* s : {"52.216.0.1", "172.32.0.1", "100.128.0.1", "2600:1f18::1", "8.8.8.8"}) {
    EXPECT_FALSE(IpAddress::parse(s)->is_private_or_special()) << s;
  }
}

TEST(SocketAddress, ParsesPortsStrictly) {
  auto a = SocketAddress::parse("127.0.0.1:8081");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 8081);
  auto b = SocketAddress::parse("[::1]:443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "[::1]:443");
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:080", "::1:443", "[::1]443", "[127.0.0.1]:80",
                          "host:80", "1.2.3.4:+80"}) {
    EXPECT_FALSE(SocketAddress::parse(bad)) << bad;
  }
}

TEST(Cidr, ContainsAndNormalizes) {
  auto c = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(c->contains(*IpAddress::parse("10.200.0.1")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("11.0.0.1")));
  EXPECT_FALSE(c->contains(*IpAddress::parse("::ffff:11.0.0.1")));
  EXPECT_TRUE(c->contains(*IpAddress::parse("::ffff:10.0.0.1")));

  auto host = Cidr::parse("192.0.2.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_bits, 32);

  auto v6 = Cidr::parse("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:7fff::1")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("2001:db8:8000::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("1.2.3.4")));

  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::/129", "x/8",
                          "::ffff:10.0.0.0/104", "10.0.0.0/08"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace pamproxy::net
