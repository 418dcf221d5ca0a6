#pragma once
// Token checks shared by the proxy's decision and the admin API's bearer authentication: the
// token exists, is not revoked, has not expired, and is used from one of its networks. The admin
// API also proves possession by comparing the presented secret (in constant time); the proxy
// proves it through the SigV4 signature instead. Pure: no I/O.

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/policy/decision.h"

namespace pamproxy::policy {

struct TokenCheck {
  DenyKind deny = DenyKind::kNone;  // kNone: the token may be used
  std::string reason;
  const TokenEntry* token = nullptr;
  const UserEntry* user = nullptr;
};

// Steps 2-5 of the decision order (docs/access-control.md), without the secret; a token of a
// disabled user is refused right after a revoked one.
TokenCheck check_token(const Snapshot& snapshot, std::string_view token_id,
                       const net::IpAddress& client, absl::Time now);

// For `Authorization: Bearer <id>:<secret>`. A wrong secret is reported exactly like an unknown
// token, so the answer does not tell whether an id exists.
TokenCheck authenticate_bearer(const Snapshot& snapshot, std::string_view token_id,
                               std::string_view secret, const net::IpAddress& client,
                               absl::Time now);

}  // namespace pamproxy::policy
