// Fuzz target: the canonical request builder. Input: method, path, query, signed header list and
// header name/value pairs separated by NUL bytes. Invariants: no crash; the canonical URI and
// query consist only of unreserved characters, '/', '%XX' (and '=' '&' in the query); query
// pairs come out sorted; the result is bounded.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/sigv4/canonical.h"
#include "pamproxy/sigv4/encoding.h"

using namespace pamproxy::sigv4;

namespace {

bool clean(std::string_view s, std::string_view extra) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_unreserved(c) || c == '/' ||
        extra.find(static_cast<char>(c)) != std::string_view::npos) {
      continue;
    }
    auto hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
    if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) && hex(s[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Canonicalizer* canonicalizer = new Canonicalizer;
  std::vector<std::string_view> f;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (true) {
    const size_t z = in.find('\0');
    f.push_back(in.substr(0, z));
    if (z == std::string_view::npos) break;
    in.remove_prefix(z + 1);
  }
  while (f.size() < 4) f.push_back({});
  std::vector<Header> headers;
  for (size_t i = 4; i + 1 < f.size(); i += 2) headers.push_back({f[i], f[i + 1]});
  for (bool normalize : {false, true}) {
    CanonicalInput ci;
    ci.method = f[0];
    ci.path = f[1];
    ci.query = f[2];
    ci.signed_headers = f[3];
    ci.headers = headers;
    ci.payload_hash = "UNSIGNED-PAYLOAD";
    ci.normalize_path = normalize;
    std::string out;
    const Result r = canonicalizer->build(ci, out);
    if (!r.ok()) continue;
    if (out.size() > kCanonicalRequestBytesMax) std::abort();
    // Lines: method (may hold anything), URI, query, ...
    const size_t a = out.find('\n', ci.method.size());
    const size_t b = out.find('\n', a + 1);
    const size_t c = out.find('\n', b + 1);
    if (a == std::string::npos || b == std::string::npos || c == std::string::npos) std::abort();
    const std::string_view uri(out.data() + a + 1, b - a - 1);
    const std::string_view query(out.data() + b + 1, c - b - 1);
    if (uri.empty() || !clean(uri, "") || !clean(query, "=&")) std::abort();
    // Sorted by name then value.
    std::string_view prev_key, prev_value, rest = query;
    bool first = true;
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) std::abort();
      const std::string_view k = pair.substr(0, eq), v = pair.substr(eq + 1);
      if (!first && (k < prev_key || (k == prev_key && v < prev_value))) std::abort();
      prev_key = k;
      prev_value = v;
      first = false;
    }
  }
  return 0;
}
