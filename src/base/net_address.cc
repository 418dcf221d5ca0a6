#include "pamproxy/base/net_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pamproxy::net {
namespace {

bool parse_uint(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  if (s.size() > 1 && s[0] == '0') return false;  // no leading zeros in ports or prefixes
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    if (std::memcmp(ip.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0) {
      IpAddress v4;
      v4.family = AF_INET;
      std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
      return v4;
    }
    return ip;
  }
  return std::nullopt;
}

IpAddress IpAddress::from_sockaddr(const sockaddr* sa) {
  IpAddress ip;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ip.family = AF_INET;
    std::memcpy(ip.bytes.data(), &in->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (std::memcmp(&in6->sin6_addr, kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0) {
      ip.family = AF_INET;
      std::memcpy(ip.bytes.data(), reinterpret_cast<const uint8_t*>(&in6->sin6_addr) + 12, 4);
    } else {
      ip.family = AF_INET6;
      std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
    }
  }
  return ip;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes.data(), buf, sizeof(buf));
  return buf;
}

bool IpAddress::is_loopback() const {
  if (family == AF_INET) return bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
  return bytes == kLoop;
}

bool IpAddress::is_private_or_special() const {
  if (is_loopback()) return true;
  const uint8_t* b = bytes.data();
  if (family == AF_INET) {
    if (b[0] == 0 || b[0] == 10) return true;                       // this network, RFC 1918
    if (b[0] == 172 && (b[1] & 0xf0) == 16) return true;            // 172.16/12
    if (b[0] == 192 && b[1] == 168) return true;                    // 192.168/16
    if (b[0] == 169 && b[1] == 254) return true;                    // link-local (IMDS lives here)
    if (b[0] == 100 && (b[1] & 0xc0) == 64) return true;            // CGNAT 100.64/10
    if (b[0] >= 224) return true;                                   // multicast, reserved, bcast
    return false;
  }
  bool all_zero = true;
  for (uint8_t x : bytes) all_zero = all_zero && x == 0;
  if (all_zero) return true;                                        // ::
  if ((b[0] & 0xfe) == 0xfc) return true;                           // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;           // fe80::/10 link-local
  if (b[0] == 0xff) return true;                                    // multicast
  // fd00:ec2::254 (IMDS over IPv6) is inside fc00::/7 already.
  return false;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text, bool allow_port_zero) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    auto ip = IpAddress::parse(host);
    if (!ip || host.find(':') == std::string_view::npos) return std::nullopt;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
  }
  auto ip = IpAddress::parse(host);
  uint32_t p = 0;
  if (!ip || !parse_uint(port, 65535, &p) || (p == 0 && !allow_port_zero)) return std::nullopt;
  return SocketAddress{*ip, static_cast<uint16_t>(p)};
}

std::string SocketAddress::to_string() const {
  if (ip.family == AF_INET6) return "[" + ip.to_string() + "]:" + std::to_string(port);
  return ip.to_string() + ":" + std::to_string(port);
}

socklen_t SocketAddress::to_sockaddr(sockaddr_storage* storage) const {
  std::memset(storage, 0, sizeof(*storage));
  if (ip.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, ip.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, ip.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  // A v4-mapped v6 literal was normalized to v4; its /prefix would be in v6 units: refuse it.
  bool written_as_v6 = text.substr(0, slash).find(':') != std::string_view::npos;
  if (written_as_v6 && ip->family == AF_INET && slash != std::string_view::npos) {
    return std::nullopt;
  }
  const uint32_t max_bits = ip->family == AF_INET ? 32 : 128;
  uint32_t bits = max_bits;
  if (slash != std::string_view::npos && !parse_uint(text.substr(slash + 1), max_bits, &bits)) {
    return std::nullopt;
  }
  Cidr c{*ip, static_cast<int>(bits)};
  // Normalize: clear host bits so contains() and to_string() are simple.
  for (uint32_t i = 0; i < 16; ++i) {
    int keep = static_cast<int>(bits) - static_cast<int>(i * 8);
    if (keep >= 8) continue;
    c.base.bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
  }
  return c;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.family != base.family) return false;
  int bits = prefix_bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return base.to_string() + "/" + std::to_string(prefix_bits); }

}  // namespace pamproxy::net
