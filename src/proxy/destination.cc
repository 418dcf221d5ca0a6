#include "pamproxy/proxy/destination.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pamproxy::proxy {

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) {
  if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);  // ".amazonaws.com"
    return host.size() > suffix.size() &&
           equals_ignore_case(host.substr(host.size() - suffix.size()), suffix) &&
           host[host.size() - suffix.size() - 1] != '.';
  }
  return equals_ignore_case(pattern, host);
}

absl::StatusOr<DestinationPolicy> DestinationPolicy::from_config(const config::Config& c) {
  DestinationPolicy p;
  for (const std::string& entry : c.proxy.destination_allowlist) {
    size_t colon = entry.rfind(':');
    uint32_t port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(entry.substr(colon + 1), &port) ||
        port == 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("proxy.destination_allowlist: expected host:port, got \"", entry, "\""));
    }
    std::string host = absl::AsciiStrToLower(entry.substr(0, colon));
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    p.allow_.push_back({host, static_cast<uint16_t>(port)});
  }
  for (const config::ResolveOverride& o : c.upstream.resolve) {
    auto a = net::SocketAddress::parse(o.address);
    if (!a) {
      return absl::InvalidArgumentError(
          absl::StrCat("upstream.resolve: bad address \"", o.address, "\""));
    }
    p.overrides_.push_back({absl::AsciiStrToLower(o.host), *a});
  }
  for (const std::string& s : c.proxy.private_destinations_allowed) {
    auto cidr = net::Cidr::parse(s);
    if (!cidr) {
      return absl::InvalidArgumentError(
          absl::StrCat("proxy.private_destinations_allowed: bad CIDR \"", s, "\""));
    }
    p.private_allowed_.push_back(*cidr);
  }
  return p;
}

bool DestinationPolicy::allowed(const ConnectTarget& target) const {
  for (const Allow& a : allow_) {
    if (a.port == target.port && host_matches(a.host_pattern, target.host)) return true;
  }
  return false;
}

std::optional<net::SocketAddress> DestinationPolicy::override_for(std::string_view host) const {
  for (const Override& o : overrides_) {
    if (host_matches(o.host_pattern, host)) return o.address;
  }
  return std::nullopt;
}

bool DestinationPolicy::address_permitted(const net::IpAddress& address) const {
  if (!address.is_private_or_special()) return true;
  for (const net::Cidr& c : private_allowed_) {
    if (c.contains(address)) return true;
  }
  return false;
}

}  // namespace pamproxy::proxy
