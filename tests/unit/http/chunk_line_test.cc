// The chunk-size line tokenizer on its own: each syntax's accepted lines with the events they
// produce, each refusal with its error, the bounds, and a line fed after another.

#include "pamproxy/http/chunk_line.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::http {
namespace {

using Result = ChunkLine::Result;

const std::string kSig(64, 'a');

struct Outcome {
  Result last = Result::kMore;
  size_t fed = 0;  // bytes fed up to and including the one that gave `last`
  std::vector<size_t> size_ends, sig_starts, sig_ends;  // where those events came
};

// Feeds `line` until the line ends or is refused.
Outcome feed(ChunkLine& t, std::string_view line) {
  Outcome o;
  for (char c : line) {
    o.last = t.feed(c);
    if (o.last == Result::kSizeEnd) o.size_ends.push_back(o.fed);
    if (o.last == Result::kSignatureStart) o.sig_starts.push_back(o.fed);
    if (o.last == Result::kSignatureEnd) o.sig_ends.push_back(o.fed);
    ++o.fed;
    if (o.last == Result::kEnd || o.last == Result::kError) break;
  }
  return o;
}

Outcome feed(ChunkLineSyntax syntax, std::string_view line, ChunkLine* out = nullptr,
             uint32_t bytes_max = 4096) {
  ChunkLine t;
  t.reset(syntax, bytes_max);
  Outcome o = feed(t, line);
  if (out != nullptr) *out = t;
  return o;
}

Error refusal(ChunkLineSyntax syntax, std::string_view line, uint32_t bytes_max = 4096) {
  ChunkLine t;
  Outcome o = feed(syntax, line, &t, bytes_max);
  EXPECT_EQ(o.last, Result::kError) << line;
  return t.error();
}

TEST(ChunkLine, HttpSizesAndExtensions) {
  ChunkLine t;
  Outcome o = feed(ChunkLineSyntax::kHttp, "1aF\r\n", &t);
  EXPECT_EQ(o.last, Result::kEnd);
  EXPECT_EQ(o.fed, 5u);
  EXPECT_EQ(t.size(), 0x1afu);
  EXPECT_EQ(o.size_ends, std::vector<size_t>{3});  // the CR

  o = feed(ChunkLineSyntax::kHttp, "5;a=b;c;d=\"q\\\"x\";e\r\n", &t);
  EXPECT_EQ(o.last, Result::kEnd);
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(o.size_ends, std::vector<size_t>{1});  // the first ';' only
  EXPECT_TRUE(o.sig_starts.empty());
  EXPECT_EQ(feed(ChunkLineSyntax::kHttp, "0;chunk-signature=abc\r\n").last, Result::kEnd);
  EXPECT_EQ(feed(ChunkLineSyntax::kHttp, "00000000000000000000001\r\n", &t).last, Result::kEnd);
  EXPECT_EQ(t.size(), 1u);
}

TEST(ChunkLine, HttpRefusals) {
  const auto h = ChunkLineSyntax::kHttp;
  EXPECT_EQ(refusal(h, "\r\n"), Error::kBadChunkSize);
  EXPECT_EQ(refusal(h, "x\r\n"), Error::kBadChunkSize);
  EXPECT_EQ(refusal(h, "+5\r\n"), Error::kBadChunkSize);
  EXPECT_EQ(refusal(h, "5 \r\n"), Error::kBadChunkSize);
  EXPECT_EQ(refusal(h, "5\n"), Error::kBareLf);
  EXPECT_EQ(refusal(h, "5\rx"), Error::kBareCr);
  EXPECT_EQ(refusal(h, "5;\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5; a\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a =b\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=b=c\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=b\n"), Error::kBareLf);
  EXPECT_EQ(refusal(h, "5;a\n"), Error::kBareLf);
  EXPECT_EQ(refusal(h, "5;a=\"x\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=\"x\"y\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=\"\\\x7f\"\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(h, "5;a=\"x\"\n"), Error::kBadChunkExtension);
}

TEST(ChunkLine, AwsUnsigned) {
  const auto u = ChunkLineSyntax::kAwsUnsigned;
  ChunkLine t;
  EXPECT_EQ(feed(u, "10000\r\n", &t).last, Result::kEnd);
  EXPECT_EQ(t.size(), 0x10000u);
  EXPECT_EQ(refusal(u, "5;a=b\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(u, "5;chunk-signature=" + kSig + "\r\n"), Error::kBadChunkExtension);
  EXPECT_EQ(refusal(u, "5\n"), Error::kBareLf);
  EXPECT_EQ(refusal(u, "g\r\n"), Error::kBadChunkSize);
}

TEST(ChunkLine, AwsSignedReportsWhereTheSignatureIs) {
  const auto s = ChunkLineSyntax::kAwsSigned;
  ChunkLine t;
  t.reset(s, 4096);
  const std::string line = "400;chunk-signature=" + kSig + "\r\n";
  Outcome o;
  for (char c : line) {
    if (o.fed >= 20 && o.fed < 84) {
      EXPECT_TRUE(t.in_signature()) << o.fed;
      EXPECT_EQ(t.signature_bytes(), o.fed - 20);
    } else {
      EXPECT_FALSE(t.in_signature()) << o.fed;
    }
    o.last = t.feed(c);
    if (o.last == Result::kSignatureStart) o.sig_starts.push_back(o.fed);
    if (o.last == Result::kSignatureEnd) o.sig_ends.push_back(o.fed);
    ++o.fed;
  }
  EXPECT_EQ(o.last, Result::kEnd);
  EXPECT_EQ(t.size(), 0x400u);
  EXPECT_EQ(o.sig_starts, std::vector<size_t>{19});  // the '=' of the literal
  EXPECT_EQ(o.sig_ends, std::vector<size_t>{83});    // the 64th digit
}

TEST(ChunkLine, AwsSignedRefusals) {
  const auto s = ChunkLineSyntax::kAwsSigned;
  EXPECT_EQ(refusal(s, "5\r\n"), Error::kMissingChunkSignature);
  EXPECT_EQ(refusal(s, "5;chunk-signaturf=" + kSig + "\r\n"), Error::kMissingChunkSignature);
  EXPECT_EQ(refusal(s, "5;a=b\r\n"), Error::kMissingChunkSignature);
  EXPECT_EQ(refusal(s, "5;chunk-signature=" + std::string(64, 'A') + "\r\n"),
            Error::kBadChunkSignature);
  EXPECT_EQ(refusal(s, "5;chunk-signature=" + kSig.substr(1) + "\r\n"), Error::kBadChunkSignature);
  EXPECT_EQ(refusal(s, "5;chunk-signature=" + kSig + "a\r\n"), Error::kBadChunkSignature);
  EXPECT_EQ(refusal(s, "5;chunk-signature=" + kSig + "\rx"), Error::kBareCr);
  EXPECT_EQ(refusal(s, "5\n"), Error::kBareLf);
}

TEST(ChunkLine, SizeBound) {
  ChunkLine t;
  // 2^62 is the bound: a size whose next digit would pass it is refused.
  EXPECT_EQ(feed(ChunkLineSyntax::kHttp, "4000000000000000\r\n", &t).last, Result::kEnd);
  EXPECT_EQ(t.size(), uint64_t{1} << 62);
  for (auto syntax : {ChunkLineSyntax::kHttp, ChunkLineSyntax::kAwsUnsigned}) {
    EXPECT_EQ(refusal(syntax, "40000000000000000\r\n"), Error::kChunkSizeOverflow);
    EXPECT_EQ(refusal(syntax, "ffffffffffffffffff\r\n"), Error::kChunkSizeOverflow);
  }
}

TEST(ChunkLine, LineBoundCountsTheCrButNotTheLf) {
  // "5;ab\r" is 5 bytes before the LF.
  EXPECT_EQ(feed(ChunkLineSyntax::kHttp, "5;ab\r\n", nullptr, 5).last, Result::kEnd);
  EXPECT_EQ(refusal(ChunkLineSyntax::kHttp, "5;abc\r\n", 5), Error::kChunkLineTooLong);
  EXPECT_EQ(refusal(ChunkLineSyntax::kAwsUnsigned, "000005\r\n", 6), Error::kChunkLineTooLong);
  const std::string signed_line = "5;chunk-signature=" + kSig + "\r\n";
  const auto before_lf = static_cast<uint32_t>(signed_line.size() - 1);
  EXPECT_EQ(feed(ChunkLineSyntax::kAwsSigned, signed_line, nullptr, before_lf).last, Result::kEnd);
  EXPECT_EQ(refusal(ChunkLineSyntax::kAwsSigned, signed_line, before_lf - 1),
            Error::kChunkLineTooLong);
}

TEST(ChunkLine, ReadyForTheNextLineAndStopsAfterAnError) {
  ChunkLine t;
  t.reset(ChunkLineSyntax::kHttp, 8);
  EXPECT_TRUE(t.at_start());
  EXPECT_EQ(feed(t, "1234567\r\n").last, Result::kEnd);
  EXPECT_TRUE(t.at_start());
  // The bound applies to each line, not to the lines together.
  EXPECT_EQ(feed(t, "abcdef0\r\n").last, Result::kEnd);
  EXPECT_EQ(t.size(), 0xabcdef0u);
  EXPECT_EQ(feed(t, "0\r\n").last, Result::kEnd);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(feed(t, "z").last, Result::kError);
  EXPECT_EQ(t.error(), Error::kBadChunkSize);
  EXPECT_EQ(t.feed('1'), Result::kError);
  EXPECT_EQ(t.error(), Error::kBadChunkSize);
  t.reset(ChunkLineSyntax::kHttp, 8);
  EXPECT_EQ(t.error(), Error::kNone);
  EXPECT_EQ(feed(t, "1\r\n").last, Result::kEnd);
}

}  // namespace
}  // namespace pamproxy::http
