#include <gtest/gtest.h>

#include <string>

#include "pamproxy/http/aws_chunked.h"

namespace pamproxy::http {
namespace {

const std::string kSigA(64, 'a');
const std::string kSigB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kSigT(64, 'e');

struct Seen {
  std::string data;
  std::string chunk_sigs;  // concatenated
  std::string trailer;     // trailer field bytes, '|' at each line end
  std::string trailer_sig;
  std::vector<uint64_t> sizes;
  Error error = Error::kNone;
  bool done = false;
  size_t end = 0;
};

Seen run(std::string& wire, bool signed_chunks, bool trailer, size_t slice,
         const std::string& replacement = "") {
  AwsChunkedDecoder d(Limits{});
  d.reset(signed_chunks, trailer);
  Seen s;
  size_t pos = 0, avail = 0;
  while (!d.done()) {
    AwsChunkedStep st = d.next(std::string_view(wire).substr(pos, avail - pos));
    if (st.kind == AwsChunkedStep::kError) {
      s.error = d.error();
      return s;
    }
    if (st.kind == AwsChunkedStep::kNeedMore) {
      if (avail == wire.size()) return s;
      avail = std::min(wire.size(), avail + slice);
      continue;
    }
    std::string_view bytes = std::string_view(wire).substr(pos, st.bytes);
    switch (st.kind) {
      case AwsChunkedStep::kData: s.data.append(bytes); break;
      case AwsChunkedStep::kChunkSignature:
        EXPECT_EQ(st.sig_offset, s.chunk_sigs.size() % 64);
        s.chunk_sigs.append(bytes);
        // Rewrite in place, as the proxy does, with a signature of the same length.
        if (!replacement.empty()) wire.replace(pos, st.bytes, replacement, st.sig_offset, st.bytes);
        break;
      case AwsChunkedStep::kTrailerField: s.trailer.append(bytes); break;
      case AwsChunkedStep::kTrailerSignature: s.trailer_sig.append(bytes); break;
      default: break;
    }
    if (st.line_end && st.kind != AwsChunkedStep::kTrailerField) {
      if (!s.trailer.empty() || s.sizes.empty() || s.sizes.back() != 0) {
        s.sizes.push_back(st.chunk_size);
      }
    }
    if (st.line_end && s.sizes.size() > 0 && s.sizes.back() == 0 && !s.trailer.empty() &&
        s.trailer.back() != '|') {
      s.trailer += '|';
    }
    pos += st.bytes;
  }
  s.done = true;
  s.end = pos;
  return s;
}

TEST(AwsChunkedDecoder, SignedWithTrailer) {
  const std::string original =
      "5;chunk-signature=" + kSigA + "\r\nhello\r\n" + "0;chunk-signature=" + kSigB + "\r\n" +
      "x-amz-checksum-crc32:NhCmhg==\r\n" + "x-amz-trailer-signature:" + kSigT + "\r\n\r\n";
  for (size_t slice : {1, 5, 33, 4096}) {
    std::string wire = original;
    const std::string replacement(64, 'f');
    Seen s = run(wire, true, true, slice, replacement);
    ASSERT_TRUE(s.done) << slice << " " << error_name(s.error);
    EXPECT_EQ(s.data, "hello");
    EXPECT_EQ(s.chunk_sigs, kSigA + kSigB) << slice;
    // The signature line's name is field bytes: the decoder learns what the line is at its colon.
    EXPECT_EQ(s.trailer, "x-amz-checksum-crc32:NhCmhg==|x-amz-trailer-signature:|") << slice;
    EXPECT_EQ(s.trailer_sig, kSigT) << slice;
    EXPECT_EQ(s.end, wire.size());
    // Rewritten in place: same length, only signature bytes changed.
    std::string expected = original;
    expected.replace(18, 64, replacement);
    expected.replace(18 + 64 + 9 + 18, 64, replacement);
    EXPECT_EQ(wire, expected) << slice;
  }
}

TEST(AwsChunkedDecoder, SignedWithoutTrailer) {
  std::string wire =
      "3;chunk-signature=" + kSigA + "\r\nabc\r\n0;chunk-signature=" + kSigB + "\r\n\r\n";
  Seen s = run(wire, true, false, 7);
  ASSERT_TRUE(s.done) << error_name(s.error);
  EXPECT_EQ(s.data, "abc");
  EXPECT_EQ(s.chunk_sigs, kSigA + kSigB);
}

TEST(AwsChunkedDecoder, UnsignedWithTrailerAsBotocoreSendsIt) {
  std::string wire = "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  Seen s = run(wire, false, true, 3);
  ASSERT_TRUE(s.done) << error_name(s.error);
  EXPECT_EQ(s.data, "hello world");
  EXPECT_EQ(s.trailer, "x-amz-checksum-crc32:DUoRhQ==|");
  EXPECT_TRUE(s.chunk_sigs.empty());
}

TEST(AwsChunkedDecoder, Refusals) {
  struct Case {
    std::string wire;
    bool signed_chunks;
    bool trailer;
    Error error;
  };
  const std::string upper(64, 'A');
  for (const Case& c : {
           Case{"5\r\nhello\r\n", true, false, Error::kMissingChunkSignature},
           Case{"5;chunk-signatur=" + kSigA + "\r\n", true, false, Error::kMissingChunkSignature},
           Case{"5;chunk-signature=" + upper + "\r\n", true, false, Error::kBadChunkSignature},
           Case{"5;chunk-signature=" + kSigA + "0\r\n", true, false, Error::kBadChunkSignature},
           Case{"5;chunk-signature=abc\r\n", true, false, Error::kBadChunkSignature},
           Case{"5;x=y\r\nhello\r\n", false, true, Error::kBadChunkExtension},
           Case{"5\r\nhelloX\r\n", false, true, Error::kBadChunkTerminator},
           Case{"0\r\nx-amz-checksum-crc32:x\r\n\r\n", false, false, Error::kBadAwsTrailer},
           Case{"0;chunk-signature=" + kSigA + "\r\nx-amz-checksum-crc32:x\r\n\r\n", true, true,
                Error::kBadAwsTrailer},  // signed trailer without its signature
           Case{"0;chunk-signature=" + kSigA + "\r\nx-amz-trailer-signature:" + kSigA +
                    "\r\nx-late:1\r\n\r\n",
                true, true, Error::kBadAwsTrailer},
           Case{"0\r\nx-amz-trailer-signature:" + kSigA + "\r\n\r\n", false, true,
                Error::kBadAwsTrailer},
           Case{"0\r\nx y:1\r\n\r\n", false, true, Error::kBadAwsTrailer},
           Case{"g\r\n", false, true, Error::kBadChunkSize},
           Case{"5\nhello", false, true, Error::kBareLf},
       }) {
    std::string wire = c.wire;
    Seen s = run(wire, c.signed_chunks, c.trailer, 2);
    EXPECT_FALSE(s.done) << c.wire;
    EXPECT_EQ(error_name(s.error), error_name(c.error)) << c.wire;
  }
}

}  // namespace
}  // namespace pamproxy::http
