#pragma once
// The sigv4 module: parsing, canonicalization, signing and verification of AWS Signature
// Version 4 (header and presigned forms, signed aws-chunked bodies).
//
// Owns: the SigV4 rules (what a canonical request is, how keys derive, how chunks chain).
// Never does: I/O, logging, clocks (the caller passes `now`), global state, or exposing a secret
// or a signature in an error message. It sees requests only through the small view below, so the
// HTTP codec (or a test, or pamctl) can feed it without this module depending on it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pamproxy::sigv4 {

// One header line as received: name in any case, value untrimmed. A header that appears several
// times appears several times here, in arrival order.
struct Header {
  std::string_view name;
  std::string_view value;
};

// What SigV4 needs of a request head. `path` and `query` are raw (as on the request line, still
// percent-encoded; `query` without the '?').
struct RequestView {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::span<const Header> headers;
};

// Keys used to sign (the record's real keys when re-signing). `session_token` empty = none.
struct Credentials {
  std::string_view access_key;
  std::string_view secret_key;
  std::string_view session_token;
};

// The credential scope: YYYYMMDD/region/service/aws4_request.
struct Scope {
  std::string_view date;  // YYYYMMDD
  std::string_view region;
  std::string_view service;
};

inline constexpr size_t kSignatureHexLength = 64;
inline constexpr size_t kAmzDateLength = 16;  // YYYYMMDDTHHMMSSZ
inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// S3 and its variants sign the path as sent; every other service normalizes it and encodes it a
// second time.
bool is_s3_family(std::string_view service);

namespace detail {
// Byte classes used on every request: lowercase map, RFC 3986 unreserved, header-name token.
struct CharTables {
  unsigned char lower[256];
  bool unreserved[256];
  bool token_lower[256];  // a lowercase RFC 9110 token character
  constexpr CharTables() : lower(), unreserved(), token_lower() {
    for (int c = 0; c < 256; ++c) {
      lower[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      const bool alnum_lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      unreserved[c] =
          alnum_lower || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.' || c == '~';
      token_lower[c] = alnum_lower || c == '-' || c == '_' || c == '.' || c == '!' || c == '#' ||
                       c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
                       c == '^' || c == '`' || c == '|' || c == '~';
    }
  }
};
inline constexpr CharTables kChars{};
}  // namespace detail

// Case-insensitive ASCII comparison (header names).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (detail::kChars.lower[static_cast<unsigned char>(a[i])] !=
        detail::kChars.lower[static_cast<unsigned char>(b[i])]) {
      return false;
    }
  }
  return true;
}

// First header named `name` (case-insensitive), or nullptr.
const Header* find_header(std::span<const Header> headers, std::string_view name);

// Headers a signer must never sign: they change hop by hop (and a proxy may rewrite them).
bool is_hop_by_hop(std::string_view lowercase_name);

}  // namespace pamproxy::sigv4
