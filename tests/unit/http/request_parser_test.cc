#include <gtest/gtest.h>

#include <string>

#include "pamproxy/http/request_parser.h"

namespace pamproxy::http {
namespace {

// A request as the AWS CLI sends it (values shortened).
constexpr std::string_view kPut =
    "PUT /bucket/key.txt HTTP/1.1\r\n"
    "Host: s3.us-east-1.amazonaws.com\r\n"
    "Accept-Encoding: identity\r\n"
    "User-Agent: aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12 command/s3.cp\r\n"
    "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n"
    "Expect: 100-continue\r\n"
    "X-Amz-Date: 20261123T000000Z\r\n"
    "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=T#R/20261123/us-east-1/s3/aws4_request, "
    "SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, Signature=abc\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";

ParseStatus parse_all(RequestParser& p, std::string_view text) {
  return p.parse(text);
}

TEST(RequestParser, ParsesAnAwsCliHead) {
  RequestParser p(Limits{});
  ASSERT_EQ(parse_all(p, kPut), ParseStatus::kDone) << error_name(p.error());
  const RequestHead& h = p.head();
  EXPECT_EQ(h.method(), Method::kPut);
  EXPECT_EQ(h.method_text(), "PUT");
  EXPECT_EQ(h.target(), "/bucket/key.txt");
  EXPECT_EQ(h.target_form(), TargetForm::kOrigin);
  EXPECT_EQ(h.path_and_query(), "/bucket/key.txt");
  EXPECT_EQ(h.version_minor(), 1);
  EXPECT_EQ(h.header_count(), 9u);
  EXPECT_EQ(h.host(), "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(h.find("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(h.header(0).name, "Host");
  EXPECT_EQ(h.header(0).id, HeaderId::kHost);
  EXPECT_EQ(h.body_kind(), BodyKind::kContentLength);
  EXPECT_EQ(h.content_length(), 5u);
  EXPECT_TRUE(h.expect_continue());
  EXPECT_TRUE(h.keep_alive());
  EXPECT_EQ(p.head_bytes(), kPut.size() - 5);
  EXPECT_EQ(kPut.substr(p.head_bytes()), "hello");
  EXPECT_EQ(h.raw(), kPut.substr(0, p.head_bytes()));
  // Views point into the caller's buffer: nothing was copied.
  EXPECT_EQ(h.target().data(), kPut.data() + 4);
}

TEST(RequestParser, ByteAtATimeGivesTheSameResult) {
  RequestParser p(Limits{});
  size_t n = 1;
  ParseStatus s = ParseStatus::kIncomplete;
  for (; n <= kPut.size(); ++n) {
    s = p.parse(kPut.substr(0, n));
    if (s != ParseStatus::kIncomplete) break;
  }
  ASSERT_EQ(s, ParseStatus::kDone);
  EXPECT_EQ(n, kPut.size() - 5);  // done exactly when the final LF arrived
  EXPECT_EQ(p.head().header_count(), 9u);
  EXPECT_EQ(p.head().content_length(), 5u);
}

TEST(RequestParser, TheBufferMayMoveBetweenCalls) {
  RequestParser p(Limits{});
  std::string first(kPut.substr(0, 100));
  ASSERT_EQ(p.parse(first), ParseStatus::kIncomplete);
  std::string moved(kPut);          // a different buffer holding the same bytes and more
  first.assign(first.size(), 'X');  // the old buffer is gone
  ASSERT_EQ(p.parse(moved), ParseStatus::kDone);
  EXPECT_EQ(p.head().method_text(), "PUT");
  EXPECT_EQ(p.head().host(), "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(p.head().method_text().data(), moved.data());
}

TEST(RequestParser, PipelinedRequestsInOrder) {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "DELETE /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  RequestParser p(Limits{});
  std::string_view rest = wire;
  std::vector<std::string> seen;
  while (!rest.empty()) {
    ASSERT_EQ(p.parse(rest), ParseStatus::kDone) << error_name(p.error());
    seen.push_back(std::string(p.head().method_text()) + " " + std::string(p.head().target()));
    rest.remove_prefix(p.head_bytes() + p.head().content_length());
    bool last = !p.head().keep_alive();
    p.reset();
    if (last) break;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /a", "PUT /b", "DELETE /c"}));
  EXPECT_TRUE(rest.empty());
}

// A quiet connection's parser gives its field table back; the next head reads exactly as the
// first did, and the header count limit still holds.
TEST(RequestParser, ReadsTheSameAfterItsMemoryIsGivenBack) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse(kPut), ParseStatus::kDone);
  const std::string first(p.head().find("User-Agent").value_or(""));
  const uint32_t bytes = p.head_bytes();
  p.release_memory();
  ASSERT_EQ(p.parse(kPut), ParseStatus::kDone);
  EXPECT_EQ(p.head().find("User-Agent").value_or(""), first);
  EXPECT_EQ(p.head().find("X-Amz-Date"), "20261123T000000Z");
  EXPECT_EQ(p.head_bytes(), bytes);
  EXPECT_EQ(p.head().content_length(), 5u);

  Limits limits;
  limits.header_count_max = 3;
  RequestParser small(limits);
  small.release_memory();
  EXPECT_EQ(small.parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"),
            ParseStatus::kDone);
  small.release_memory();
  EXPECT_EQ(small.parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            ParseStatus::kError);
  EXPECT_EQ(small.error(), Error::kTooManyHeaders);
}

TEST(RequestParser, SkipsEmptyLinesBeforeTheRequestLine) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kDone);
  EXPECT_EQ(p.head().target(), "/");
  EXPECT_EQ(p.head_bytes(), 31u);
}

TEST(RequestParser, ConnectAuthorityForm) {
  struct Case {
    std::string_view target;
    std::string_view host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"s3.amazonaws.com:443", "s3.amazonaws.com", 443}, Case{"[::1]:8443", "::1", 8443},
        Case{"[2001:db8::1]:443", "2001:db8::1", 443}, Case{"127.0.0.1:1", "127.0.0.1", 1}}) {
    RequestParser p(Limits{}.for_connect());
    std::string req = "CONNECT " + std::string(c.target) +
                      " HTTP/1.1\r\nHost: " + std::string(c.target) + "\r\n\r\n";
    ASSERT_EQ(p.parse(req), ParseStatus::kDone) << c.target << " " << error_name(p.error());
    EXPECT_EQ(p.head().target_form(), TargetForm::kAuthority);
    EXPECT_EQ(p.head().connect_host(), c.host);
    EXPECT_EQ(p.head().connect_port(), c.port);
    EXPECT_EQ(p.head().body_kind(), BodyKind::kNone);
  }
  for (std::string_view bad :
       {"host", "host:", ":443", "host:0", "host:65536", "host:44x", "[::1]", "[::1]443",
        "[zz]:443", "ho st:443", "/path", "host:123456", "a@b:443"}) {
    RequestParser p(Limits{});
    std::string req = "CONNECT " + std::string(bad) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_EQ(p.parse(req), ParseStatus::kError) << bad;
    EXPECT_TRUE(p.error() == Error::kBadConnectTarget || p.error() == Error::kBadRequestLine)
        << bad << " " << error_name(p.error());
  }
}

