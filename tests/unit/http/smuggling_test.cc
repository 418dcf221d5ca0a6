// Request smuggling cases (CL.TE, TE.CL, TE.TE obfuscations, duplicate Content-Length, bytes and
// lines that parsers disagree on), each with the verdict pamproxy must reach. A message accepted
// here is framed exactly one way; everything ambiguous is refused with its own error.

#include <gtest/gtest.h>

#include <string>

#include "pamproxy/http/request_parser.h"

namespace pamproxy::http {
namespace {

struct Case {
  const char* name;
  std::string head;  // from the first header after "POST / HTTP/1.1\r\nHost: h\r\n"
  Error error;       // kNone: accepted with `kind`
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

class Smuggling : public ::testing::TestWithParam<Case> {};

TEST_P(Smuggling, Verdict) {
  const Case& c = GetParam();
  const std::string wire = "POST / HTTP/1.1\r\nHost: h\r\n" + c.head + "\r\n";
  RequestParser p(Limits{});
  ParseStatus s = p.parse(wire);
  if (c.error == Error::kNone) {
    ASSERT_EQ(s, ParseStatus::kDone) << error_name(p.error());
    EXPECT_EQ(p.head().body_kind(), c.kind);
    EXPECT_EQ(p.head().content_length(), c.length);
  } else {
    ASSERT_EQ(s, ParseStatus::kError);
    EXPECT_EQ(error_name(p.error()), error_name(c.error));
  }
  // The same verdict when the bytes arrive one at a time.
  RequestParser q(Limits{});
  ParseStatus t = ParseStatus::kIncomplete;
  for (size_t n = 1; n <= wire.size() && t == ParseStatus::kIncomplete; ++n) {
    t = q.parse(std::string_view(wire).substr(0, n));
  }
  EXPECT_EQ(t, s);
  EXPECT_EQ(q.error(), p.error());
}

const Case kCases[] = {
    // Accepted, one framing only.
    {"plain_cl", "Content-Length: 10\r\n", Error::kNone, BodyKind::kContentLength, 10},
    {"cl_zero", "Content-Length: 0\r\n", Error::kNone, BodyKind::kContentLength, 0},
    {"cl_leading_zeros", "Content-Length: 007\r\n", Error::kNone, BodyKind::kContentLength, 7},
    {"plain_te", "Transfer-Encoding: chunked\r\n", Error::kNone, BodyKind::kChunked},
    {"te_upper", "Transfer-Encoding: CHUNKED\r\n", Error::kNone, BodyKind::kChunked},
    {"te_ows", "Transfer-Encoding: \t chunked \t\r\n", Error::kNone, BodyKind::kChunked},
    {"no_framing", "X: y\r\n", Error::kNone, BodyKind::kNone},
    {"te_lookalike_name_is_just_a_field", "Transfer_Encoding: chunked\r\n", Error::kNone,
     BodyKind::kNone},
    // CL.TE and TE.CL: both present.
    {"cl_te", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
     Error::kContentLengthWithTransferEncoding},
    {"te_cl", "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n",
     Error::kContentLengthWithTransferEncoding},
    {"cl_te_zero", "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
     Error::kContentLengthWithTransferEncoding},
    // TE.TE obfuscations.
    {"te_space_before_colon", "Transfer-Encoding : chunked\r\n", Error::kWhitespaceBeforeColon},
    {"te_tab_before_colon", "Transfer-Encoding\t: chunked\r\n", Error::kWhitespaceBeforeColon},
    {"te_xchunked", "Transfer-Encoding: xchunked\r\n", Error::kUnsupportedTransferCoding},
    {"te_chunked_suffix", "Transfer-Encoding: chunkedx\r\n", Error::kUnsupportedTransferCoding},
    {"te_quoted", "Transfer-Encoding: \"chunked\"\r\n", Error::kBadTransferEncoding},
    {"te_identity", "Transfer-Encoding: identity\r\n", Error::kUnsupportedTransferCoding},
    {"te_gzip_chunked", "Transfer-Encoding: gzip, chunked\r\n", Error::kUnsupportedTransferCoding},
    {"te_chunked_gzip", "Transfer-Encoding: chunked, gzip\r\n", Error::kChunkedNotFinal},
    {"te_chunked_chunked", "Transfer-Encoding: chunked, chunked\r\n", Error::kChunkedRepeated},
    {"te_two_fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
     Error::kChunkedNotFinal},
    {"te_two_fields_chunked", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
     Error::kChunkedRepeated},
    {"te_empty", "Transfer-Encoding:\r\n", Error::kBadTransferEncoding},
    {"te_empty_element", "Transfer-Encoding: ,chunked\r\n", Error::kBadTransferEncoding},
    {"te_param", "Transfer-Encoding: chunked;q=1\r\n", Error::kBadTransferEncoding},
    {"te_vertical_tab",
     "Transfer-Encoding: \x0b"
     "chunked\r\n",
     Error::kControlChar},
    {"te_obs_fold", "Transfer-Encoding:\r\n chunked\r\n", Error::kObsFold},
    {"te_nul", std::string("Transfer-Encoding: chunked\0\r\n", 29), Error::kNulByte},
    {"te_bare_cr", "Transfer-Encoding: chunked\rX: y\r\n", Error::kBareCr},
    {"te_bare_lf_line", "X: y\nTransfer-Encoding: chunked\r\n", Error::kBareLf},
    {"te_in_name_with_nul", std::string("Transfer-Encoding\0: chunked\r\n", 29), Error::kNulByte},
    // Content-Length tricks.
    {"cl_duplicate_equal", "Content-Length: 5\r\nContent-Length: 5\r\n",
     Error::kDuplicateContentLength},
    {"cl_duplicate_differing", "Content-Length: 5\r\nContent-Length: 6\r\n",
     Error::kDifferingContentLength},
    {"cl_list", "Content-Length: 5, 5\r\n", Error::kBadContentLength},
    {"cl_plus", "Content-Length: +5\r\n", Error::kBadContentLength},
    {"cl_minus", "Content-Length: -1\r\n", Error::kBadContentLength},
    {"cl_hex", "Content-Length: 0x10\r\n", Error::kBadContentLength},
    {"cl_inner_space", "Content-Length: 1 0\r\n", Error::kBadContentLength},
    {"cl_empty", "Content-Length:\r\n", Error::kBadContentLength},
    {"cl_overflow", "Content-Length: 99999999999999999999999\r\n", Error::kContentLengthOverflow},
    {"cl_2_64", "Content-Length: 18446744073709551616\r\n", Error::kContentLengthOverflow},
    {"cl_space_before_colon", "Content-Length : 5\r\n", Error::kWhitespaceBeforeColon},
    {"cl_obs_fold", "Content-Length: 5\r\n 6\r\n", Error::kObsFold},
    // Other head bytes that desynchronize parsers.
    {"bare_lf_terminator", "X: y\n\r\n", Error::kBareLf},
    {"del_in_value",
     "X: a\x7f"
     "b\r\n",
     Error::kControlChar},
    {"empty_name", ": x\r\n", Error::kEmptyHeaderName},
    {"no_colon", "Xy\r\n", Error::kMissingColon},
    {"bad_name_char", "X(y): z\r\n", Error::kBadHeaderName},
    {"duplicate_host", "Host: other\r\n", Error::kDuplicateHost},
    {"expect_other", "Expect: 100-continue, foo\r\n", Error::kUnsupportedExpectation},
};

INSTANTIATE_TEST_SUITE_P(Table, Smuggling, ::testing::ValuesIn(kCases),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SmugglingStartLine, Verdicts) {
  struct Line {
    std::string wire;
    Error error;
  };
  for (const Line& c : {
           Line{"GET / HTTP/1.1\r\n\r\n", Error::kMissingHost},
           Line{"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::kTransferEncodingHttp10},
           Line{"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadRequestLine},
           Line{"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", Error::kBadRequestLine},
           Line{"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadRequestLine},
           Line{"GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadMethod},
           Line{"GET /\t HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadTarget},
           Line{"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadTarget},
           Line{"GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadTarget},
           Line{"GET /#frag HTTP/1.1\r\nHost: h\r\n\r\n", Error::kBadTarget},
           Line{"GET / HTTP/1.2\r\nHost: h\r\n\r\n", Error::kUnsupportedVersion},
           Line{"GET / HTTP/2.0\r\nHost: h\r\n\r\n", Error::kUnsupportedVersion},
           Line{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Error::kUnsupportedVersion},
           Line{"GET / HTTP/1.10\r\nHost: h\r\n\r\n", Error::kBadVersion},
           Line{"GET / http/1.1\r\nHost: h\r\n\r\n", Error::kBadVersion},
           Line{"GET /\r\nHost: h\r\n\r\n", Error::kBadRequestLine},
           Line{"GET / HTTP/1.1\r\n Host: h\r\n\r\n", Error::kObsFold},
           Line{"GET / HTTP/1.1\rHost: h\r\n\r\n", Error::kBareCr},
           Line{"CONNECT h:443 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
                Error::kConnectWithBody},
           Line{"CONNECT h:443 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                Error::kConnectWithBody},
       }) {
    RequestParser p(Limits{});
    EXPECT_EQ(p.parse(c.wire), ParseStatus::kError) << c.wire;
    EXPECT_EQ(error_name(p.error()), error_name(c.error)) << c.wire;
  }
}

}  // namespace
}  // namespace pamproxy::http
