#include "pamproxy/policy/command_rule.h"

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

absl::StatusOr<CommandRule> parse_command_rule(std::string_view text) {
  text = strip(text);
  size_t space = text.find(' ');
  std::string_view effect = text.substr(0, space);
  std::string_view pattern =
      space == std::string_view::npos ? std::string_view() : strip(text.substr(space));
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
  r.pattern = std::string(pattern);
  return r;
}

std::string format_command_rule(const CommandRule& r) {
  return cat(r.effect == RuleEffect::kAllow ? "allow " : "deny ", r.pattern);
}

// Classic greedy glob with one backtrack point: linear in |pattern| * |text| at worst for
// adversarial patterns, bounded by the 128-byte pattern limit and the operation length.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (p < pattern.size() && ascii_lower(pattern[p]) == ascii_lower(text[t])) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool is_credential_issuing_sts_call(std::string_view operation) {
  return glob_match("sts:GetSessionToken", operation) ||
         glob_match("sts:GetFederationToken", operation) ||
         glob_match("sts:AssumeRole*", operation);
}

CommandCheck check_command(const std::vector<CommandRule>& rules, std::string_view operation) {
  bool any_allow = false;
  bool allowed = false;
  bool sts_named = false;  // an allow rule that names the sts service itself matched
  for (const CommandRule& r : rules) {
    bool match = glob_match(r.pattern, operation);
    if (r.effect == RuleEffect::kDeny) {
      if (match) return {CommandVerdict::kDeniedByRule, &r};
    } else {
      any_allow = true;
      allowed = allowed || match;
      if (match && r.pattern.size() > 4 && iequals(r.pattern.substr(0, 4), "sts:")) {
        sts_named = true;
      }
    }
  }
  // Calls that mint new credentials would let a user walk away with keys that outlive every
  // check here: only a rule written for them ("allow sts:AssumeRole"), never a catch-all like
  // "allow *:*", lifts the built-in deny.
  if (is_credential_issuing_sts_call(operation) && !sts_named) {
    return {CommandVerdict::kDeniedByDefault, nullptr};
  }
  if (any_allow && !allowed) return {CommandVerdict::kNotAllowed, nullptr};
  return {CommandVerdict::kAllowed, nullptr};
}

}  // namespace pamproxy::policy
