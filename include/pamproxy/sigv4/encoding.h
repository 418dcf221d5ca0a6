#pragma once
// Percent-encoding as SigV4 defines it (RFC 3986 unreserved characters kept, everything else
// %XX in uppercase hex, a space is %20 and never '+'), and the X-Amz-Date time format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

inline bool is_unreserved(unsigned char c) {
  return detail::kChars.unreserved[c];
}

// Appends `in` with every byte but the unreserved ones (and '/' when keep_slash) as %XX.
void uri_encode_append(std::string& out, std::string_view in, bool keep_slash);

// Appends `in` with %XX decoded ('+' stays '+'). False on a '%' not followed by two hex digits
// (out then holds a partial result).
bool percent_decode_append(std::string& out, std::string_view in);

// Appends a path with the bytes that cannot appear in an HTTP request target (controls, space,
// non-ASCII, `"<>\^`{|}#`) and stray '%' encoded; a valid wire path comes out unchanged. Lets a
// path pasted with raw spaces or UTF-8 be signed as it would be sent.
void wire_path_append(std::string& out, std::string_view path);

// The canonical URI of S3-family services: the path as sent, each byte in canonical form (a
// valid %XX decoded and re-encoded, so '$' and '%24' both give %24 and '%41' gives 'A'; other
// bytes but unreserved ones and '/' encoded). Clients encode paths this way already, so for them
// this is the path as sent; it matches AWS's own examples (`/test$file.text` signs as
// `/test%24file.text`).
void s3_path_append(std::string& out, std::string_view path);

// Removes dot segments and empty segments, keeping a leading and a trailing '/' (the rule AWS's
// signers apply before double-encoding non-S3 paths). Empty input gives "/".
void normalize_path_append(std::string& out, std::string_view path);

// "YYYYMMDDTHHMMSSZ" -> seconds since the epoch (UTC); nullopt when malformed or out of range.
std::optional<int64_t> parse_amz_date(std::string_view s);
// "YYYY-MM-DDTHH:MM:SSZ" (ISO 8601 basic or extended) -> seconds since the epoch.
std::optional<int64_t> parse_iso8601(std::string_view s);
// Seconds since the epoch -> "YYYYMMDDTHHMMSSZ" (16 chars written to out).
void format_amz_date(int64_t epoch_s, char* out);
// Seconds since the epoch -> "YYYY-MM-DDTHH:MM:SSZ".
std::string format_iso8601(int64_t epoch_s);

}  // namespace pamproxy::sigv4
