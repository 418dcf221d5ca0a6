// Fuzz target: command rules ("allow s3:Get*") and the glob matcher. A parsed rule prints and
// parses back to itself; matching terminates for any pattern and operation (the input is split
// at the first newline into a rule and an operation).

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/policy/command_rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view rule_text = text.substr(0, nl);
  std::string_view op = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  auto rule = parse_command_rule(rule_text);
  if (!rule.ok()) {
    if (rule.status().message().empty()) std::abort();
    glob_match(rule_text.substr(0, 256), op.substr(0, 256));
    return 0;
  }
  auto again = parse_command_rule(format_command_rule(*rule));
  if (!again.ok() || !(*again == *rule)) std::abort();
  if (!glob_match(rule->pattern, rule->pattern) && rule->pattern.find('*') == std::string::npos) {
    std::abort();  // a literal pattern matches itself
  }
  if (!glob_match("*", op)) std::abort();
  std::vector<CommandRule> rules = {*rule};
  CommandCheck c = check_command(rules, op);
  if ((c.verdict == CommandVerdict::kDeniedByRule) != (c.rule != nullptr)) std::abort();
  return 0;
}
