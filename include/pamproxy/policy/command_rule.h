#pragma once
// Command rules: allow/deny patterns on operations named "service:Operation" (the operation names
// of the audit log: "s3:GetObject", "ec2:DescribeInstances", "sts:AssumeRole"). '*' matches any
// run of characters (also none); letters match without regard to case, as IAM actions do.
//
//   rule text:  "allow s3:Get*"   "deny s3:Delete*"   "deny *:*"   "allow sts:AssumeRole"
//
// Evaluation (see docs/access-control.md): an explicit deny wins; the built-in deny of the STS
// calls that hand out credentials (sts:GetSessionToken, sts:GetFederationToken, sts:AssumeRole*)
// applies unless an allow rule whose pattern starts with "sts:" matches the operation; if any
// allow rule exists the operation must match one. Pure: no I/O, no allocation while matching.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::policy {

// Patterns: 1-128 bytes of [A-Za-z0-9:*_.-/ ] with exactly one ':' separating a non-empty
// service part from a non-empty operation part.
absl::Status validate_command_pattern(std::string_view pattern);
absl::StatusOr<CommandRule> parse_command_rule(std::string_view text);
std::string format_command_rule(const CommandRule& r);

// Glob match of `text` against `pattern` ('*' only), ASCII case-insensitive. Linear time.
bool glob_match(std::string_view pattern, std::string_view text);

enum class CommandVerdict : uint8_t { kAllowed, kDeniedByRule, kDeniedByDefault, kNotAllowed };
struct CommandCheck {
  CommandVerdict verdict = CommandVerdict::kAllowed;
  const CommandRule* rule = nullptr;  // the deny rule that matched, when kDeniedByRule
};
CommandCheck check_command(const std::vector<CommandRule>& rules, std::string_view operation);

// The built-in deny list, as patterns.
bool is_credential_issuing_sts_call(std::string_view operation);

}  // namespace pamproxy::policy
