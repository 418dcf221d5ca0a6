#include "pamproxy/policy/cidr_list.h"

#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

bool is_separator(char c) {
  return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

absl::StatusOr<std::vector<net::Cidr>> parse_cidr_list(std::string_view text) {
  std::vector<net::Cidr> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_separator(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_separator(text[i])) ++i;
    if (start == i) break;
    std::string_view item = text.substr(start, i - start);
    if (out.size() == kCidrListMax) {
      return absl::InvalidArgumentError(cat("more than ", kCidrListMax, " networks in one list"));
    }
    std::optional<net::Cidr> c = net::Cidr::parse(item);
    if (!c) {
      return absl::InvalidArgumentError(
          cat("'", item, "' is not a network (e.g. 10.0.0.0/8 or 2001:db8::/32)"));
    }
    // Cidr::parse clears host bits; compare with the address as written.
    std::optional<net::IpAddress> written = net::IpAddress::parse(item.substr(0, item.find('/')));
    if (written && !(*written == c->base)) {
      return absl::InvalidArgumentError(
          cat("'", item, "' has host bits set (did you mean ", c->to_string(), "?)"));
    }
    out.push_back(*c);
  }
  return out;
}

std::string format_cidr_list(const std::vector<net::Cidr>& list) {
  std::string out;
  for (const net::Cidr& c : list) {
    if (!out.empty()) out += ", ";
    out += c.to_string();
  }
  return out;
}

bool cidr_list_allows(const std::vector<net::Cidr>& list, const net::IpAddress& ip) {
  if (list.empty()) return true;
  for (const net::Cidr& c : list) {
    if (c.contains(ip)) return true;
  }
  return false;
}

}  // namespace pamproxy::policy
