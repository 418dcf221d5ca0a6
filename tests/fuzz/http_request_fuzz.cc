// Fuzz target: request heads. Any input must give the same verdict fed whole or in two parts
// split at a point taken from the input; an accepted head must hold only views inside the buffer
// and survive writing back out and parsing again with the same fields and framing.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pamproxy/http/request_parser.h"
#include "pamproxy/http/serializer.h"

using namespace pamproxy::http;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view outer, std::string_view v) {
  return v.empty() ||
         (v.data() >= outer.data() && v.data() + v.size() <= outer.data() + outer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Limits limits;
  limits.head_bytes_max = 8192;
  limits.header_count_max = 32;
  const size_t split = data[0] % (size);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  RequestParser whole(limits);
  const ParseStatus s = whole.parse(text);
  RequestParser parts(limits);
  ParseStatus t = parts.parse(text.substr(0, std::min(split, text.size())));
  if (t == ParseStatus::kIncomplete) t = parts.parse(text);
  require(s == t);
  require(whole.error() == parts.error());
  if (s == ParseStatus::kError) {
    require(whole.error() != Error::kNone && !error_message(whole.error()).empty());
    return 0;
  }
  if (s != ParseStatus::kDone) return 0;
  const RequestHead& h = whole.head();
  require(whole.head_bytes() == parts.head_bytes() && whole.head_bytes() <= text.size());
  require(inside(text, h.target()) && inside(text, h.method_text()));
  for (size_t i = 0; i < h.header_count(); ++i) {
    const HeaderField f = h.header(i);
    require(inside(text, f.name) && inside(text, f.value));
  }

  std::array<char, 16384> out;
  WriteResult w = write_request_head(h, {.drop_hop_by_hop = false}, out);
  require(w.error == Error::kNone);
  RequestParser again(limits);
  require(again.parse({out.data(), w.bytes}) == ParseStatus::kDone);
  require(again.head().header_count() == h.header_count());
  require(again.head().body_kind() == h.body_kind());
  require(again.head().content_length() == h.content_length());
  require(again.head().keep_alive() == h.keep_alive());
  require(again.head().target() == h.target());
  return 0;
}
