#include <gtest/gtest.h>

#include <string>

#include "pamproxy/http/body.h"

namespace pamproxy::http {
namespace {

struct Outcome {
  bool done = false;
  Error error = Error::kNone;
  std::string data;
  size_t end = 0;  // bytes of the input that belong to this message
  std::vector<uint64_t> sizes;
};

// Feeds `wire` in slices of `slice` bytes (as a socket would), the way a proxy loop does.
Outcome decode(std::string_view wire, BodyKind kind, uint64_t length, size_t slice,
               Limits limits = {}) {
  BodyDecoder d(limits);
  d.reset(kind, length);
  Outcome o;
  size_t avail = 0, pos = 0;
  while (!d.done()) {
    BodyStep s = d.next(wire.substr(pos, avail - pos));
    if (s.kind == BodyStep::kError) {
      o.error = d.error();
      return o;
    }
    if (s.kind == BodyStep::kNeedMore) {
      if (avail == wire.size()) {
        o.error = d.finish_at_eof();
        break;
      }
      avail = std::min(wire.size(), avail + slice);
      continue;
    }
    EXPECT_LE(s.bytes, avail - pos);
    if (s.kind == BodyStep::kData) o.data.append(wire.substr(pos, s.bytes));
    if (s.chunk_line_end) o.sizes.push_back(s.chunk_size);
    pos += s.bytes;
  }
  o.done = d.done();
  o.end = pos;
  EXPECT_EQ(d.offset(), pos);
  return o;
}

TEST(BodyDecoder, ContentLength) {
  for (size_t slice : {1, 3, 1000}) {
    Outcome o = decode("helloGET / HTTP/1.1\r\n", BodyKind::kContentLength, 5, slice);
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.data, "hello");
    EXPECT_EQ(o.end, 5u);
  }
  Outcome none = decode("GET /", BodyKind::kNone, 0, 10);
  EXPECT_TRUE(none.done);
  EXPECT_EQ(none.end, 0u);
  Outcome truncated = decode("hel", BodyKind::kContentLength, 5, 2);
  EXPECT_EQ(truncated.error, Error::kTruncatedBody);
}

TEST(BodyDecoder, UntilClose) {
  Outcome o = decode("all of it", BodyKind::kUntilClose, 0, 4);
  EXPECT_EQ(o.error, Error::kNone);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.data, "all of it");
}

TEST(BodyDecoder, ChunkedWithExtensionsAndTrailers) {
  const std::string wire =
      "5;name=value;flag;q=\"a \\\" b\"\r\nhello\r\n"
      "A\r\n0123456789\r\n"
      "0\r\nx-amz-checksum-crc32: AAAAAA==\r\nX-Other:v\r\n\r\n"
      "NEXT";
  for (size_t slice : {1, 2, 7, 4096}) {
    Outcome o = decode(wire, BodyKind::kChunked, 0, slice);
    EXPECT_TRUE(o.done) << slice << " " << error_name(o.error);
    EXPECT_EQ(o.data, "hello0123456789") << slice;
    EXPECT_EQ(o.end, wire.size() - 4) << slice;
    EXPECT_EQ(o.sizes, (std::vector<uint64_t>{5, 10, 0})) << slice;
  }
}

TEST(BodyDecoder, ReportsChunkLinePositions) {
  const std::string wire = "3;chunk-signature=abc\r\nxyz\r\n0\r\n\r\n";
  BodyDecoder d(Limits{});
  d.reset(BodyKind::kChunked, 0);
  BodyStep s = d.next(wire);
  ASSERT_EQ(s.kind, BodyStep::kFraming);
  EXPECT_TRUE(s.chunk_line_end);
  EXPECT_EQ(s.chunk_size, 3u);
  EXPECT_EQ(s.bytes, 23u);
  EXPECT_EQ(d.chunk_line_offset(), 0u);
  EXPECT_EQ(d.chunk_ext_offset(), 1u);
  EXPECT_EQ(wire.substr(d.chunk_ext_offset(), 21 - 1), ";chunk-signature=abc");
  s = d.next(std::string_view(wire).substr(23));
  ASSERT_EQ(s.kind, BodyStep::kData);
  EXPECT_EQ(s.bytes, 3u);
  s = d.next(std::string_view(wire).substr(26));
  ASSERT_EQ(s.kind, BodyStep::kFraming);
  EXPECT_EQ(d.chunk_line_offset(), 28u);
  EXPECT_EQ(d.chunk_ext_offset(), 29u);  // no extension: the CR
}

