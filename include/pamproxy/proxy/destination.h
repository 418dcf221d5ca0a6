#pragma once
// Where a tunnel may go, decided before anything is sent upstream. The proxy is never an open
// relay:
//   1. the CONNECT target (host:port) must match [proxy] destination_allowlist
//      ("*.amazonaws.com:443": any name under amazonaws.com, port 443; or an exact host:port);
//   2. an [upstream] resolve override naming the host gives the address to use, and counts as
//      an explicit permission for that address, private or not (private endpoints, tests);
//   3. otherwise each resolved address must be public: loopback, link-local, RFC 1918, CGNAT,
//      ULA, multicast and unspecified addresses are refused unless [proxy]
//      private_destinations_allowed has a CIDR containing them (SSRF: a public name pointing at
//      169.254.169.254 or 127.0.0.1 must not reach the appliance's own neighbourhood).
// Pure: no I/O; built once from the configuration and shared read-only by the workers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/config/config.h"
#include "pamproxy/proxy/connect_request.h"

namespace pamproxy::proxy {

// "*.suffix" (one or more labels before the suffix) or an exact name; case-insensitive.
bool host_matches(std::string_view pattern, std::string_view host);

class DestinationPolicy {
 public:
  static absl::StatusOr<DestinationPolicy> from_config(const config::Config& config);

  bool allowed(const ConnectTarget& target) const;
  // The first resolve override whose pattern matches `host`.
  std::optional<net::SocketAddress> override_for(std::string_view host) const;
  // Rule 3 for an address obtained by DNS (or an IP-literal target).
  bool address_permitted(const net::IpAddress& address) const;

 private:
  struct Allow {
    std::string host_pattern;
    uint16_t port = 0;
  };
  struct Override {
    std::string host_pattern;
    net::SocketAddress address;
  };
  std::vector<Allow> allow_;
  std::vector<Override> overrides_;
  std::vector<net::Cidr> private_allowed_;
};

}  // namespace pamproxy::proxy
