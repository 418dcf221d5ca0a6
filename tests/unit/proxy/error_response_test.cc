#include "pamproxy/proxy/error_response.h"

#include <gtest/gtest.h>

namespace pamproxy::proxy {
namespace {

TEST(ErrorResponse, FormatsByHostAndEscapes) {
  EXPECT_EQ(error_format_for_host("s3.us-east-1.amazonaws.com"), ErrorFormat::kS3Xml);
  EXPECT_EQ(error_format_for_host("bucket.s3.amazonaws.com"), ErrorFormat::kS3Xml);
  EXPECT_EQ(error_format_for_host("sts.amazonaws.com"), ErrorFormat::kJson);
  std::string xml = error_response(502, "ProxyUpstreamUnreachable", "refused <x>",
                                   ErrorFormat::kS3Xml);
  EXPECT_EQ(xml.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u);
  EXPECT_NE(xml.find("<Code>ProxyUpstreamUnreachable</Code><Message>refused &lt;x&gt;</Message>"),
            std::string::npos);
  std::string json = error_response(504, "ProxyTimeout", "a \"b\"", ErrorFormat::kJson);
  EXPECT_NE(json.find("{\"__type\":\"ProxyTimeout\",\"message\":\"a \\\"b\\\"\"}"),
            std::string::npos);
  std::string text = error_response(403, "DestinationNotAllowed", "x", ErrorFormat::kText);
  size_t body = text.find("\r\n\r\n") + 4;
  EXPECT_NE(text.find("Content-Length: " + std::to_string(text.size() - body)),
            std::string::npos);
}

}  // namespace
}  // namespace pamproxy::proxy
