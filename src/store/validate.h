#pragma once
// Field checks shared by the store's mutations. Each error names the field (invalid_field).
// Internal to src/store, but for access_key_id_warning, which the admin API also answers with.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace pamproxy::store {

// 1..max bytes, valid printable text: no control characters, no leading or trailing space.
absl::Status check_name(std::string_view field, std::string_view value, size_t max_bytes);
// 0..max bytes, no control characters other than newline and tab.
absl::Status check_text(std::string_view field, std::string_view value, size_t max_bytes);
// "" or an e-mail address for notifications: local@domain, at most 254 printable ASCII bytes, no
// space, quote, angle bracket or comma (it goes into an SMTP envelope and a To: header as is).
absl::Status check_email(std::string_view field, std::string_view value);
// Record names are also record references: refuse the criterion prefixes.
absl::Status check_record_name(std::string_view value);
// Access key id: 3-128 printable ASCII characters, no space. AWS's are AKIA... (16-128 of
// [A-Z0-9]); S3-compatible stores (MinIO, Ceph RGW, Cloudflare R2, Wasabi) have other shapes.
absl::Status check_access_key_id(std::string_view value);
// A sentence for the admin when a valid id is not shaped like an AWS access key id (AKIA, ASIA,
// ABIA or ACCA and 12-124 more of [A-Z0-9]): right for an S3-compatible store, a typo for AWS.
std::optional<std::string> access_key_id_warning(std::string_view value);
// 1..max visible ASCII bytes (secrets: the message never repeats the value).
absl::Status check_secret(std::string_view field, std::string_view value, size_t max_bytes,
                          bool required);
// "" or e.g. "eu-central-1": [a-z0-9-], at most 32.
absl::Status check_region(std::string_view value);
// "" or an AWS account id: exactly 12 digits.
absl::Status check_aws_account_id(std::string_view value);
// Tags: 1-64 of [A-Za-z0-9_.:=-] each ('+' and ',' separate criteria), at most 32. Sorts and
// removes duplicates.
absl::Status check_tags(std::string_view field, std::vector<std::string>* tags);
absl::Status check_tag(std::string_view field, std::string_view tag);

}  // namespace pamproxy::store
