#pragma once
// The access decision: one pure function of (snapshot, token id, record reference, operation,
// client address, now) -> allow with the record's credentials, or deny with a reason the user can
// act on and a machine code the proxy maps to the AWS error of the client's protocol.
// docs/access-control.md gives the order of the checks and every reason.
//
// The caller has already verified the SigV4 signature with find_token()'s secret: a decision
// never runs for a request whose signer is unproven, so reasons may name records and policies.
//
// An allow allocates nothing: its fields are views into the snapshot, valid while the caller
// holds that snapshot. A deny builds its reason string (denials are rare and audited anyway).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/snapshot.h"

namespace pamproxy::policy {

// Why a request was denied, finer than the AWS code (for audit, metrics and tests).
enum class DenyKind : uint8_t {
  kNone = 0,
  kProxyDisabled,
  kTokenUnknown,
  kTokenRevoked,
  kUserDisabled,
  kTokenExpired,
  kTokenNetwork,
  kRecordRefInvalid,
  kRecordNotFound,
  kRecordAmbiguous,
  kNoConnectPermission,
  kRecordTypeDisabled,
  kClientNetwork,
  kCommandDenied,
  kOutsideWindow,
  kTimeZoneUnavailable,
  kApprovalRequired,
};
std::string_view deny_kind_name(DenyKind k);

// The AWS error code a denial is reported with.
enum class AwsErrorCode : uint8_t { kInvalidClientTokenId, kExpiredToken, kAccessDenied };
std::string_view aws_error_code_name(AwsErrorCode c);
AwsErrorCode aws_error_code(DenyKind k);

struct Decision {
  bool allowed = false;
  DenyKind deny = DenyKind::kNone;
  std::string reason;  // empty when allowed

  // When allowed (and, for audit, whatever was known when denied; null when not).
  const TokenEntry* token = nullptr;
  const UserEntry* user = nullptr;
  const RecordEntry* record = nullptr;
  const AccessRequest* approval = nullptr;  // the request that allowed it, when one was needed

  AwsErrorCode aws_code() const { return aws_error_code(deny); }
  // Credentials to re-sign with (allowed only).
  std::string_view access_key_id() const { return record->record.access_key_id; }
  std::string_view secret_access_key() const { return record->record.secret_access_key.reveal(); }
  std::string_view session_token() const { return record->record.session_token.reveal(); }
  std::string_view default_region() const { return record->record.default_region; }
};

// `resources`: the ARNs the request touches (aws/resources.h), for resource-scoped rules.
Decision decide(const Snapshot& snapshot, std::string_view token_id, std::string_view record_ref,
                std::string_view operation, const net::IpAddress& client, absl::Time now,
                ResourceView resources = {});

}  // namespace pamproxy::policy
