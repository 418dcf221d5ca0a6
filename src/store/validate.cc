#include "src/store/validate.h"

#include <algorithm>

#include "pamproxy/policy/strings.h"
#include "src/store/store_impl.h"

namespace pamproxy::store {

using policy::cat;

absl::Status check_text(std::string_view field, std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes)
    return invalid_field(field, cat("longer than ", max_bytes, " bytes"));
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      return invalid_field(field, "has a control character");
    }
  }
  return absl::OkStatus();
}

absl::Status check_name(std::string_view field, std::string_view value, size_t max_bytes) {
  if (value.empty()) return invalid_field(field, "must not be empty");
  if (value.size() > max_bytes)
    return invalid_field(field, cat("longer than ", max_bytes, " bytes"));
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return invalid_field(field, "has a control character");
  }
  if (policy::is_space(value.front()) || policy::is_space(value.back())) {
    return invalid_field(field, "must not start or end with white space");
  }
  return absl::OkStatus();
}

absl::Status check_email(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (value.size() > 254) return invalid_field(field, "longer than 254 bytes");
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '<' || c == '>' || c == ',' || c == '\\' ||
        c == '(' || c == ')' || c == ';') {
      return invalid_field(field, "an address like name@example.com, printable ASCII, no spaces");
    }
  }
  size_t at = value.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == value.size() ||
      value.find('@', at + 1) != std::string_view::npos ||
      value.substr(at + 1).find('.') == std::string_view::npos) {
    return invalid_field(field, "an address like name@example.com (one @, a dotted domain)");
  }
  return absl::OkStatus();
}

absl::Status check_record_name(std::string_view value) {
  if (absl::Status s = check_name("name", value, 128); !s.ok()) return s;
  for (std::string_view prefix : {"id:", "name:", "tag:"}) {
    if (value.substr(0, prefix.size()) == prefix) {
      return invalid_field(
          "name", cat("must not start with '", prefix, "' (it would read as a search criterion)"));
    }
  }
  return absl::OkStatus();
}

absl::Status check_access_key_id(std::string_view value) {
  constexpr std::string_view kAllowed =
      "must be 3-128 printable ASCII characters without spaces (AWS: AKIAIOSFODNN7EXAMPLE; "
      "S3-compatible stores such as MinIO or Ceph use their own shapes)";
  if (value.size() < 3 || value.size() > 128) return invalid_field("access_key_id", kAllowed);
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7f) return invalid_field("access_key_id", kAllowed);
  }
  return absl::OkStatus();
}

std::optional<std::string> access_key_id_warning(std::string_view value) {
  // AWS's documented prefixes of access key ids: AKIA (long-term), ASIA (temporary, from STS),
  // ABIA (STS service bearer token), ACCA (context-specific credential).
  constexpr std::string_view kPrefixes[] = {"AKIA", "ASIA", "ABIA", "ACCA"};
  bool aws = value.size() >= 16 && value.size() <= 128;
  bool known_prefix = false;
  for (std::string_view p : kPrefixes) known_prefix = known_prefix || value.substr(0, 4) == p;
  aws = aws && known_prefix;
  for (char c : value) aws = aws && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  if (aws) return std::nullopt;
  return std::string(
      "the access key id does not look like an AWS one (AKIA or ASIA and 12-124 upper-case "
      "letters and digits): right for an S3-compatible store, but AWS will refuse it");
}

absl::Status check_secret(std::string_view field, std::string_view value, size_t max_bytes,
                          bool required) {
  if (value.empty()) {
    return required ? invalid_field(field, "must not be empty") : absl::OkStatus();
  }
  if (value.size() > max_bytes)
    return invalid_field(field, cat("longer than ", max_bytes, " bytes"));
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7f) {
      return invalid_field(field, "must be visible ASCII characters without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status check_region(std::string_view value) {
  if (value.size() > 32) return invalid_field("default_region", "longer than 32 bytes");
  for (char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return invalid_field("default_region", "must look like eu-central-1");
    }
  }
  return absl::OkStatus();
}

absl::Status check_aws_account_id(std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  bool digits = value.size() == 12;
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (!digits) return invalid_field("aws_account_id", "must be 12 digits, like 123456789012");
  return absl::OkStatus();
}

absl::Status check_tag(std::string_view field, std::string_view tag) {
  if (tag.empty() || tag.size() > 64) return invalid_field(field, "a tag must be 1-64 bytes");
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '=' || c == '-';
    if (!ok)
      return invalid_field(field, cat("tag '", tag, "' has a character outside [A-Za-z0-9_.:=-]"));
  }
  return absl::OkStatus();
}

absl::Status check_tags(std::string_view field, std::vector<std::string>* tags) {
  if (tags->size() > 32) return invalid_field(field, "more than 32 tags");
  for (const std::string& t : *tags) {
    if (absl::Status s = check_tag(field, t); !s.ok()) return s;
  }
  std::sort(tags->begin(), tags->end());
  tags->erase(std::unique(tags->begin(), tags->end()), tags->end());
  return absl::OkStatus();
}

}  // namespace pamproxy::store
