// Fuzz target: the PROXY protocol v2 header parser. Whatever the bytes: no crash, an error says
// why, a complete header is never longer than the input nor than the bound, and an incomplete one
// is never judged complete by adding bytes that were already there.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "pamproxy/proxy/proxy_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::proxy;
  ProxyHeader h;
  ProxyHeaderStatus st = parse_proxy_v2({data, size}, &h);
  switch (st) {
    case ProxyHeaderStatus::kError:
      if (h.error.empty()) std::abort();
      break;
    case ProxyHeaderStatus::kDone:
      if (h.header_bytes > size || h.header_bytes > kProxyHeaderBytesMax || h.header_bytes < 16) {
        std::abort();
      }
      // The same header with anything after it parses the same.
      if (size > h.header_bytes) {
        ProxyHeader again;
        if (parse_proxy_v2({data, h.header_bytes}, &again) != ProxyHeaderStatus::kDone ||
            again.header_bytes != h.header_bytes || again.local != h.local ||
            !(again.source.ip == h.source.ip) || again.source.port != h.source.port) {
          std::abort();
        }
      }
      break;
    case ProxyHeaderStatus::kNeedMore:
      if (size >= kProxyHeaderBytesMax) std::abort();
      break;
  }
  return 0;
}
