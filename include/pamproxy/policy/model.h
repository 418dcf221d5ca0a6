#pragma once
// The access-control model: users, roles, record types, records, REST API tokens, grants, access
// policies, access requests and settings, as plain values. The store persists them, the snapshot
// indexes them, the decision reads them. Pure: no I/O, no globals.
//
// Secrets (a record's secret key and session token, a token's secret) are held in `Secret`,
// which has no printing, streaming or JSON path: code that wants the bytes must call reveal(),
// which makes every use easy to find. Never pass reveal() to a log line, an error or an answer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "pamproxy/base/net_address.h"

namespace pamproxy::policy {

// Bytes that must never be printed. Wiped when destroyed.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string bytes) : bytes_(std::move(bytes)) {}
  Secret(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(const Secret& o);
  Secret& operator=(Secret&& o) noexcept;
  ~Secret();

  std::string_view reveal() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

 private:
  void wipe();
  std::string bytes_;
};

// Permissions on a record, as a bit set. Each one implies none of the others on its own;
// grants name exactly what they give.
enum Permission : uint8_t {
  kView = 1 << 0,     // see the record (never its secrets)
  kConnect = 1 << 1,  // use the record's keys through the proxy
  kEdit = 1 << 2,     // change the record's fields and secrets
  kManage = 1 << 3,   // change its grants and access policy, delete it
};
using Permissions = uint8_t;
constexpr Permissions kAllPermissions = kView | kConnect | kEdit | kManage;
// "view,connect" -> bits; nullopt on an unknown name or an empty list.
std::optional<Permissions> parse_permissions(std::string_view text);
std::string permissions_to_string(Permissions p);

struct User {
  std::string id;
  std::string name;
  bool admin = false;
  absl::Time created_at;
  std::string email;  // "" when none: such a user is not told about access requests
  // A disabled user's tokens are refused and she cannot sign in; her tokens are kept, so
  // enabling her again brings them back as they were.
  bool disabled = false;
};

struct Role {
  std::string id;
  std::string name;
  std::string description;
  std::vector<std::string> member_user_ids;  // sorted
  absl::Time created_at;
};

inline constexpr std::string_view kAwsAccessKeysType = "aws-access-keys";

struct RecordType {
  std::string name;
  bool enabled = false;
};

struct Record {
  std::string id;
  std::string type = std::string(kAwsAccessKeysType);
  std::string name;  // required, unique
  std::string description;
  std::string reference_record;  // id of another record, or empty
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty: none
  std::string default_region;
  // The AWS account the keys belong to (12 digits), or empty: it fills the account field of the
  // ARNs a request touches, for resource-scoped rules and the audit trail.
  std::string aws_account_id;
  // Who gave aws_account_id: "admin", or "sts" (GetCallerIdentity with the record's own keys);
  // "" when there is none.
  std::string aws_account_id_source;
  std::vector<std::string> tags;  // sorted, unique
  absl::Time created_at;
  absl::Time updated_at;
  // 1 when created, raised by every change: an edit made from an older one is refused.
  int64_t version = 1;
};

struct Token {
  std::string id;  // also the first half of AWS_ACCESS_KEY_ID (before '#')
  std::string name;
  std::string user_id;
  Secret secret;
  absl::Time created_at;
  absl::Time expires_at = absl::InfiniteFuture();
  std::vector<net::Cidr> allowed_networks;  // empty: any
  std::optional<absl::Time> revoked_at;
  std::optional<absl::Time> last_used_at;
};

// A grant gives `permissions` to a user or to every member of a role, on one record or on every
// record carrying a tag. Exactly one of user_id/role_id and one of record_id/tag is set.
struct Grant {
  std::string id;
  std::string user_id;
  std::string role_id;
  std::string record_id;
  std::string tag;
  Permissions permissions = 0;
  absl::Time created_at;
};

// A weekly window: the days it applies to and a [start, end) span of local minutes on each.
// start < end; overnight access is two windows (e.g. Mon-Fri 22:00-24:00 and Tue-Sat 00:00-06:00).
struct TimeWindow {
  uint8_t days = 0;  // bit 0 = Monday ... bit 6 = Sunday
  int start_minute = 0;
  int end_minute = 0;  // up to 1440 (24:00)
  bool operator==(const TimeWindow&) const = default;
};

enum class RuleEffect : uint8_t { kAllow, kDeny };
struct CommandRule {
  RuleEffect effect = RuleEffect::kDeny;
  std::string pattern;   // "service:Operation" with '*' wildcards, matched without case
  std::string resource;  // an ARN pattern with '*' and '?' (command_rule.h); empty: any resource
  bool operator==(const CommandRule&) const = default;
};

// The access policy of one record. A record without one is governed by grants alone (plus the
// built-in deny of the STS calls that hand out credentials).
struct AccessPolicy {
  std::string record_id;
  std::vector<TimeWindow> windows;          // empty: any time
  std::string time_zone = "UTC";            // IANA name, used for the windows
  std::vector<net::Cidr> allowed_networks;  // empty: any client address
  bool approval_required = false;
  std::string approver_role_id;
  int64_t approval_max_duration_s = 8 * 3600;
  std::vector<CommandRule> command_rules;
};

enum class RequestState : uint8_t { kPending, kApproved, kDenied, kExpired, kRevoked };
std::string_view request_state_name(RequestState s);

struct AccessRequest {
  std::string id;
  std::string user_id;
  std::string record_id;
  absl::Time start_at;
  absl::Time end_at;
  std::string reason;
  // As stored: pending, approved, denied or revoked. Expired is derived (see effective_state).
  RequestState state = RequestState::kPending;
  absl::Time created_at;
  std::string decided_by;  // user id of the approver who approved or denied
  std::optional<absl::Time> decided_at;
  std::string decision_note;
  std::string revoked_by;
  std::optional<absl::Time> revoked_at;

  // Pending or approved requests whose end has passed are expired.
  RequestState effective_state(absl::Time now) const;
};

struct Settings {
  bool proxy_enabled = false;  // "proxy.enabled": starts disabled (SPEC.md step 1)
};

}  // namespace pamproxy::policy
