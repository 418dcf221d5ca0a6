// Fuzz target: response heads, to each kind of request method that changes framing. Whole and
// split feeding must agree; an accepted head must re-serialize to one with the same framing.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/http/response_parser.h"
#include "pamproxy/http/serializer.h"

using namespace pamproxy::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Method methods[] = {Method::kGet, Method::kHead, Method::kConnect, Method::kPut};
  const Method method = methods[data[0] & 3];
  const size_t split = data[0] >> 2;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  limits.head_bytes_max = 8192;

  ResponseParser whole(limits);
  whole.reset(method);
  const ParseStatus s = whole.parse(text);
  ResponseParser parts(limits);
  parts.reset(method);
  ParseStatus t = parts.parse(text.substr(0, std::min(split, text.size())));
  if (t == ParseStatus::kIncomplete) t = parts.parse(text);
  if (s != t || whole.error() != parts.error()) std::abort();
  if (s != ParseStatus::kDone) return 0;
  const ResponseHead& h = whole.head();
  if (h.status() < 100 || h.status() > 599) std::abort();
  std::array<char, 16384> out;
  WriteResult w = write_response_head(h, {.drop_hop_by_hop = false}, out);
  if (w.error != Error::kNone) std::abort();
  ResponseParser again(limits);
  again.reset(method);
  if (again.parse({out.data(), w.bytes}) != ParseStatus::kDone) std::abort();
  if (again.head().body_kind() != h.body_kind() || again.head().status() != h.status() ||
      again.head().keep_alive() != h.keep_alive()) {
    std::abort();
  }
  return 0;
}
