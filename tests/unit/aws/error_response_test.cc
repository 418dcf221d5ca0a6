#include "pamproxy/aws/error_response.h"

#include <gtest/gtest.h>

namespace pamproxy::aws {
namespace {

TEST(ErrorResponse, S3XmlEscapesAndCarriesTheRequestId) {
  ErrorReply r = render_error(Protocol::kS3, 403, "AccessDenied", "not <now> & later", "R1");
  EXPECT_EQ(r.content_type, "application/xml");
  EXPECT_NE(r.body.find("<Code>AccessDenied</Code>"), std::string::npos);
  EXPECT_NE(r.body.find("<Message>not &lt;now&gt; &amp; later (request R1)</Message>"),
            std::string::npos);
  EXPECT_NE(r.body.find("<RequestId>R1</RequestId>"), std::string::npos);
}

TEST(ErrorResponse, JsonHasTypeAndMessage) {
  ErrorReply r = render_error(Protocol::kJson, 400, "ExpiredToken", "quote \" here", "R2");
  EXPECT_EQ(r.body, R"json({"__type":"ExpiredToken","message":"quote \" here (request R2)"})json");
}

TEST(ErrorResponse, CborIsAMapOfTwoTextPairs) {
  ErrorReply r = render_error(Protocol::kRpcV2Cbor, 403, "AccessDenied", "no", "R");
  ASSERT_GE(r.body.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(r.body[0]), 0xa2);
  EXPECT_EQ(static_cast<uint8_t>(r.body[1]), 0x66);  // text(6) "__type"
  EXPECT_EQ(r.body.substr(2, 6), "__type");
}

TEST(ErrorResponse, HttpResponseHasLengthAndHeaders) {
  std::string out = http_error_response(Protocol::kJson, 403, "AccessDenied", "m", "RID", true);
  size_t end = out.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  std::string body = out.substr(end + 4);
  EXPECT_EQ(out.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_NE(out.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("x-amzn-ErrorType: AccessDenied\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::aws
