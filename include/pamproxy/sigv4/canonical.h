#pragma once
// The canonical request, exactly as AWS defines it:
//
//   METHOD \n CANONICAL_URI \n CANONICAL_QUERY \n CANONICAL_HEADERS \n SIGNED_HEADERS \n PAYLOAD
//
// URI: S3-family services sign the path as sent (single-encoded); every other service removes dot
// and empty segments and percent-encodes the path again (double encoding). Query: each name and
// value decoded and re-encoded (RFC 3986, %20 never '+'), sorted by name then value, `k=` for a
// bare key. Headers: only the signed ones, lowercase names, values trimmed with inner whitespace
// runs collapsed, repeated headers joined by ',' in order.
//
// The builder keeps its scratch (string arena, parameter index) between calls: after the first
// few requests it never allocates.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/sigv4/error.h"
#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

inline constexpr size_t kCanonicalRequestBytesMax = 256 * 1024;
inline constexpr size_t kQueryParamsMax = 1024;

struct CanonicalInput {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::span<const Header> headers;
  std::string_view signed_headers;  // ';'-separated lowercase names, in the order to list them
  std::string_view payload_hash;
  bool normalize_path = true;         // false for S3-family services (and --no-normalize-path)
  bool skip_signature_param = false;  // presigned: X-Amz-Signature is not signed
  // When set, x-amz-security-token takes this value instead of the request's (re-signing).
  bool override_security_token = false;
  std::string_view security_token;
};

class Canonicalizer {
 public:
  // Writes the canonical request into `out` (cleared first).
  Result build(const CanonicalInput& in, std::string& out);

 private:
  struct Param {
    uint32_t key_offset, key_size, value_offset, value_size;
  };
  Result append_query(const CanonicalInput& in, std::string& out);
  Result append_headers(const CanonicalInput& in, std::string& out);

  std::string arena_;
  std::string decoded_;
  std::string path_;
  std::vector<Param> params_;
};

// Appends a header value trimmed, with inner runs of whitespace collapsed to one space.
void append_trimmed_value(std::string& out, std::string_view value);

}  // namespace pamproxy::sigv4
