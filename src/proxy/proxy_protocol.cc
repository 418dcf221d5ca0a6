// PROXY protocol v2 parsing (see proxy_protocol.h).

#include "pamproxy/proxy/proxy_protocol.h"

#include <cstring>

namespace pamproxy::proxy {
namespace {

constexpr uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

ProxyHeaderStatus fail(ProxyHeader* out, const char* why) {
  out->error = why;
  return ProxyHeaderStatus::kError;
}

}  // namespace

ProxyHeaderStatus parse_proxy_v2(std::span<const uint8_t> b, ProxyHeader* out) {
  *out = ProxyHeader{};
  // The signature is checked as far as bytes have arrived, so a wrong start fails at once.
  size_t have = std::min(b.size(), sizeof kSignature);
  if (std::memcmp(b.data(), kSignature, have) != 0) {
    return fail(out, "expected a PROXY protocol v2 header from this trusted peer");
  }
  if (b.size() < 16) return ProxyHeaderStatus::kNeedMore;
  const uint8_t ver_cmd = b[12], fam = b[13];
  const size_t len = static_cast<size_t>(b[14]) << 8 | b[15];
  if ((ver_cmd >> 4) != 2) return fail(out, "PROXY protocol version is not 2");
  const uint8_t cmd = ver_cmd & 0x0F;
  if (cmd > 1) return fail(out, "PROXY protocol command is neither LOCAL nor PROXY");
  if (16 + len > kProxyHeaderBytesMax) return fail(out, "PROXY protocol header too long");
  if (b.size() < 16 + len) return ProxyHeaderStatus::kNeedMore;
  out->header_bytes = 16 + len;
  if (cmd == 0) {  // LOCAL: the balancer's own connection (health check)
    out->local = true;
    return ProxyHeaderStatus::kDone;
  }
  const uint8_t* a = b.data() + 16;
  if (fam == 0x11) {  // TCP over IPv4
    if (len < 12) return fail(out, "PROXY protocol IPv4 addresses truncated");
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, a, 4);
    out->source.ip = net::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin));
    out->source.port = static_cast<uint16_t>(a[8] << 8 | a[9]);
    return ProxyHeaderStatus::kDone;
  }
  if (fam == 0x21) {  // TCP over IPv6
    if (len < 36) return fail(out, "PROXY protocol IPv6 addresses truncated");
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, a, 16);
    out->source.ip = net::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sin6));
    out->source.port = static_cast<uint16_t>(a[32] << 8 | a[33]);
    return ProxyHeaderStatus::kDone;
  }
  return fail(out, "PROXY protocol address family is not TCP over IPv4 or IPv6");
}

}  // namespace pamproxy::proxy
