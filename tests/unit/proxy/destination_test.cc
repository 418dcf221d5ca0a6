#include "pamproxy/proxy/destination.h"

#include <gtest/gtest.h>

namespace pamproxy::proxy {
namespace {

ConnectTarget target(const char* host, uint16_t port) {
  ConnectTarget t;
  t.host = host;
  t.port = port;
  return t;
}

TEST(HostMatches, WildcardNeedsALabel) {
  EXPECT_TRUE(host_matches("*.amazonaws.com", "s3.amazonaws.com"));
  EXPECT_TRUE(host_matches("*.amazonaws.com", "a.b.AMAZONAWS.com"));
  EXPECT_FALSE(host_matches("*.amazonaws.com", "amazonaws.com"));
  EXPECT_FALSE(host_matches("*.amazonaws.com", "evilamazonaws.com"));
  EXPECT_FALSE(host_matches("*.amazonaws.com", ".amazonaws.com"));
  EXPECT_TRUE(host_matches("localhost", "LOCALHOST"));
  EXPECT_FALSE(host_matches("localhost", "localhost.evil"));
}

TEST(DestinationPolicy, DefaultsAllowAwsOn443Only) {
  config::Config c;
  auto p = DestinationPolicy::from_config(c);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->allowed(target("s3.us-east-1.amazonaws.com", 443)));
  EXPECT_TRUE(p->allowed(target("sts.amazonaws.com.cn", 443)));
  EXPECT_FALSE(p->allowed(target("s3.us-east-1.amazonaws.com", 80)));
  EXPECT_FALSE(p->allowed(target("example.com", 443)));
  EXPECT_FALSE(p->allowed(target("127.0.0.1", 443)));
  EXPECT_FALSE(p->override_for("s3.amazonaws.com"));
}

TEST(DestinationPolicy, PrivateAddressesNeedAnExplicitCidr) {
  config::Config c;
  c.proxy.private_destinations_allowed = {"10.1.0.0/16"};
  auto p = DestinationPolicy::from_config(c);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->address_permitted(*net::IpAddress::parse("52.216.1.1")));
  EXPECT_FALSE(p->address_permitted(*net::IpAddress::parse("127.0.0.1")));
  EXPECT_FALSE(p->address_permitted(*net::IpAddress::parse("169.254.169.254")));
  EXPECT_FALSE(p->address_permitted(*net::IpAddress::parse("10.2.0.1")));
  EXPECT_TRUE(p->address_permitted(*net::IpAddress::parse("10.1.200.1")));
}

TEST(DestinationPolicy, OverridesFirstMatchWins) {
  config::Config c;
  c.upstream.resolve = {{"*.s3.amazonaws.com", "10.0.0.5:443"}, {"*.amazonaws.com", "[::1]:8443"}};
  c.proxy.destination_allowlist = {"localhost:8443"};
  auto p = DestinationPolicy::from_config(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->override_for("b.s3.amazonaws.com")->to_string(), "10.0.0.5:443");
  EXPECT_EQ(p->override_for("sts.amazonaws.com")->to_string(), "[::1]:8443");
  EXPECT_TRUE(p->allowed(target("localhost", 8443)));
  EXPECT_FALSE(p->allowed(target("localhost", 8444)));
}

TEST(DestinationPolicy, BadEntriesAreNamed) {
  config::Config c;
  c.proxy.destination_allowlist = {"noport"};
  auto p = DestinationPolicy::from_config(c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(std::string(p.status().message()).find("noport"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::proxy
