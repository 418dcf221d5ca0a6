#include "pamproxy/sigv4/payload.h"

namespace pamproxy::sigv4 {

PayloadMode classify_payload(std::string_view v, bool present) {
  if (!present) return PayloadMode::kAbsent;
  if (v.size() == 64) {
    bool hex = true;
    for (char c : v) {
      hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
    }
    if (hex) return PayloadMode::kHexHash;
  }
  if (v == "UNSIGNED-PAYLOAD") return PayloadMode::kUnsigned;
  if (v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") return PayloadMode::kStreamingUnsignedTrailer;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") return PayloadMode::kStreamingSigned;
  if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    return PayloadMode::kStreamingSignedTrailer;
  }
  if (v == "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD" ||
      v == "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER") {
    return PayloadMode::kStreamingEcdsa;
  }
  return PayloadMode::kInvalid;
}

std::string_view payload_mode_name(PayloadMode m) {
  switch (m) {
    case PayloadMode::kAbsent: return "absent";
    case PayloadMode::kHexHash: return "hex-hash";
    case PayloadMode::kUnsigned: return "unsigned";
    case PayloadMode::kStreamingUnsignedTrailer: return "streaming-unsigned-trailer";
    case PayloadMode::kStreamingSigned: return "streaming-signed";
    case PayloadMode::kStreamingSignedTrailer: return "streaming-signed-trailer";
    case PayloadMode::kStreamingEcdsa: return "streaming-ecdsa";
    case PayloadMode::kInvalid: return "invalid";
  }
  return "invalid";
}

}  // namespace pamproxy::sigv4
