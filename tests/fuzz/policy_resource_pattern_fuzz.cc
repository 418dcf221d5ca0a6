// Fuzz target: resource patterns ("arn:aws:s3:::prod-*/*") and IAM's ARN matching. The input is
// split at the first newline into a pattern and an ARN. arn_match is compared with a plain
// recursive reference written from the rule itself (fields one by one, '*' any run, '?' one
// UTF-8 character, bytes compared exactly); a valid pattern prints and parses back inside a rule;
// check_command names the resource it denies.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/base/arn_pattern.h"
#include "pamproxy/policy/command_rule.h"

namespace {

size_t char_length(std::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return std::min(n, s.size());
}

bool reference_wild(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') {
    for (size_t i = 0; i <= t.size(); ++i) {
      if (reference_wild(p.substr(1), t.substr(i))) return true;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?') return reference_wild(p.substr(1), t.substr(char_length(t)));
  return p[0] == t[0] && reference_wild(p.substr(1), t.substr(1));
}

bool reference_arn(std::string_view p, std::string_view a) {
  for (int field = 0; field < 5; ++field) {
    const size_t pc = p.find(':');
    const size_t ac = a.find(':');
    if (pc == std::string_view::npos || ac == std::string_view::npos) return false;
    if (!reference_wild(p.substr(0, pc), a.substr(0, ac))) return false;
    p.remove_prefix(pc + 1);
    a.remove_prefix(ac + 1);
  }
  return reference_wild(p, a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::policy;
  using pamproxy::arn_match;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  const std::string_view pattern = text.substr(0, nl);
  const std::string_view arn = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  // The reference is exponential in the stars: keep it to inputs it answers quickly.
  if (pattern.size() <= 48 && arn.size() <= 64 &&
      std::count(pattern.begin(), pattern.end(), '*') <= 4) {
    if (arn_match(pattern, arn) != reference_arn(pattern, arn)) std::abort();
  } else {
    arn_match(pattern.substr(0, 2048), arn.substr(0, 4096));
  }
  if (!validate_resource_pattern(pattern).ok()) return 0;
  if (pattern.find('\n') != std::string_view::npos) std::abort();
  const std::string rule_text = "deny s3:* " + std::string(pattern);
  auto rule = parse_command_rule(rule_text);
  // Surrounding spaces are trimmed from a rule; a pattern that has them differs once parsed.
  if (!rule.ok()) {
    if (pattern.front() != ' ' && pattern.back() != ' ') std::abort();
    return 0;
  }
  if (format_command_rule(*rule) != rule_text && pattern.back() != ' ') std::abort();
  std::string arns(arn);
  std::vector<uint32_t> ends = {static_cast<uint32_t>(arns.size())};
  std::vector<CommandRule> rules = {*rule};
  CommandCheck c = check_command(rules, "s3:GetObject", ResourceView(arns, ends));
  const bool denied = c.verdict == CommandVerdict::kDeniedByRule;
  if (denied != (!arns.empty() && arn_match(rule->resource, arns))) std::abort();
  if (denied && c.resource != arns) std::abort();
  return 0;
}
