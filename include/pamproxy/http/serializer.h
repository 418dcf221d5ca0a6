#pragma once
// Writes a parsed head back out with changes, in one pass, into a caller's buffer: the way the
// proxy sends a re-signed request upstream (Authorization and X-Amz-Date replaced, the client's
// X-Amz-Security-Token removed, the record's added, hop-by-hop fields dropped).
//
//   const NameValue set[] = {{"Authorization", auth}, {"X-Amz-Date", date}};
//   const std::string_view remove[] = {"x-amz-security-token"};
//   HeadRewrite rw{.remove = remove, .set = set};
//   WriteResult w = write_request_head(parser.head(), rw, out);
//   if (w.error != Error::kNone) ...; send out[0, w.bytes)
//
// Fields keep their order and spelling; a field in `set` replaces the first field of that name
// in place (later ones of that name are dropped) or is appended when absent; `add` fields are
// appended after. Names and values given here are checked (token names; values without CR, LF,
// NUL or other control characters) so a value taken from a request can never inject a line.
// No allocation; nothing is written past `out`.

#include <cstdint>
#include <span>
#include <string_view>

#include "pamproxy/http/error.h"
#include "pamproxy/http/head_fields.h"

namespace pamproxy::http {

struct NameValue {
  std::string_view name;
  std::string_view value;
};

struct HeadRewrite {
  std::string_view method;                   // requests: empty keeps the parsed method
  std::string_view target;                   // requests: empty keeps the parsed target
  std::span<const std::string_view> remove;  // names to drop (any case)
  std::span<const NameValue> set;            // at most 64 entries
  std::span<const NameValue> add;
  bool drop_hop_by_hop = true;  // drop fields the head marked hop_by_hop
};

struct WriteResult {
  Error error = Error::kNone;  // kBadHeaderForOutput or kOutputTooSmall
  size_t bytes = 0;            // written, when error is kNone
};

WriteResult write_request_head(const RequestHead& head, const HeadRewrite& rewrite,
                               std::span<char> out);
WriteResult write_response_head(const ResponseHead& head, const HeadRewrite& rewrite,
                                std::span<char> out);

}  // namespace pamproxy::http
