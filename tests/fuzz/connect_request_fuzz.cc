// Fuzz target: the CONNECT head parser. Any input yields one verdict, never a crash or a read
// past the input; a complete head is within the limit and its target re-parses to itself.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pamproxy/proxy/connect_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::proxy;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const size_t limit = 4096;
  ConnectResult r = parse_connect(bytes, limit);
  if (r.status == ConnectParse::kComplete) {
    if (r.head_bytes == 0 || r.head_bytes > limit || r.head_bytes > size) std::abort();
    std::string again = "CONNECT " + r.target.authority() + " HTTP/1.1\r\n\r\n";
    ConnectResult r2 = parse_connect(again, limit);
    if (r2.status != ConnectParse::kComplete || r2.target.host != r.target.host ||
        r2.target.port != r.target.port) {
      std::abort();
    }
  }
  return 0;
}
