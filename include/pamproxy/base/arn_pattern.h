#pragma once
// IAM's matching of ARNs against patterns, as its Resource element reads them: '*' matches any
// run of characters (also none), '?' exactly one (a whole UTF-8 character), everything else the
// same bytes (case counts), and each of the first five fields of
// arn:partition:service:region:account:resource is matched on its own, so a '*' there stops at
// its ':'; the resource (which may itself hold ':' and '/') is matched as a whole.
//
//   arn_match("arn:aws:s3:::prod-*/*", "arn:aws:s3:::prod-logs/2026/a.gz")            -> true
//   arn_match("arn:aws:dynamodb:*:*:table/payments", "arn:aws:dynamodb:us-east-1:1:table/payments")
//
// Used by command rules (policy) and by audit searches. Pure, allocation-free; time bounded by
// |pattern| * |arn|.

#include <string_view>

namespace pamproxy {

bool arn_match(std::string_view pattern, std::string_view arn);

// The same '*' and '?' matching over a whole string, without fields.
bool wildcard_match(std::string_view pattern, std::string_view text);

// IAM's Action element ("s3:Get*"): '*' only, ASCII letters without regard to case.
bool action_match(std::string_view pattern, std::string_view text);

}  // namespace pamproxy
