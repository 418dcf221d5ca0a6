#pragma once
// The payload modes of x-amz-content-sha256 and what the proxy must do with each body: a hex hash,
// UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER streams through untouched (the service
// checks the hash or the trailer); signed aws-chunked bodies stream with each chunk signature
// checked and replaced in place; SigV4a is refused; no header at all means the body is buffered
// (up to a cap) to hash it. docs/architecture.md follows a request through these.

#include <cstdint>
#include <string_view>

namespace pamproxy::sigv4 {

enum class PayloadMode : uint8_t {
  kAbsent,                    // no header: the caller hashes the (buffered) body
  kHexHash,                   // 64 hex: streamed untouched, the service checks it
  kUnsigned,                  // UNSIGNED-PAYLOAD
  kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
  kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunk signatures rewritten
  kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: + trailer signature
  kStreamingEcdsa,            // STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD[-TRAILER]: SigV4a, refused
  kInvalid,                   // anything else: an error
};

PayloadMode classify_payload(std::string_view x_amz_content_sha256, bool present);
std::string_view payload_mode_name(PayloadMode m);
inline bool has_signed_chunks(PayloadMode m) {
  return m == PayloadMode::kStreamingSigned || m == PayloadMode::kStreamingSignedTrailer;
}

}  // namespace pamproxy::sigv4
