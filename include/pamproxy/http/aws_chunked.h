#pragma once
// De-framer for the aws-chunked content coding of S3 streaming uploads: the format *inside* an
// HTTP body sent with `Content-Encoding: aws-chunked` (the HTTP body itself is framed by
// Content-Length or chunked; feed this decoder the payload bytes BodyDecoder reports as data).
//
//   signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
//     hex-size ";chunk-signature=" 64*lowercase-hex CRLF data CRLF  ...
//     "0;chunk-signature=" sig CRLF [ trailer-field CRLF ... "x-amz-trailer-signature:" sig CRLF ]
//     CRLF
//   unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER):
//     hex-size CRLF data CRLF ... "0" CRLF [ trailer-field CRLF ... ] CRLF
//
// Like BodyDecoder, each call classifies a prefix of the input and never copies. The 64 hex
// digits of each chunk-signature and of x-amz-trailer-signature come as their own steps (split
// anywhere the input is split; `sig_offset` says where in the 64 a step starts), so a proxy can
// verify them and overwrite them in place with a signature of the same length. Trailer field
// bytes ("x-amz-checksum-crc32:AAAA==", without CRLF) come as kTrailerField steps; the step that
// ends a line has `line_end` set. The name of the trailer signature line
// ("x-amz-trailer-signature:") also comes as kTrailerField, since the decoder only knows what the
// line is at its colon: a caller hashing the trailer fields keeps the current line aside and drops
// it when its value arrives as kTrailerSignature. Chunk data comes as kData.

#include <cstdint>
#include <string_view>

#include "pamproxy/http/chunk_line.h"
#include "pamproxy/http/error.h"
#include "pamproxy/http/limits.h"

namespace pamproxy::http {

struct AwsChunkedStep {
  enum Kind : uint8_t {
    kNeedMore,
    kData,
    kFraming,
    kChunkSignature,    // bytes of a chunk-signature value
    kTrailerField,      // bytes of a trailer field line other than the trailer signature
    kTrailerSignature,  // bytes of the x-amz-trailer-signature value
    kDone,
    kError,
  };
  Kind kind = kNeedMore;
  size_t bytes = 0;
  bool line_end = false;    // this step consumed the LF ending a chunk line or a trailer line
  uint64_t chunk_size = 0;  // with line_end on a chunk line: its size (0: the last chunk)
  uint32_t sig_offset = 0;  // signature steps: index of the first byte among the 64
};

class AwsChunkedDecoder {
 public:
  static constexpr uint32_t kSignatureHexBytes = ChunkLine::kSignatureHexBytes;

  explicit AwsChunkedDecoder(const Limits& limits) : limits_(limits) {}
  // signed_chunks: every chunk line carries a chunk-signature (and no other extension).
  // trailer: trailer fields follow the last chunk; with signed_chunks the trailer section must
  // end with x-amz-trailer-signature.
  void reset(bool signed_chunks, bool trailer);

  AwsChunkedStep next(std::string_view in);
  bool done() const { return state_ == State::kDone; }
  Error error() const { return error_; }
  // Decoded payload bytes so far (what x-amz-decoded-content-length counts).
  uint64_t decoded_bytes() const { return decoded_bytes_; }

 private:
  enum class State : uint8_t {
    kLine,  // a chunk-size line (ChunkLine)
    kData,
    kDataCr,
    kDataLf,
    kTrailerLine,
    kTrailerName,
    kTrailerValue,
    kTrailerSig,
    kTrailerCr,  // CR after the trailer signature
    kTrailerLf,
    kEndLf,
    kDone,
    kError,
  };
  AwsChunkedStep framing(std::string_view in);
  AwsChunkedStep fail(Error e);

  Limits limits_;
  State state_ = State::kDone;
  Error error_ = Error::kNone;
  bool signed_ = false;
  bool trailer_ = false;
  bool trailer_sig_seen_ = false;
  bool name_matches_ = false;  // the trailer name so far is a prefix of x-amz-trailer-signature
  uint32_t match_ = 0;         // bytes matched of the trailer name, then of the trailer signature
  ChunkLine line_;
  uint32_t trailer_bytes_ = 0;
  uint32_t trailer_count_ = 0;
  uint64_t size_ = 0;  // announced size of the current chunk, then bytes left of it
  uint64_t decoded_bytes_ = 0;
};

}  // namespace pamproxy::http
