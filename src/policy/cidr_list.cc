#include "pamproxy/policy/cidr_list.h"

#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

net::Cidr masked(net::Cidr c) {
  for (size_t i = 0; i < c.base.bytes.size(); ++i) {
    int bit0 = static_cast<int>(i) * 8;
    uint8_t keep = 0;
    if (c.prefix_bits >= bit0 + 8) {
      keep = 0xff;
    } else if (c.prefix_bits > bit0) {
      keep = static_cast<uint8_t>(0xff << (8 - (c.prefix_bits - bit0)));
    }
    c.base.bytes[i] &= keep;
  }
  return c;
}

bool is_separator(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

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
      return absl::InvalidArgumentError(
          cat("more than ", kCidrListMax, " networks in one list"));
    }
    std::optional<net::Cidr> c = net::Cidr::parse(item);
    if (!c) {
      return absl::InvalidArgumentError(
          cat("'", item, "' is not a network (e.g. 10.0.0.0/8 or 2001:db8::/32)"));
    }
    net::Cidr network = masked(*c);
    if (!(network.base == c->base)) {
      return absl::InvalidArgumentError(cat(
          "'", item, "' has host bits set (did you mean ", network.to_string(), "?)"));
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
