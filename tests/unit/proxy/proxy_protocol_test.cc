// PROXY protocol v2: IPv4 and IPv6 sources, LOCAL, TLVs skipped, byte-by-byte arrival, and each
// malformed header refused with its reason.

#include "pamproxy/proxy/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace pamproxy::proxy {
namespace {

std::vector<uint8_t> header(uint8_t ver_cmd, uint8_t fam, std::vector<uint8_t> body) {
  std::vector<uint8_t> h = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  h.push_back(ver_cmd);
  h.push_back(fam);
  h.push_back(static_cast<uint8_t>(body.size() >> 8));
  h.push_back(static_cast<uint8_t>(body.size() & 0xff));
  h.insert(h.end(), body.begin(), body.end());
  return h;
}

std::vector<uint8_t> ipv4_body() {
  return {198, 51, 100, 7, 10, 0, 0, 1, 0x9c, 0x40, 0x1f, 0x91};  // ports 40000 -> 8081
}

TEST(ProxyProtocol, Ipv4SourceAndTrailingBytesLeftAlone) {
  auto h = header(0x21, 0x11, ipv4_body());
  const size_t n = h.size();
  std::string rest = "CONNECT x:443 HTTP/1.1\r\n\r\n";
  h.insert(h.end(), rest.begin(), rest.end());
  ProxyHeader out;
  ASSERT_EQ(parse_proxy_v2(h, &out), ProxyHeaderStatus::kDone) << out.error;
  EXPECT_FALSE(out.local);
  EXPECT_EQ(out.source.ip.to_string(), "198.51.100.7");
  EXPECT_EQ(out.source.port, 40000);
  EXPECT_EQ(out.header_bytes, n);
}

TEST(ProxyProtocol, Ipv6WithTlvs) {
  std::vector<uint8_t> body(36, 0);
  in6_addr a;
  inet_pton(AF_INET6, "2001:db8::7", &a);
  std::memcpy(body.data(), &a, 16);
  body[32] = 0x12, body[33] = 0x34;
  for (uint8_t b : {0x04, 0x00, 0x02, 0xAA, 0xBB}) body.push_back(b);  // a NOOP TLV
  auto h = header(0x21, 0x21, body);
  ProxyHeader out;
  ASSERT_EQ(parse_proxy_v2(h, &out), ProxyHeaderStatus::kDone) << out.error;
  EXPECT_EQ(out.source.ip.to_string(), "2001:db8::7");
  EXPECT_EQ(out.source.port, 0x1234);
  EXPECT_EQ(out.header_bytes, h.size());
}

TEST(ProxyProtocol, LocalKeepsThePeer) {
  auto h = header(0x20, 0x00, {});
  ProxyHeader out;
  ASSERT_EQ(parse_proxy_v2(h, &out), ProxyHeaderStatus::kDone);
  EXPECT_TRUE(out.local);
  EXPECT_EQ(out.header_bytes, 16u);
}

TEST(ProxyProtocol, ArrivesByteByByte) {
  auto h = header(0x21, 0x11, ipv4_body());
  ProxyHeader out;
  for (size_t n = 1; n < h.size(); ++n) {
    ASSERT_EQ(parse_proxy_v2({h.data(), n}, &out), ProxyHeaderStatus::kNeedMore) << n;
  }
  EXPECT_EQ(parse_proxy_v2(h, &out), ProxyHeaderStatus::kDone);
}

TEST(ProxyProtocol, RefusesWhatIsNotAV2ProxyHeader) {
  struct Case {
    std::vector<uint8_t> bytes;
    const char* why;
  };
  std::string connect = "CONNECT s3.amazonaws.com:443 HTTP/1.1\r\n\r\n";
  std::vector<Case> cases = {
      {std::vector<uint8_t>(connect.begin(), connect.end()), "expected a PROXY"},
      {header(0x11, 0x11, ipv4_body()), "version"},
      {header(0x22, 0x11, ipv4_body()), "command"},
      {header(0x21, 0x31, ipv4_body()), "address family"},
      {header(0x21, 0x11, {1, 2, 3}), "truncated"},
      {header(0x21, 0x21, ipv4_body()), "truncated"},
      {header(0x21, 0x11, std::vector<uint8_t>(600, 0)), "too long"},
  };
  for (const Case& c : cases) {
    ProxyHeader out;
    EXPECT_EQ(parse_proxy_v2(c.bytes, &out), ProxyHeaderStatus::kError) << c.why;
    EXPECT_NE(out.error.find(c.why), std::string::npos) << out.error;
  }
}

}  // namespace
}  // namespace pamproxy::proxy
