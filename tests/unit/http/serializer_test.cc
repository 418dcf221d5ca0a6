#include "pamproxy/http/serializer.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "pamproxy/http/request_parser.h"
#include "pamproxy/http/response_parser.h"

namespace pamproxy::http {
namespace {

constexpr std::string_view kRequest =
    "PUT /b/k HTTP/1.1\r\n"
    "Host: s3.amazonaws.com\r\n"
    "authorization: old\r\n"
    "X-Amz-Date: 20260101T000000Z\r\n"
    "X-Amz-Security-Token: client\r\n"
    "Proxy-Authorization: Basic x\r\n"
    "Connection: keep-alive, x-drop\r\n"
    "X-Drop: 1\r\n"
    "Authorization: second\r\n"
    "Content-Length: 3\r\n"
    "\r\n";

TEST(Serializer, RewritesARequestHeadInOnePass) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse(kRequest), ParseStatus::kDone) << error_name(p.error());
  const NameValue set[] = {{"Authorization", "AWS4-HMAC-SHA256 new"},
                           {"X-Amz-Date", "20261123T000000Z"},
                           {"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"}};
  const std::string_view remove[] = {"x-amz-security-token"};
  const NameValue add[] = {{"X-Amz-Security-Token", "record"}};
  std::array<char, 1024> out;
  WriteResult w = write_request_head(p.head(), {.remove = remove, .set = set, .add = add}, out);
  ASSERT_EQ(w.error, Error::kNone);
  EXPECT_EQ(std::string_view(out.data(), w.bytes),
            "PUT /b/k HTTP/1.1\r\n"
            "Host: s3.amazonaws.com\r\n"
            "authorization: AWS4-HMAC-SHA256 new\r\n"
            "X-Amz-Date: 20261123T000000Z\r\n"
            "Content-Length: 3\r\n"
            "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
            "X-Amz-Security-Token: record\r\n"
            "\r\n");
  // What it wrote parses back to the same request.
  RequestParser again(Limits{});
  ASSERT_EQ(again.parse({out.data(), w.bytes}), ParseStatus::kDone);
  EXPECT_EQ(again.head().find("authorization"), "AWS4-HMAC-SHA256 new");
  EXPECT_EQ(again.head().content_length(), 3u);
}

TEST(Serializer, ChangesTheTargetAndKeepsHopByHopWhenAsked) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse("GET http://h/x?y HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n"),
            ParseStatus::kDone);
  std::array<char, 256> out;
  WriteResult w = write_request_head(
      p.head(), {.target = p.head().path_and_query(), .drop_hop_by_hop = false}, out);
  ASSERT_EQ(w.error, Error::kNone);
  EXPECT_EQ(std::string_view(out.data(), w.bytes),
            "GET /x?y HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n");
}

TEST(Serializer, RefusesValuesThatWouldInjectLines) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kDone);
  std::array<char, 256> out;
  for (NameValue bad : {NameValue{"X", "a\r\nInjected: 1"}, NameValue{"X", "a\nb"},
                        NameValue{"X", std::string_view("a\0b", 3)}, NameValue{"X Y", "v"},
                        NameValue{"", "v"}, NameValue{"X:", "v"}, NameValue{"X", " padded"}}) {
    const NameValue add[] = {bad};
    EXPECT_EQ(write_request_head(p.head(), {.add = add}, out).error, Error::kBadHeaderForOutput)
        << bad.name << "=" << bad.value;
  }
  EXPECT_EQ(write_request_head(p.head(), {.target = "/a b"}, out).error,
            Error::kBadHeaderForOutput);
}

TEST(Serializer, NeverWritesPastTheBuffer) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse(kRequest), ParseStatus::kDone);
  std::array<char, 300> out;
  WriteResult full = write_request_head(p.head(), {}, out);
  ASSERT_EQ(full.error, Error::kNone);
  for (size_t n = 0; n < full.bytes; ++n) {
    std::array<char, 300> guard;
    guard.fill('#');
    WriteResult w = write_request_head(p.head(), {}, std::span<char>(guard.data(), n));
    EXPECT_EQ(w.error, Error::kOutputTooSmall) << n;
    for (size_t k = n; k < guard.size(); ++k) ASSERT_EQ(guard[k], '#') << n;
  }
}

TEST(Serializer, ResponseHead) {
  ResponseParser p(Limits{});
  ASSERT_EQ(p.parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            ParseStatus::kDone);
  std::array<char, 256> out;
  const NameValue add[] = {{"Connection", "close"}};
  WriteResult w = write_response_head(p.head(), {.add = add}, out);
  ASSERT_EQ(w.error, Error::kNone);
  EXPECT_EQ(std::string_view(out.data(), w.bytes),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace pamproxy::http
