#pragma once
// Which AWS account a record's keys belong to, asked of AWS itself: STS GetCallerIdentity
// (aws/caller_identity.h) signed with those keys, the one call any valid keys may make. The admin
// API asks when a record is saved without an account id (docs/admin-guide.md, records).
//
//   AccountAnswer a = sts_account_id({.region = "eu-west-1", .connect_to = "127.0.0.1:8443",
//                                     .ca_file = ca, .timeout_ms = 3000},
//                                    {.access_key_id = ak, .secret_access_key = sk}, absl::Now());
//   a.account_id   // "123456789012", or "" with a.error saying why:
//                  //   "STS answered HTTP 403 InvalidClientTokenId"
//
// One outbound::https_request to sts.<region>.amazonaws.com (or to `connect_to` in its name, as
// the data plane's [upstream] resolve overrides do), the certificate checked against `ca_file` or
// the system trust store. Blocks the thread that asks for at most timeout_ms: the admin server's
// worker (server.h), never the admin thread itself or the data plane. Bounded: one request, an
// answer of at most 64 KiB. The error never carries a secret: only the transport's error, the
// HTTP status and STS's error code.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace pamproxy::admin {

struct AwsKeys {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view session_token;  // "" = none
};

struct AccountAnswer {
  std::string account_id;  // 12 digits, or "" with `error`
  std::string error;
};

// How the admin API asks; `region` is the record's default region or us-east-1.
using AccountLookup = std::function<AccountAnswer(const AwsKeys& keys, std::string_view region)>;

struct StsOptions {
  std::string region = "us-east-1";  // the endpoint is sts.<region>.amazonaws.com
  std::string connect_to;            // "ip:port" or "[v6]:port" instead of DNS; "" = DNS
  std::string ca_file;               // "" = the system trust store
  int64_t timeout_ms = 3000;         // the whole call, from connecting to the answer's end
};

AccountAnswer sts_account_id(const StsOptions& options, const AwsKeys& keys, absl::Time now);

}  // namespace pamproxy::admin
