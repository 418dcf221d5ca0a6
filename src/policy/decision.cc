#include "pamproxy/policy/decision.h"

#include "absl/time/time.h"
#include "pamproxy/policy/authenticate.h"
#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/resolve.h"
#include "pamproxy/policy/strings.h"
#include "pamproxy/policy/time_window.h"

namespace pamproxy::policy {
namespace {

Decision deny(Decision d, DenyKind kind, std::string reason) {
  d.allowed = false;
  d.deny = kind;
  d.reason = std::move(reason);
  return d;
}

DenyKind deny_kind_of(ResolveError e) {
  switch (e) {
    case ResolveError::kInvalid: return DenyKind::kRecordRefInvalid;
    case ResolveError::kNotFound: return DenyKind::kRecordNotFound;
    case ResolveError::kAmbiguous: return DenyKind::kRecordAmbiguous;
    case ResolveError::kNoConnect: return DenyKind::kNoConnectPermission;
    case ResolveError::kNone: break;
  }
  return DenyKind::kRecordNotFound;
}

// The record's access policy, in the order of docs/access-control.md.
Decision check_policy(const Snapshot& s, Decision d, uint32_t user_index, uint32_t record_index,
                      std::string_view operation, ResourceView resources,
                      const net::IpAddress& client, absl::Time now) {
  const RecordEntry& entry = *d.record;
  const AccessPolicy* policy = entry.policy;
  static const std::vector<CommandRule> kNoRules;
  CommandCheck cmd = check_command(policy ? policy->command_rules : kNoRules, operation, resources);
  const std::string on_resource = cmd.resource.empty() ? "" : cat(" on ", cmd.resource);
  switch (cmd.verdict) {
    case CommandVerdict::kAllowed: break;
    case CommandVerdict::kDeniedByRule:
      return deny(std::move(d), DenyKind::kCommandDenied,
                  cat(operation, on_resource, " is denied on record '", entry.record.name,
                      "' by the rule '", format_command_rule(*cmd.rule), "'"));
    case CommandVerdict::kDeniedByGuardrail: {
      const Guardrail& g = *cmd.guardrail;
      if (!cmd.resource.empty()) {
        // A role passed that no allow rule scoped to roles lifts it for: name it, and the rule
        // that would lift it for that role alone.
        const bool profile = cmd.resource.find(":instance-profile/") != std::string_view::npos;
        return deny(std::move(d), DenyKind::kCommandDenied,
                    cat(operation, profile ? " passes the instance profile " : " passes the role ",
                        cmd.resource, " and is blocked by the guardrail '", g.name, "' (", g.why,
                        "); an admin can allow it on record '", entry.record.name,
                        "' with pamctl policies set ", entry.record.id, " --allow '", g.lifted_by,
                        " ", cmd.resource, "' (or an ARN pattern that matches it)"));
      }
      const std::string_view allow = g.lifted_by.empty() ? operation : g.lifted_by;
      return deny(std::move(d), DenyKind::kCommandDenied,
                  cat(operation, g.lifted_by.empty() ? "" : " passes a role and",
                      " is blocked by the guardrail '", g.name, "' (", g.why,
                      "); an admin can allow it on record '", entry.record.name,
                      "' with pamctl policies set ", entry.record.id, " --allow ", allow));
    }
    case CommandVerdict::kNotAllowed:
      return deny(std::move(d), DenyKind::kCommandDenied,
                  cat(operation, on_resource, " is not among the operations allowed on record '",
                      entry.record.name, "'"));
  }
  if (policy == nullptr) return d;

  if (!cidr_list_allows(policy->allowed_networks, client)) {
    return deny(std::move(d), DenyKind::kClientNetwork,
                cat("record '", entry.record.name, "' may be used only from ",
                    format_cidr_list(policy->allowed_networks), "; this request came from ",
                    client.to_string()));
  }
  if (!policy->windows.empty()) {
    if (!entry.time_zone_loaded) {
      return deny(std::move(d), DenyKind::kTimeZoneUnavailable,
                  cat("the access policy of record '", entry.record.name, "' uses time zone '",
                      policy->time_zone, "', which is not available on the appliance"));
    }
    if (!within_windows(policy->windows, now, entry.time_zone)) {
      return deny(std::move(d), DenyKind::kOutsideWindow,
                  cat("access to record '", entry.record.name, "' outside ",
                      format_time_windows(policy->windows), " ", policy->time_zone, " (now ",
                      absl::FormatTime("%a %H:%M", now, entry.time_zone), ")"));
    }
  }
  if (policy->approval_required) {
    d.approval = s.approved_request(user_index, record_index, now);
    if (d.approval == nullptr) {
      const AccessRequest* pending = s.pending_request(user_index, record_index, now);
      if (pending != nullptr) {
        return deny(std::move(d), DenyKind::kApprovalRequired,
                    cat("approval required for record '", entry.record.name, "': your request ",
                        pending->id, " is waiting for an approver"));
      }
      return deny(std::move(d), DenyKind::kApprovalRequired,
                  cat("approval required for record '", entry.record.name,
                      "': request one with pamctl requests create ", entry.record.id,
                      " --duration 1h --reason '...'"));
    }
  }
  return d;
}

}  // namespace

std::string_view deny_kind_name(DenyKind k) {
  switch (k) {
    case DenyKind::kNone: return "none";
    case DenyKind::kProxyDisabled: return "proxy_disabled";
    case DenyKind::kTokenUnknown: return "token_unknown";
    case DenyKind::kTokenRevoked: return "token_revoked";
    case DenyKind::kUserDisabled: return "user_disabled";
    case DenyKind::kTokenExpired: return "token_expired";
    case DenyKind::kTokenNetwork: return "token_network";
    case DenyKind::kRecordRefInvalid: return "record_ref_invalid";
    case DenyKind::kRecordNotFound: return "record_not_found";
    case DenyKind::kRecordAmbiguous: return "record_ambiguous";
    case DenyKind::kNoConnectPermission: return "no_connect_permission";
    case DenyKind::kRecordTypeDisabled: return "record_type_disabled";
    case DenyKind::kClientNetwork: return "client_network";
    case DenyKind::kCommandDenied: return "command_denied";
    case DenyKind::kOutsideWindow: return "outside_window";
    case DenyKind::kTimeZoneUnavailable: return "time_zone_unavailable";
    case DenyKind::kApprovalRequired: return "approval_required";
  }
  return "unknown";
}

std::string_view aws_error_code_name(AwsErrorCode c) {
  switch (c) {
    case AwsErrorCode::kInvalidClientTokenId: return "InvalidClientTokenId";
    case AwsErrorCode::kExpiredToken: return "ExpiredToken";
    case AwsErrorCode::kAccessDenied: return "AccessDenied";
  }
  return "AccessDenied";
}

AwsErrorCode aws_error_code(DenyKind k) {
  switch (k) {
    case DenyKind::kTokenUnknown:
    case DenyKind::kTokenRevoked: return AwsErrorCode::kInvalidClientTokenId;
    case DenyKind::kTokenExpired: return AwsErrorCode::kExpiredToken;
    default: return AwsErrorCode::kAccessDenied;
  }
}

Decision decide(const Snapshot& s, std::string_view token_id, std::string_view record_ref,
                std::string_view operation, const net::IpAddress& client, absl::Time now,
                ResourceView resources) {
  Decision d;
  if (!s.settings().proxy_enabled) {
    return deny(std::move(d), DenyKind::kProxyDisabled,
                "the AWS CLI proxy is disabled; an admin enables it with "
                "pamctl settings set proxy.enabled true");
  }
  TokenCheck tc = check_token(s, token_id, client, now);
  d.token = tc.token;
  d.user = tc.user;
  if (tc.deny != DenyKind::kNone) return deny(std::move(d), tc.deny, std::move(tc.reason));
  const uint32_t user_index = d.token->user_index;
  Resolution res = resolve_record(s, user_index, record_ref);
  if (res.error != ResolveError::kNone) {
    return deny(std::move(d), deny_kind_of(res.error), std::move(res.message));
  }
  uint32_t record_index = static_cast<uint32_t>(res.record_index);
  d.record = &s.record(record_index);
  if (!d.record->type_enabled) {
    return deny(std::move(d), DenyKind::kRecordTypeDisabled,
                cat("record type ", d.record->record.type,
                    " is disabled; an admin enables it with pamctl record-types enable ",
                    d.record->record.type));
  }
  d = check_policy(s, std::move(d), user_index, record_index, operation, resources, client, now);
  if (d.deny == DenyKind::kNone) d.allowed = true;
  return d;
}

}  // namespace pamproxy::policy
