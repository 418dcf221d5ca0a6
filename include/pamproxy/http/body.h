#pragma once
// Streaming body de-framer for HTTP/1.1 messages (RFC 9112 sections 6 and 7): Content-Length,
// chunked (extensions and trailers), until-close, none. It never copies: each call classifies a
// prefix of the caller's bytes as body data or framing, so a proxy can forward the bytes as they
// are (framing included) and still know exactly where the message ends and what is payload.
//
//   BodyDecoder body(limits);
//   body.reset(head.body_kind(), head.content_length());
//   while (!body.done()) {
//     BodyStep s = body.next(bytes);           // bytes: what has arrived and is not yet classified
//     switch (s.kind) {
//       case BodyStep::kNeedMore: read more; break;
//       case BodyStep::kData: payload is bytes[0, s.bytes); break;
//       case BodyStep::kFraming: chunk lines, CRLFs, trailers; break;
//       case BodyStep::kDone: bytes[0, s.bytes) are the message's last framing bytes; break;
//       case BodyStep::kError: refuse with body.error(); break;
//     }
//     bytes.remove_prefix(s.bytes);            // whatever follows belongs to the next message
//   }
//   at end of stream: body.finish_at_eof()     // ok only for an until-close body once done
//
// State lives in the decoder, so the input may be split anywhere (one byte at a time works); a
// step never covers more than the input it was given. No allocation, no I/O.
//
// Chunked decisions (strict where parsers are known to disagree): the chunk size is 1*HEXDIG with
// no whitespace and no sign, at most 2^62; extensions are `;name[=token|quoted-string]` without
// whitespace; every line ends with CRLF (bare LF or CR refused); chunk data must be followed by
// CRLF; trailer fields follow the rules of header fields and the limits of a head.

#include <cstdint>
#include <string_view>

#include "pamproxy/http/chunk_line.h"
#include "pamproxy/http/error.h"
#include "pamproxy/http/head_fields.h"
#include "pamproxy/http/limits.h"

namespace pamproxy::http {

struct BodyStep {
  enum Kind : uint8_t { kNeedMore, kData, kFraming, kDone, kError };
  Kind kind = kNeedMore;
  size_t bytes = 0;  // length of the input prefix this step covers
  // kFraming that ends a chunk-size line: the size it announced (0 for the last chunk).
  bool chunk_line_end = false;
  uint64_t chunk_size = 0;
};

class BodyDecoder {
 public:
  explicit BodyDecoder(const Limits& limits) : limits_(limits) {}
  void reset(BodyKind kind, uint64_t content_length);

  BodyStep next(std::string_view in);
  bool done() const { return state_ == State::kDone; }
  Error error() const { return error_; }
  // The connection ended (no more bytes will come): kNone if that ends the body cleanly (an
  // until-close body, or a body already done), else kTruncatedBody.
  Error finish_at_eof();

  // Positions in the message body, counted from its first byte (framing included), for a caller
  // that rewrites chunk lines: where the current or last chunk-size line began, and where its
  // extensions began (equal to the line's CR when it has none).
  uint64_t offset() const { return offset_; }
  uint64_t chunk_line_offset() const { return line_offset_; }
  uint64_t chunk_ext_offset() const { return ext_offset_; }
  // Payload bytes still expected in the current chunk or Content-Length body.
  uint64_t remaining() const { return remaining_; }

 private:
  enum class State : uint8_t {
    kLength,       // Content-Length data
    kUntilClose,   // data until the connection ends
    kLine,         // a chunk-size line (ChunkLine)
    kData,         // chunk data
    kDataCr,       // CR after chunk data
    kDataLf,       // LF after chunk data
    kTrailerLine,  // start of a trailer line: CR (end) or a name
    kTrailerName,
    kTrailerValue,
    kTrailerLf,  // LF ending a trailer field line
    kEndLf,      // LF ending the message
    kDone,
    kError,
  };
  BodyStep framing(std::string_view in);
  BodyStep fail(Error e);

  Limits limits_;
  State state_ = State::kDone;
  Error error_ = Error::kNone;
  uint64_t remaining_ = 0;
  uint64_t offset_ = 0;
  uint64_t line_offset_ = 0;
  uint64_t ext_offset_ = 0;
  ChunkLine line_;
  uint32_t line_bytes_ = 0;     // bytes of the current trailer line
  uint32_t trailer_bytes_ = 0;  // bytes of the trailer section so far
  uint32_t trailer_count_ = 0;
};

}  // namespace pamproxy::http
