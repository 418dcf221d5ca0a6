// Fuzz target: lists of client networks ("10.0.0.0/8, 2001:db8::/32"). A parsed list prints and
// parses back to the same list, and each network contains its own base address.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/policy/cidr_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = parse_cidr_list(text);
  if (!list.ok()) {
    if (list.status().message().empty()) std::abort();
    return 0;
  }
  if (list->size() > kCidrListMax) std::abort();
  auto again = parse_cidr_list(format_cidr_list(*list));
  if (!again.ok() || again->size() != list->size()) std::abort();
  for (size_t i = 0; i < list->size(); ++i) {
    if (!((*again)[i].base == (*list)[i].base) ||
        (*again)[i].prefix_bits != (*list)[i].prefix_bits) {
      std::abort();
    }
    if (!cidr_list_allows(*list, (*list)[i].base)) std::abort();
  }
  return 0;
}