TEST(RequestParser, AbsoluteFormAndAsterisk) {
  RequestParser p(Limits{});
  ASSERT_EQ(
      p.parse("GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
      ParseStatus::kDone);
  EXPECT_EQ(p.head().target_form(), TargetForm::kAbsolute);
  EXPECT_EQ(p.head().authority(), "example.com:8080");
  EXPECT_EQ(p.head().path_and_query(), "/a/b?c=d");
  p.reset();
  ASSERT_EQ(p.parse("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            ParseStatus::kDone);
  EXPECT_EQ(p.head().path_and_query(), "/");
  p.reset();
  ASSERT_EQ(p.parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kDone);
  EXPECT_EQ(p.head().target_form(), TargetForm::kAsterisk);
  p.reset();
  EXPECT_EQ(p.parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kError);
  EXPECT_EQ(p.error(), Error::kTargetFormMismatch);
  p.reset();
  EXPECT_EQ(p.parse("GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kError);
  EXPECT_EQ(p.error(), Error::kTargetFormMismatch);
}

TEST(RequestParser, Persistence) {
  struct Case {
    std::string_view head;
    bool keep_alive;
  };
  for (const Case& c : {
           Case{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n", false},
           Case{"GET / HTTP/1.0\r\n\r\n", false},
           Case{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
           Case{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
       }) {
    RequestParser p(Limits{});
    ASSERT_EQ(p.parse(c.head), ParseStatus::kDone) << c.head;
    EXPECT_EQ(p.head().keep_alive(), c.keep_alive) << c.head;
  }
}

TEST(RequestParser, HopByHopFields) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
                    "Proxy-Authorization: Basic x\r\nProxy-Foo: y\r\nTE: trailers\r\n"
                    "Upgrade: h2c\r\nConnection: x-secret, upgrade\r\nX-Other: 2\r\n"
                    "Transfer-Encoding: chunked\r\nTrailer: x-amz-checksum-crc32\r\n\r\n"),
            ParseStatus::kDone)
      << error_name(p.error());
  std::string kept;
  for (size_t i = 0; i < p.head().header_count(); ++i) {
    HeaderField f = p.head().header(i);
    if (!f.hop_by_hop) kept += std::string(f.name) + ",";
  }
  EXPECT_EQ(kept, "Host,X-Other,Transfer-Encoding,Trailer,");
  EXPECT_TRUE(p.head().has_upgrade());
  EXPECT_EQ(p.head().body_kind(), BodyKind::kChunked);
}

TEST(RequestParser, ExpectContinue) {
  RequestParser p(Limits{});
  ASSERT_EQ(p.parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"),
            ParseStatus::kDone);
  EXPECT_FALSE(p.head().expect_continue());  // ignored in HTTP/1.0 (RFC 9110 10.1.1)
  p.reset();
  EXPECT_EQ(p.parse("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"), ParseStatus::kError);
  EXPECT_EQ(p.error(), Error::kUnsupportedExpectation);
  EXPECT_EQ(error_status_code(p.error()), 417);
}

TEST(RequestParser, ValuesAreTrimmedAndMayHoldObsText) {
  RequestParser p(Limits{});
  ASSERT_EQ(
      p.parse("GET / HTTP/1.1\r\nHost:h\r\nX-A: \t a b \t \r\nX-B:\r\nX-C: caf\xc3\xa9\r\n\r\n"),
      ParseStatus::kDone);
  EXPECT_EQ(p.head().find("x-a"), "a b");
  EXPECT_EQ(p.head().find("X-B"), "");
  EXPECT_EQ(p.head().find("x-c"), "caf\xc3\xa9");
  EXPECT_EQ(p.head().host(), "h");
}

TEST(RequestParser, Limits) {
  Limits l;
  l.head_bytes_max = 64;
  l.header_count_max = 2;
  l.header_name_bytes_max = 4;
  l.header_value_bytes_max = 8;
  struct Case {
    std::string head;
    Error error;
  };
  for (const Case& c : {
           Case{"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", Error::kTooManyHeaders},
           Case{"GET / HTTP/1.1\r\nHost: h\r\nAbcde: 1\r\n\r\n", Error::kHeaderNameTooLong},
           Case{"GET / HTTP/1.1\r\nHost: 123456789\r\n\r\n", Error::kHeaderValueTooLong},
           Case{"GET /" + std::string(80, 'a') + " HTTP/1.1\r\n\r\n", Error::kHeadTooLarge},
       }) {
    RequestParser p(l);
    EXPECT_EQ(p.parse(c.head), ParseStatus::kError) << c.head;
    EXPECT_EQ(p.error(), c.error) << c.head << " " << error_name(p.error());
  }
  // Exactly head_bytes_max is accepted; one byte more is not, even before the end arrives.
  std::string exact = "GET /" + std::string(37, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  ASSERT_EQ(exact.size(), 64u);
  RequestParser ok(l);
  EXPECT_EQ(ok.parse(exact), ParseStatus::kDone) << error_name(ok.error());
  RequestParser over(l);
  std::string longer = "GET /" + std::string(38, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(over.parse(longer), ParseStatus::kError);
  EXPECT_EQ(over.error(), Error::kHeadTooLarge);
  EXPECT_EQ(error_status_code(over.error()), 431);
}

TEST(RequestParser, ErrorsAreSticky) {
  RequestParser p(Limits{});
  EXPECT_EQ(p.parse("GET / HTTP/1.1\n"), ParseStatus::kError);
  EXPECT_EQ(p.parse("GET / HTTP/1.1\nHost: h\r\n\r\n"), ParseStatus::kError);
  EXPECT_EQ(p.error(), Error::kBareLf);
  EXPECT_FALSE(error_message(p.error()).empty());
  p.reset();
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), ParseStatus::kDone);
}

}  // namespace
}  // namespace pamproxy::http
