#pragma once
// Lists of client networks as users write them: CIDRs or bare addresses separated by ',' and/or
// white space ("10.0.0.0/8, 192.168.1.7 2001:db8::/32"). Pure: no I/O.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/base/net_address.h"

namespace pamproxy::policy {

// At most kCidrListMax entries; an error names the entry that does not parse. A CIDR with host
// bits set ("10.1.2.3/8") is refused: it almost always means a typo.
inline constexpr size_t kCidrListMax = 256;
absl::StatusOr<std::vector<net::Cidr>> parse_cidr_list(std::string_view text);
std::string format_cidr_list(const std::vector<net::Cidr>& list);
// An empty list allows every address.
bool cidr_list_allows(const std::vector<net::Cidr>& list, const net::IpAddress& ip);

}  // namespace pamproxy::policy
