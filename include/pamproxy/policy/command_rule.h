#pragma once
// Command rules: allow/deny patterns on operations named "service:Operation" (the operation names
// of the audit log: "s3:GetObject", "ec2:DescribeInstances", "sts:AssumeRole"), optionally
// scoped to resources by an ARN pattern. In the operation '*' matches any run of characters
// (also none) and letters match without regard to case, as IAM actions do. In the resource, as
// in IAM's Resource element, '*' matches any run and '?' one character, case counts, and each
// of the ARN's first five fields (arn:partition:service:region:account:) is matched on its own.
//
//   rule text:  "allow s3:Get*"   "deny s3:Delete*"   "deny *:*"   "allow sts:AssumeRole"
//               "deny s3:DeleteObject arn:aws:s3:::prod-*/*"
//               "deny dynamodb:* arn:aws:dynamodb:*:*:table/payments"
//
// Evaluation (see docs/access-control.md), as IAM evaluates: an explicit deny wins, and a
// request is denied when any resource it touches matches a deny rule; then the guardrails (the
// calls that would let a user walk away with credentials or powers that outlive every check
// here, below) deny unless an allow rule that names the guardrail's service lifts them (the one
// on passing a role: for each role passed, when they are known, see guardrail.h); if any
// allow rule exists, every resource the request touches must be matched by an allow rule for the
// operation (a request that names no resource: by an allow rule without one). Pure: no I/O, no
// allocation while matching.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/policy/guardrail.h"
#include "pamproxy/policy/model.h"

namespace pamproxy::policy {

// Patterns: 1-128 bytes of [A-Za-z0-9:*_.-/ ] with exactly one ':' separating a non-empty
// service part from a non-empty operation part.
absl::Status validate_command_pattern(std::string_view pattern);
// Resource patterns: an ARN pattern of 1-2048 bytes with at least the six fields of an ARN
// ("arn:aws:s3:::prod-*/*"), no control characters.
absl::Status validate_resource_pattern(std::string_view pattern);
absl::StatusOr<CommandRule> parse_command_rule(std::string_view text);
std::string format_command_rule(const CommandRule& r);

// Glob match of `text` against `pattern` ('*' only), ASCII case-insensitive. Linear time.
bool glob_match(std::string_view pattern, std::string_view text);
// Resource patterns are matched with pamproxy::arn_match (base/arn_pattern.h).

// The ARNs one request touches, as views the caller keeps alive: `text` holds them back to back
// and `ends[i]` is where the i-th ends.
// `passes_role`: the request hands a role to the service it calls (aws/resources.h).
class ResourceView {
 public:
  ResourceView() = default;
  ResourceView(std::string_view text, std::span<const uint32_t> ends, bool passes_role = false)
      : text_(text), ends_(ends), passes_role_(passes_role) {}
  bool passes_role() const { return passes_role_; }
  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](size_t i) const { return at(text_, ends_, i); }

  // The roles it passes, as ARNs, back to back like the resources (aws/passed_roles.h);
  // `unreadable`: one more was passed that could not be read.
  ResourceView& with_roles(std::string_view text, std::span<const uint32_t> ends, bool unreadable) {
    roles_text_ = text;
    roles_ends_ = ends;
    roles_unreadable_ = unreadable;
    return *this;
  }
  size_t role_count() const { return roles_ends_.size(); }
  std::string_view role(size_t i) const { return at(roles_text_, roles_ends_, i); }
  // Every role passed is listed: an allow rule scoped to roles can be matched against them.
  bool roles_known() const { return passes_role_ && !roles_ends_.empty() && !roles_unreadable_; }

 private:
  static std::string_view at(std::string_view text, std::span<const uint32_t> ends, size_t i) {
    const uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return text.substr(begin, ends[i] - begin);
  }

  std::string_view text_;
  std::span<const uint32_t> ends_;
  bool passes_role_ = false;
  std::string_view roles_text_;
  std::span<const uint32_t> roles_ends_;
  bool roles_unreadable_ = false;
};

enum class CommandVerdict : uint8_t { kAllowed, kDeniedByRule, kDeniedByGuardrail, kNotAllowed };
struct CommandCheck {
  CommandVerdict verdict = CommandVerdict::kAllowed;
  const CommandRule* rule = nullptr;  // the deny rule that matched, when kDeniedByRule
  // The resource denied or not allowed; empty: the operation. kDeniedByGuardrail on passing a
  // role: the role no allow rule lifts it for, when the roles are known.
  std::string_view resource;
  const Guardrail* guardrail = nullptr;  // the guardrail that denied, when kDeniedByGuardrail
};
CommandCheck check_command(const std::vector<CommandRule>& rules, std::string_view operation,
                           ResourceView resources = {});

}  // namespace pamproxy::policy
