#include <gtest/gtest.h>

#include <string>

#include "pamproxy/http/response_parser.h"

namespace pamproxy::http {
namespace {

struct Framing {
  std::string_view head;
  Method request;
  BodyKind kind;
  uint64_t length;
  bool keep_alive;
};

class ResponseFraming : public ::testing::TestWithParam<Framing> {};

TEST_P(ResponseFraming, FollowsRfc9112Section6_3) {
  const Framing& c = GetParam();
  ResponseParser p(Limits{});
  p.reset(c.request);
  ASSERT_EQ(p.parse(c.head), ParseStatus::kDone) << c.head << " " << error_name(p.error());
  EXPECT_EQ(p.head().body_kind(), c.kind) << c.head;
  EXPECT_EQ(p.head().content_length(), c.length) << c.head;
  EXPECT_EQ(p.head().keep_alive(), c.keep_alive) << c.head;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResponseFraming,
    ::testing::Values(
        Framing{"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", Method::kGet,
                BodyKind::kContentLength, 12, true},
        Framing{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Method::kGet,
                BodyKind::kChunked, 0, true},
        Framing{"HTTP/1.1 200 OK\r\n\r\n", Method::kGet, BodyKind::kUntilClose, 0, false},
        Framing{"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", Method::kGet,
                BodyKind::kContentLength, 1, false},
        Framing{"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", Method::kHead, BodyKind::kNone, 0,
                true},
        Framing{"HTTP/1.1 204 No Content\r\n\r\n", Method::kDelete, BodyKind::kNone, 0, true},
        Framing{"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", Method::kGet,
                BodyKind::kNone, 0, true},
        Framing{"HTTP/1.1 100 Continue\r\n\r\n", Method::kPut, BodyKind::kNone, 0, true},
        Framing{"HTTP/1.1 200 Connection established\r\n\r\n", Method::kConnect, BodyKind::kNone, 0,
                true},
        Framing{"HTTP/1.1 200\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", Method::kGet,
                BodyKind::kContentLength, 0, false}));

TEST(ResponseParser, InterimThenFinal) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nx-amz-request-id: R1\r\nETag: \"abc\"\r\nContent-Length: 0\r\n\r\n";
  ResponseParser p(Limits{});
  p.reset(Method::kPut);
  ASSERT_EQ(p.parse(wire), ParseStatus::kDone);
  EXPECT_EQ(p.head().status(), 100);
  EXPECT_TRUE(p.head().interim());
  EXPECT_EQ(p.head().reason(), "Continue");
  std::string_view rest = std::string_view(wire).substr(p.head_bytes());
  p.reset(Method::kPut);
  ASSERT_EQ(p.parse(rest), ParseStatus::kDone);
  EXPECT_EQ(p.head().status(), 200);
  EXPECT_FALSE(p.head().interim());
  EXPECT_EQ(p.head().find("X-Amz-Request-Id"), "R1");
  EXPECT_EQ(p.head_bytes(), rest.size());
}

TEST(ResponseParser, ReadsTheSameAfterItsMemoryIsGivenBack) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nx-amz-request-id: R1\r\nETag: \"abc\"\r\nContent-Length: 7\r\n\r\n";
  ResponseParser p(Limits{});
  ASSERT_EQ(p.parse(wire), ParseStatus::kDone);
  p.release_memory();
  ASSERT_EQ(p.parse(wire), ParseStatus::kDone);
  EXPECT_EQ(p.head().status(), 200);
  EXPECT_EQ(p.head().find("X-Amz-Request-Id"), "R1");
  EXPECT_EQ(p.head().content_length(), 7u);
  EXPECT_EQ(p.head_bytes(), wire.size());
}

TEST(ResponseParser, SwitchingProtocolsIsNotInterim) {
  ResponseParser p(Limits{});
  ASSERT_EQ(p.parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: upgrade\r\n\r\n"),
            ParseStatus::kDone);
  EXPECT_FALSE(p.head().interim());
  EXPECT_TRUE(p.head().has_upgrade());
}

TEST(ResponseParser, BadStatusLines) {
  struct Case {
    std::string_view head;
    Error error;
  };
  for (const Case& c : {
           Case{"HTTP/1.1 2000 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"HTTP/1.1 20 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"HTTP/1.1 20\r\n\r\n", Error::kBadStatusLine},
           Case{"HTTP/1.1 099 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"HTTP/1.1 600 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"HTTP/1.1 2x0 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"HTTP/2.0 200 OK\r\n\r\n", Error::kUnsupportedVersion},
           Case{"HTTP/1.1  200 OK\r\n\r\n", Error::kBadStatusCode},
           Case{"http/1.1 200 OK\r\n\r\n", Error::kBadVersion},
           Case{"HTTP/1.1 200 O\x01K\r\n\r\n", Error::kControlChar},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                Error::kDifferingContentLength},
           Case{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::kContentLengthWithTransferEncoding},
           Case{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                Error::kUnsupportedTransferCoding},
           Case{"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::kTransferEncodingHttp10},
       }) {
    ResponseParser p(Limits{});
    EXPECT_EQ(p.parse(c.head), ParseStatus::kError) << c.head;
    EXPECT_EQ(p.error(), c.error) << c.head << " got " << error_name(p.error());
  }
}

}  // namespace
}  // namespace pamproxy::http
