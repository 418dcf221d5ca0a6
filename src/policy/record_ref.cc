#include "pamproxy/policy/record_ref.h"

#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

// The criterion a segment starts with, and its value; false when it has no known prefix.
bool split_criterion(std::string_view seg, Criterion* out) {
  struct Prefix {
    std::string_view text;
    CriterionKind kind;
  };
  static constexpr Prefix kPrefixes[] = {
      {"id:", CriterionKind::kId}, {"name:", CriterionKind::kName}, {"tag:", CriterionKind::kTag}};
  for (const Prefix& p : kPrefixes) {
    if (seg.substr(0, p.text.size()) == p.text) {
      *out = Criterion{p.kind, seg.substr(p.text.size())};
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<RecordRef> parse_record_ref(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("the record reference after '#' is empty");
  if (text.size() > kRecordRefBytesMax) {
    return absl::InvalidArgumentError(
        cat("the record reference is longer than ", kRecordRefBytesMax, " bytes"));
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("the record reference has a control character");
    }
  }
  RecordRef ref;
  ref.text = text;
  Criterion first;
  if (!split_criterion(text, &first)) {
    ref.bare = true;
    return ref;
  }
  size_t pos = 0;
  while (true) {
    size_t plus = text.find('+', pos);
    std::string_view seg =
        text.substr(pos, plus == std::string_view::npos ? text.npos : plus - pos);
    Criterion c;
    if (!split_criterion(seg, &c)) {
      return absl::InvalidArgumentError(
          cat("criterion '", seg, "' in record reference does not start with id:, name: or tag:"));
    }
    if (c.value.empty()) {
      return absl::InvalidArgumentError(
          cat("criterion '", seg, "' in record reference has no value"));
    }
    if (ref.criteria_count == kCriteriaMax) {
      return absl::InvalidArgumentError(
          cat("more than ", kCriteriaMax, " criteria in record reference"));
    }
    ref.criteria[ref.criteria_count++] = c;
    if (plus == std::string_view::npos) break;
    pos = plus + 1;
  }
  return ref;
}

}  // namespace pamproxy::policy
