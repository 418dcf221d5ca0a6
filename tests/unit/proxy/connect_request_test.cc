#include "pamproxy/proxy/connect_request.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::proxy {
namespace {

TEST(ParseConnect, AwsCliHead) {
  std::string head =
      "CONNECT S3.us-east-1.AmazonAWS.com:443 HTTP/1.1\r\nHost: s3.us-east-1.amazonaws.com:443\r\n"
      "\r\n\x16\x03\x01";
  ConnectResult r = parse_connect(head, 4096);
  ASSERT_EQ(r.status, ConnectParse::kComplete);
  EXPECT_EQ(r.target.host, "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(r.target.port, 443);
  EXPECT_FALSE(r.target.host_is_ip);
  EXPECT_EQ(r.head_bytes, head.size() - 3);  // the TLS bytes after the head are not part of it
}

TEST(ParseConnect, LiteralsAndBareLf) {
  ConnectResult v6 = parse_connect("CONNECT [::1]:8443 HTTP/1.0\n\n", 4096);
  ASSERT_EQ(v6.status, ConnectParse::kComplete);
  EXPECT_EQ(v6.target.host, "::1");
  EXPECT_TRUE(v6.target.host_is_ip);
  EXPECT_EQ(v6.target.authority(), "[::1]:8443");
  ConnectResult v4 = parse_connect("CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n", 4096);
  ASSERT_EQ(v4.status, ConnectParse::kComplete);
  EXPECT_TRUE(v4.target.host_is_ip);
}

TEST(ParseConnect, IncompleteUntilTheLimit) {
  EXPECT_EQ(parse_connect("CONNECT a.b:443 HTTP/1.1\r\nHost: a", 4096).status,
            ConnectParse::kIncomplete);
  std::string big = "CONNECT a.b:443 HTTP/1.1\r\nX: " + std::string(5000, 'x');
  EXPECT_EQ(parse_connect(big, 4096).status, ConnectParse::kTooLarge);
  // A complete head just over the limit is still too large.
  std::string over = "CONNECT a.b:443 HTTP/1.1\r\nX: " + std::string(4096, 'x') + "\r\n\r\n";
  EXPECT_EQ(parse_connect(over, 4096).status, ConnectParse::kTooLarge);
}

TEST(ParseConnect, RefusesWhatIsNotAConnect) {
  EXPECT_EQ(parse_connect("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 4096).status,
            ConnectParse::kNotConnect);
  EXPECT_EQ(parse_connect(std::string("\x16\x03\x01\x02\x00", 5), 4096).status,
            ConnectParse::kMalformed);  // a ClientHello sent without CONNECT: refused at once
  EXPECT_EQ(parse_connect("CONNECT a.b:443 HTTP/2\r\n\r\n", 4096).status,
            ConnectParse::kMalformed);
  EXPECT_EQ(parse_connect("CONNECT a.b:443 HTTP/1.1\r\nno colon\r\n\r\n", 4096).status,
            ConnectParse::kMalformed);
  EXPECT_EQ(parse_connect("CONNECT  a.b:443 HTTP/1.1\r\n\r\n", 4096).status,
            ConnectParse::kMalformed);
  EXPECT_EQ(parse_connect("CONNECT a.b:443 HTTP/1.1\r\nX: a\rb\r\n\r\n", 4096).status,
            ConnectParse::kMalformed);
  for (const char* bad : {"a.b", "a.b:", "a.b:0", "a.b:65536", "a.b:080", "::1:443", "[::1]443",
                          "[127.0.0.1]:80", "a..b:443", "a b:443", "/path", "*:443",
                          "http://a.b:443"}) {
    std::string head = std::string("CONNECT ") + bad + " HTTP/1.1\r\n\r\n";
    auto r = parse_connect(head, 4096);
    EXPECT_TRUE(r.status == ConnectParse::kBadTarget || r.status == ConnectParse::kMalformed)
        << bad;
  }
}

}  // namespace
}  // namespace pamproxy::proxy
