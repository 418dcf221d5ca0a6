// IAM's ARN matching (see arn_pattern.h).

#include "pamproxy/base/arn_pattern.h"

#include <algorithm>
#include <cstddef>

namespace pamproxy {
namespace {

// The bytes of the UTF-8 character that starts with `lead` (1 for a stray continuation byte).
size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Greedy walk with one backtrack point (the last '*'): linear for most patterns, bounded by
// |pattern| * |text| for any. Resources: '?' is one UTF-8 character and bytes compare exactly;
// actions: no '?', ASCII letters compare without case.
template <bool kResource>
bool walk(std::string_view pattern, std::string_view text) {
  auto same = [](char a, char b) {
    if constexpr (kResource) return a == b;
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(a) == lower(b);
  };
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  for (;;) {
    if (t == text.size()) {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return true;
      // Not matched at the end: a '?' may have taken a long character's bytes too far; the last
      // star tries one byte more, as for any mismatch.
    } else if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
      continue;
    } else if (kResource && p < pattern.size() && pattern[p] == '?') {
      ++p;
      t += std::min(utf8_length(static_cast<unsigned char>(text[t])), text.size() - t);
      continue;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
      ++p;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos || star_t >= text.size()) return false;
    p = star_p + 1;
    t = ++star_t;
  }
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text) {
  return walk<true>(pattern, text);
}

bool action_match(std::string_view pattern, std::string_view text) {
  return walk<false>(pattern, text);
}

bool arn_match(std::string_view pattern, std::string_view arn) {
  // arn:partition:service:region:account: field by field; the rest (the resource, which may
  // hold ':' and '/') as a whole.
  for (int field = 0; field < 5; ++field) {
    const size_t pc = pattern.find(':');
    const size_t ac = arn.find(':');
    if (pc == std::string_view::npos || ac == std::string_view::npos) return false;
    if (!wildcard_match(pattern.substr(0, pc), arn.substr(0, ac))) return false;
    pattern.remove_prefix(pc + 1);
    arn.remove_prefix(ac + 1);
  }
  return wildcard_match(pattern, arn);
}

}  // namespace pamproxy
