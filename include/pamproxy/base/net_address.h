#pragma once
// IP addresses, socket addresses and CIDR blocks, parsed strictly (no host names, no leading
// zeros games: inet_pton's rules). Used by the config, by policy (token and record networks) and
// by the proxy (destination checks). Pure: no I/O, no DNS.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pamproxy::net {

// An IPv4 or IPv6 address. IPv4 is kept as 4 bytes (family AF_INET); an IPv4-mapped IPv6
// address (::ffff:a.b.c.d) is normalized to IPv4 so that policy sees one form.
struct IpAddress {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress from_sockaddr(const sockaddr* sa);
  std::string to_string() const;
  bool is_loopback() const;
  // Loopback, link-local, RFC 1918, CGNAT (100.64/10), unique-local (fc00::/7), unspecified,
  // multicast: addresses a public AWS endpoint never has.
  bool is_private_or_special() const;
  bool operator==(const IpAddress& o) const = default;
};

// "ip:port" or "[v6]:port"; port 1-65535.
struct SocketAddress {
  IpAddress ip;
  uint16_t port = 0;

  // `allow_port_zero`: for a listening address where 0 asks the kernel for a free port.
  static std::optional<SocketAddress> parse(std::string_view text, bool allow_port_zero = false);
  std::string to_string() const;
  // Fills `storage` and returns the length to pass to bind/connect.
  socklen_t to_sockaddr(sockaddr_storage* storage) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
struct Cidr {
  IpAddress base;
  int prefix_bits = 0;

  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;
  std::string to_string() const;
};

}  // namespace pamproxy::net
