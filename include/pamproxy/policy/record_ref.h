#pragma once
// The RECORD half of AWS_ACCESS_KEY_ID=TOKENID#RECORD, parsed (docs/access-control.md):
//
//   r-k3x9q2m4p7w8z5nb      a record id
//   prod-billing            a record's exact name (anything without a recognised "key:" prefix)
//   name:prod-billing       exact name; '*' is a wildcard ("name:prod-*")
//   tag:prod                records carrying the tag
//   id:r-k3x9q2m4p7w8z5nb   a record id, explicitly
//   name:web-*+tag:eu       criteria joined with '+' must all hold
//
// Pure: no I/O. parse_record_ref allocates nothing: the criteria are views into the text.

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace pamproxy::policy {

enum class CriterionKind : uint8_t { kId, kName, kTag };
struct Criterion {
  CriterionKind kind = CriterionKind::kName;
  std::string_view value;
};

inline constexpr size_t kRecordRefBytesMax = 256;
inline constexpr size_t kCriteriaMax = 4;

struct RecordRef {
  // A bare reference: either a record id or an exact name (id tried first).
  bool bare = false;
  std::string_view text;  // the whole reference
  std::array<Criterion, kCriteriaMax> criteria{};
  size_t criteria_count = 0;
};

// Errors name what is wrong ("empty criterion value in 'tag:'", "unknown criterion 'foo:'" only
// when the text looks like one, too many criteria, too long).
absl::StatusOr<RecordRef> parse_record_ref(std::string_view text);

}  // namespace pamproxy::policy
