#include "pamproxy/policy/command_rule.h"

#include <algorithm>

#include "pamproxy/base/arn_pattern.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {

absl::Status validate_command_pattern(std::string_view p) {
  if (p.empty() || p.size() > 128) {
    return absl::InvalidArgumentError("command pattern must be 1-128 bytes");
  }
  size_t colon = p.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == p.size() ||
      p.find(':', colon + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        cat("command pattern '", p, "' is not service:Operation (e.g. s3:Get*)"));
  }
  for (char c : p) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != ':' && c != '*' && c != '_' && c != '.' && c != '-' && c != '/' &&
        c != ' ') {
      return absl::InvalidArgumentError(
          cat("command pattern '", p, "' has a character outside [A-Za-z0-9:*_./ -]"));
    }
  }
  return absl::OkStatus();
}

absl::Status validate_resource_pattern(std::string_view p) {
  if (p.empty() || p.size() > 2048) {
    return absl::InvalidArgumentError("resource pattern must be 1-2048 bytes");
  }
  if (!p.starts_with("arn:") || std::count(p.begin(), p.end(), ':') < 5) {
    return absl::InvalidArgumentError(
        cat("resource pattern '", p,
            "' is not an ARN (arn:partition:service:region:account:resource, e.g. "
            "arn:aws:s3:::reports/*)"));
  }
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("resource pattern has a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CommandRule> parse_command_rule(std::string_view text) {
  text = strip(text);
  size_t space = text.find(' ');
  std::string_view effect = text.substr(0, space);
  std::string_view pattern =
      space == std::string_view::npos ? std::string_view() : strip(text.substr(space));
  // The resource starts at the first " arn:": an operation pattern holds one ':' only, after
  // its service, and a service name has no space.
  std::string_view resource;
  if (size_t arn = pattern.find(" arn:"); arn != std::string_view::npos) {
    resource = strip(pattern.substr(arn));
    pattern = strip(pattern.substr(0, arn));
  }
  CommandRule r;
  if (iequals(effect, "allow")) {
    r.effect = RuleEffect::kAllow;
  } else if (iequals(effect, "deny")) {
    r.effect = RuleEffect::kDeny;
  } else {
    return absl::InvalidArgumentError(
        cat("command rule '", text, "' must start with allow or deny"));
  }
  if (absl::Status s = validate_command_pattern(pattern); !s.ok()) return s;
  if (!resource.empty()) {
    if (absl::Status s = validate_resource_pattern(resource); !s.ok()) return s;
  }
  r.pattern = std::string(pattern);
  r.resource = std::string(resource);
  return r;
}

std::string format_command_rule(const CommandRule& r) {
  return cat(r.effect == RuleEffect::kAllow ? "allow " : "deny ", r.pattern,
             r.resource.empty() ? "" : " ", r.resource);
}

// IAM's action matching (base/arn_pattern.h), bounded by the 128-byte pattern limit and the
// operation length.
bool glob_match(std::string_view pattern, std::string_view text) {
  return action_match(pattern, text);
}

namespace {

// Whether allow rule `r` is written for guardrail `g` and a call that is `lifting`
// ("iam:CreateAccessKey", or "iam:PassRole" for a call that passes a role): the rule names the
// guardrail's service itself, not through a '*'.
bool names_guarded_call(const CommandRule& r, const Guardrail& g, std::string_view lifting) {
  const std::string_view service = std::string_view(r.pattern).substr(0, r.pattern.find(':'));
  return r.effect == RuleEffect::kAllow && iequals(service, g.service) &&
         glob_match(r.pattern, lifting);
}

// Whether allow rule `r` lifts guardrail `g` whatever the call touches: a rule for a role
// guardrail must then hold for every role, so it has no resource pattern.
bool lifts(const CommandRule& r, const Guardrail& g, std::string_view lifting) {
  return names_guarded_call(r, g, lifting) && (g.lifted_by.empty() || r.resource.empty());
}

// The first role passed that no allow rule scoped to roles lifts `g` for; empty when every one
// is lifted. Only for known roles: a role the proxy could not read matches no pattern.
std::string_view role_not_lifted(const std::vector<CommandRule>& rules, const Guardrail& g,
                                 ResourceView resources) {
  for (size_t k = 0; k < resources.role_count(); ++k) {
    const std::string_view role = resources.role(k);
    bool lifted = false;
    for (const CommandRule& r : rules) {
      if (!r.resource.empty() && names_guarded_call(r, g, g.lifted_by) &&
          arn_match(r.resource, role)) {
        lifted = true;
        break;
      }
    }
    if (!lifted) return role;
  }
  return {};
}

}  // namespace

CommandCheck check_command(const std::vector<CommandRule>& rules, std::string_view operation,
                           ResourceView resources) {
  // The allow rules for this operation, by index (a record has at most 64 rules; any beyond are
  // checked without the mask).
  uint64_t allows = 0;
  bool any_allow = false;
  const Guardrail* guardrail = guardrail_for(operation, resources.passes_role());
  const std::string_view lifting =
      guardrail == nullptr || guardrail->lifted_by.empty() ? operation : guardrail->lifted_by;
  bool lifted = false;
  for (size_t i = 0; i < rules.size(); ++i) {
    const CommandRule& r = rules[i];
    if (r.effect == RuleEffect::kAllow) {
      any_allow = true;
      if (guardrail != nullptr && !lifted) lifted = lifts(r, *guardrail, lifting);
    }
    if (!glob_match(r.pattern, operation)) continue;
    if (r.effect == RuleEffect::kDeny) {
      if (r.resource.empty()) return {CommandVerdict::kDeniedByRule, &r, {}};
      for (size_t k = 0; k < resources.size(); ++k) {
        if (arn_match(r.resource, resources[k])) {
          return {CommandVerdict::kDeniedByRule, &r, resources[k]};
        }
      }
      continue;
    }
    if (i < 64) allows |= uint64_t{1} << i;
  }
  // A guardrail's calls would let a user walk away with keys or powers that outlive every check
  // here: only a rule written for them ("allow iam:CreateAccessKey"), never a catch-all like
  // "allow *:*", lifts it. An explicit deny above still wins.
  // A call passing roles that are all known is lifted role by role ("allow iam:PassRole
  // arn:aws:iam::123456789012:role/lambda-*"); the denial names the first role left.
  if (guardrail != nullptr && !lifted) {
    if (!guardrail->lifted_by.empty() && resources.roles_known()) {
      const std::string_view role = role_not_lifted(rules, *guardrail, resources);
      if (!role.empty()) return {CommandVerdict::kDeniedByGuardrail, nullptr, role, guardrail};
    } else {
      return {CommandVerdict::kDeniedByGuardrail, nullptr, {}, guardrail};
    }
  }
  if (!any_allow) return {CommandVerdict::kAllowed, nullptr, {}};
  auto allowed = [&](std::string_view resource) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const CommandRule& r = rules[i];
      const bool for_operation =
          i < 64 ? (allows >> i & 1) != 0
                 : r.effect == RuleEffect::kAllow && glob_match(r.pattern, operation);
      if (!for_operation) continue;
      if (r.resource.empty() || (!resource.empty() && arn_match(r.resource, resource))) {
        return true;
      }
    }
    return false;
  };
  if (resources.empty()) {
    if (!allowed({})) return {CommandVerdict::kNotAllowed, nullptr, {}};
  }
  for (size_t k = 0; k < resources.size(); ++k) {
    if (!allowed(resources[k])) return {CommandVerdict::kNotAllowed, nullptr, resources[k]};
  }
  return {CommandVerdict::kAllowed, nullptr, {}};
}

}  // namespace pamproxy::policy
