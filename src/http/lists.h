#pragma once
// Comma-separated field values (RFC 9110 section 5.6.1), the strict way. Private to http.

#include <string_view>

#include "pamproxy/http/error.h"
#include "pamproxy/http/head_fields.h"
#include "src/http/chars.h"

namespace pamproxy::http::lists {

// Calls fn(element) for each non-empty element, whitespace trimmed.
template <class Fn>
void for_each_element(std::string_view v, Fn&& fn) {
  size_t i = 0;
  while (i <= v.size()) {
    size_t comma = v.find(',', i);
    if (comma == std::string_view::npos) comma = v.size();
    size_t b = i, e = comma;
    while (b < e && chars::is_ows(v[b])) ++b;
    while (e > b && chars::is_ows(v[e - 1])) --e;
    if (e > b) fn(v.substr(b, e - b));
    i = comma + 1;
  }
}

// One Transfer-Encoding field value, continuing the list of the fields before it.
// `chunked_last` says whether the last coding so far is chunked. Only a list that ends up as
// exactly one "chunked" is accepted by the caller; the first problem is returned. Empty elements
// and transfer parameters are malformed here (no client sends them; a parser that skips them and
// one that does not would frame differently).
inline Error check_transfer_codings(std::string_view v, bool* chunked_last) {
  size_t i = 0;
  bool any = false;
  while (i <= v.size()) {
    size_t comma = v.find(',', i);
    if (comma == std::string_view::npos) comma = v.size();
    size_t b = i, e = comma;
    while (b < e && chars::is_ows(v[b])) ++b;
    while (e > b && chars::is_ows(v[e - 1])) --e;
    if (b == e) return Error::kBadTransferEncoding;
    for (size_t k = b; k < e; ++k) {
      if (!chars::is_token(v[k])) return Error::kBadTransferEncoding;
    }
    const bool chunked = equals_ignore_case(v.substr(b, e - b), "chunked");
    if (*chunked_last) return chunked ? Error::kChunkedRepeated : Error::kChunkedNotFinal;
    if (!chunked) return Error::kUnsupportedTransferCoding;
    *chunked_last = true;
    any = true;
    i = comma + 1;
  }
  return any ? Error::kNone : Error::kBadTransferEncoding;
}

}  // namespace pamproxy::http::lists
