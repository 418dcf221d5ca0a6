#pragma once
// Every way an HTTP/1.1 message can be refused by the codec, each with its own code and a fixed
// message (safe to log and to send back: it never quotes the offending bytes). Codes are stable
// names for logs and tests; `status_code` suggests the answer a server would give.

#include <cstdint>
#include <string_view>

namespace pamproxy::http {

enum class Error : uint8_t {
  kNone = 0,
  // Sizes.
  kHeadTooLarge,
  kTooManyHeaders,
  kHeaderNameTooLong,
  kHeaderValueTooLong,
  // Bytes and lines.
  kBareLf,
  kBareCr,
  kNulByte,
  kControlChar,
  kObsFold,
  // Start lines.
  kBadMethod,
  kBadTarget,
  kBadVersion,
  kUnsupportedVersion,
  kBadRequestLine,
  kBadStatusLine,
  kBadStatusCode,
  kBadConnectTarget,
  kTargetFormMismatch,
  // Field lines.
  kWhitespaceBeforeColon,
  kEmptyHeaderName,
  kBadHeaderName,
  kMissingColon,
  kMissingHost,
  kDuplicateHost,
  // Framing of the head.
  kBadContentLength,
  kContentLengthOverflow,
  kDifferingContentLength,
  kDuplicateContentLength,
  kContentLengthWithTransferEncoding,
  kBadTransferEncoding,
  kUnsupportedTransferCoding,
  kChunkedNotFinal,
  kChunkedRepeated,
  kTransferEncodingHttp10,
  kUnsupportedExpectation,
  kConnectWithBody,
  // Chunked bodies.
  kBadChunkSize,
  kChunkSizeOverflow,
  kBadChunkExtension,
  kChunkLineTooLong,
  kBadChunkTerminator,
  kBadTrailer,
  kTrailerTooLarge,
  // aws-chunked bodies.
  kBadChunkSignature,
  kMissingChunkSignature,
  kBadAwsTrailer,
  // End of stream.
  kTruncatedBody,
  // Serializer.
  kBadHeaderForOutput,
  kOutputTooSmall,
  kCount_,  // keep last
};

// A sentence without a trailing period, e.g. "Content-Length together with Transfer-Encoding".
std::string_view error_message(Error e);
// Stable snake_case name for logs and tests, e.g. "content_length_with_transfer_encoding".
std::string_view error_name(Error e);
// The status a server answers with when a request fails this way (400, 413, 417, 431, 501, 505).
int error_status_code(Error e);

}  // namespace pamproxy::http
