#pragma once
// Guardrails: the calls that would let a user walk away with credentials, or with powers, that
// outlive every check the proxy makes (new access keys, passwords, role sessions, key pairs, a
// role handed to a function or an instance). Each has a name, is on for every record, and is
// listed in docs/access-control.md. command_rule.h applies them. Pure: a constant table.

#include <span>
#include <string_view>

namespace pamproxy::policy {

// A guardrail: calls denied on every record unless its policy lifts them with an allow rule that
// names `service` itself and matches the call ("allow iam:CreateAccessKey", "allow iam:*"). A
// catch-all ("allow *:*", "allow *:Create*") never does: it was written for other calls, and these
// are the ones that outlive the proxy's checks.
struct Guardrail {
  std::string_view name;  // "credential-escape: new IAM keys"
  std::string_view why;   // what the calls would let a user do
  std::string_view service;
  // The calls it blocks as patterns of `service` ("iam:CreateAccessKey", "sts:AssumeRole*");
  // empty for the guardrail on passing a role, which blocks any call that passes one.
  std::span<const std::string_view> operations;
  // What an allow rule must match to lift it: the call itself (empty), or "iam:PassRole". An
  // "iam:PassRole" rule without a resource pattern lifts it for any role; one with a pattern
  // ("allow iam:PassRole arn:aws:iam::123456789012:role/lambda-*") only when the request's roles
  // are known and the pattern, or another such rule's, matches every one of them.
  std::string_view lifted_by;
};
std::span<const Guardrail> guardrails();
// The guardrail that blocks `operation` ("iam:CreateAccessKey"), or one that passes a role; null
// when none does.
const Guardrail* guardrail_for(std::string_view operation, bool passes_role);

}  // namespace pamproxy::policy
