#pragma once
// The PROXY protocol v2 header a load balancer in front of the appliance puts before the CONNECT
// request, carrying the real client's address. Accepted only from peers in [proxy]
// proxy_protocol_trusted (anyone else could claim any address); from those peers it is required.
//
//   \r\n\r\n\0\r\nQUIT\n  ver_cmd  fam  len(2)  addresses [TLVs]
//   ver 2; cmd LOCAL (health checks: keep the TCP peer) or PROXY; fam TCP over IPv4 or IPv6.
//
// Pure, bounded (a header is at most kHeaderBytesMax), fuzzed (tests/fuzz/proxy_protocol_fuzz.cc).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "pamproxy/base/net_address.h"

namespace pamproxy::proxy {

inline constexpr size_t kProxyHeaderBytesMax = 16 + 512;

enum class ProxyHeaderStatus { kNeedMore, kDone, kError };

struct ProxyHeader {
  bool local = false;         // LOCAL: no address; the connection's own peer stands
  net::SocketAddress source;  // PROXY: the client as the load balancer saw it
  size_t header_bytes = 0;    // bytes to drop before the CONNECT request
  std::string error;          // kError: why
};

// Parses the header at the start of `bytes` (everything received so far).
ProxyHeaderStatus parse_proxy_v2(std::span<const uint8_t> bytes, ProxyHeader* out);

}  // namespace pamproxy::proxy
