#include "src/config/validate.h"

#include <charconv>

#include "pamproxy/base/net_address.h"

namespace pamproxy::config::internal {

std::string check_socket_address(std::string_view v) {
  if (net::SocketAddress::parse(v)) return {};
  return "not an address: expected ip:port or [ipv6]:port with a port from 1 to 65535";
}

std::string check_listen_address(std::string_view v) {
  if (net::SocketAddress::parse(v, /*allow_port_zero=*/true)) return {};
  return "not an address: expected ip:port or [ipv6]:port (port 0: any free port, logged at "
         "start)";
}

std::string check_cidr(std::string_view v) {
  if (net::Cidr::parse(v)) return {};
  return "not a network: expected an address or a CIDR block such as 10.0.0.0/8 or fd00::/8";
}

std::string check_host_pattern(std::string_view v) {
  std::string_view name = v;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return "not a host name or *.suffix pattern";
  size_t label = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (c == '.') {
      if (label == 0) return "empty label in host name";
      label = 0;
      continue;
    }
    if (!ok) return "not a host name or *.suffix pattern (only letters, digits, '-' and '.')";
    if (++label > 63) return "a label of the host name is longer than 63 characters";
  }
  if (label == 0) return "host name ends with '.'";
  return {};
}

std::string check_destination_pattern(std::string_view v) {
  size_t colon = v.rfind(':');
  if (colon == std::string_view::npos) return "expected host:port (e.g. \"*.amazonaws.com:443\")";
  std::string why = check_host_pattern(v.substr(0, colon));
  if (!why.empty()) return why;
  std::string_view port = v.substr(colon + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return "port must be a number from 1 to 65535";
  }
  return {};
}

std::string check_dns_server(std::string_view v) {
  if (net::IpAddress::parse(v) || net::SocketAddress::parse(v)) return {};
  return "not a DNS server address: expected ip or ip:port";
}

std::string check_postgresql_url(std::string_view v) {
  // libpq parses the string itself when connecting; here only its form, so a typo is named at
  // load time rather than as a failed connection.
  if (v.empty()) return {};
  if (v.starts_with("postgresql://") || v.starts_with("postgres://")) return {};
  if (v.find('=') != std::string_view::npos) return {};
  return "expected a libpq connection string: postgresql://user@host:5432/db?sslmode=verify-full "
         "or host=... dbname=...";
}

namespace {

// The authority and the rest of "https://authority/rest"; false when not https or no host.
bool split_https(std::string_view v, std::string_view* authority, std::string_view* rest) {
  constexpr std::string_view kScheme = "https://";
  if (!v.starts_with(kScheme)) return false;
  v.remove_prefix(kScheme.size());
  const size_t slash = v.find_first_of("/?#");
  *authority = v.substr(0, slash);
  *rest = slash == std::string_view::npos ? std::string_view() : v.substr(slash);
  return !authority->empty() && authority->find('@') == std::string_view::npos;
}

bool printable_without_spaces(std::string_view v) {
  for (unsigned char c : v) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string check_issuer_url(std::string_view v) {
  // An issuer is compared byte for byte with the `iss` of every ID token and the discovery
  // document is fetched from under it: only https, no user info, query or fragment.
  if (v.empty()) return {};
  std::string_view authority, rest;
  if (!split_https(v, &authority, &rest) || !printable_without_spaces(v)) {
    return "expected an https:// URL such as \"https://login.example.com/realms/staff\"";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "an issuer URL has no query or fragment";
  }
  return {};
}

std::string check_https_origin(std::string_view v) {
  if (v.empty()) return {};
  std::string_view authority, rest;
  if (!split_https(v, &authority, &rest) || !printable_without_spaces(v) ||
      !(rest.empty() || rest == "/")) {
    return "expected https://host or https://host:port, the address browsers reach the console "
           "at (no path)";
  }
  return {};
}

std::string check_claim_name(std::string_view v) {
  if (v.size() > 128) return "longer than 128 characters";
  if (!printable_without_spaces(v)) return "a claim name is printable ASCII without spaces";
  return {};
}

std::string check_scope(std::string_view v) {
  // RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
  if (v.empty() || v.size() > 128) return "a scope is 1 to 128 characters";
  for (unsigned char c : v) {
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') {
      return "a scope is printable ASCII without spaces, '\"' or '\\'";
    }
  }
  return {};
}

std::string check_https_url(std::string_view v) {
  if (v.empty()) return {};
  if (!v.starts_with("https://"))
    return "must start with https:// (messages never travel in clear)";
  std::string_view rest = v.substr(8);
  if (rest.empty() || rest.front() == '/') return "no host after https://";
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return "holds a space or a control character";
    }
  }
  return {};
}

std::string check_mail_address(std::string_view v) {
  if (v.empty()) return {};
  for (char c : v) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f || c == '<' ||
        c == '>' || c == '"' || c == ',') {
      return "an address like pamproxy@example.com: printable ASCII, no spaces or brackets";
    }
  }
  size_t at = v.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == v.size()) {
    return "an address like pamproxy@example.com";
  }
  return {};
}

}  // namespace pamproxy::config::internal