TEST(BodyDecoder, LargeChunksPassAsOneDataStep) {
  std::string wire = "10000\r\n" + std::string(65536, 'x') + "\r\n0\r\n\r\n";
  BodyDecoder d(Limits{});
  d.reset(BodyKind::kChunked, 0);
  BodyStep s = d.next(wire);
  EXPECT_EQ(s.chunk_size, 65536u);
  s = d.next(std::string_view(wire).substr(7));
  EXPECT_EQ(s.kind, BodyStep::kData);
  EXPECT_EQ(s.bytes, 65536u);
}

// Chunk-size and terminator tricks: each must be refused with its error.
TEST(BodyDecoder, ChunkedSmugglingTricks) {
  struct Case {
    std::string wire;
    Error error;
  };
  for (const Case& c : {
           Case{"0x5\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"+5\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"-5\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{" 5\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"5 \r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"5 ;a\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"\r\n5\r\nhello\r\n0\r\n\r\n", Error::kBadChunkSize},
           Case{"g\r\n", Error::kBadChunkSize},
           Case{"5\nhello\r\n0\r\n\r\n", Error::kBareLf},
           Case{"5\rhello\r\n0\r\n\r\n", Error::kBareCr},
           Case{"5\r\nhello\n0\r\n\r\n", Error::kBadChunkTerminator},
           Case{"5\r\nhelloXX\r\n0\r\n\r\n", Error::kBadChunkTerminator},
           Case{"3\r\nhello\r\n0\r\n\r\n", Error::kBadChunkTerminator},
           Case{"10000000000000000\r\n", Error::kChunkSizeOverflow},
           Case{"fffffffffffffffff0\r\n", Error::kChunkSizeOverflow},
           Case{"5;\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5; a=b\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5;a =b\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5;a=\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5;a=\"x\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"5;a\nhello\r\n0\r\n\r\n", Error::kBareLf},
           Case{"5;a\x01\r\nhello\r\n0\r\n\r\n", Error::kBadChunkExtension},
           Case{"0\r\nX : y\r\n\r\n", Error::kBadTrailer},
           Case{"0\r\n y\r\n\r\n", Error::kBadTrailer},
           Case{"0\r\nX: a\x01\r\n\r\n", Error::kBadTrailer},
           Case{"0\r\nX: y\n\r\n", Error::kBareLf},
           Case{"0\r\n\n", Error::kBareLf},
           Case{"0\r\n\rX", Error::kBareCr},
           Case{"0\r\nXy\r\n\r\n", Error::kBadTrailer},
       }) {
    for (size_t slice : {1, 64}) {
      Outcome o = decode(c.wire, BodyKind::kChunked, 0, slice);
      EXPECT_FALSE(o.done) << c.wire;
      EXPECT_EQ(error_name(o.error), error_name(c.error)) << c.wire << " slice " << slice;
    }
  }
}

TEST(BodyDecoder, LeadingZerosAreOneSize) {
  Outcome o = decode("0000000000000000000005\r\nhello\r\n0\r\n\r\n", BodyKind::kChunked, 0, 3);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.data, "hello");
}

TEST(BodyDecoder, Limits) {
  Limits l;
  l.chunk_line_bytes_max = 16;
  l.head_bytes_max = 40;
  l.header_count_max = 2;
  Outcome line =
      decode("5;" + std::string(20, 'a') + "\r\nhello\r\n0\r\n\r\n", BodyKind::kChunked, 0, 5, l);
  EXPECT_EQ(line.error, Error::kChunkLineTooLong);
  Outcome count = decode("0\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", BodyKind::kChunked, 0, 5, l);
  EXPECT_EQ(count.error, Error::kTrailerTooLarge);
  Outcome bytes =
      decode("0\r\na: " + std::string(50, 'v') + "\r\n\r\n", BodyKind::kChunked, 0, 5, l);
  EXPECT_EQ(bytes.error, Error::kTrailerTooLarge);
  Outcome truncated = decode("5\r\nhel", BodyKind::kChunked, 0, 5, l);
  EXPECT_EQ(truncated.error, Error::kTruncatedBody);
}

}  // namespace
}  // namespace pamproxy::http
