#include "pamproxy/policy/resolve.h"

#include <algorithm>

#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/record_ref.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

constexpr size_t kAmbiguousListed = 5;

bool matches(const Record& r, const Criterion& c) {
  switch (c.kind) {
    case CriterionKind::kId: return r.id == c.value;
    case CriterionKind::kName:
      // Exact (case-sensitive) unless the value has a wildcard.
      if (c.value.find('*') == std::string_view::npos) return r.name == c.value;
      return glob_match(c.value, r.name);
    case CriterionKind::kTag: return std::binary_search(r.tags.begin(), r.tags.end(), c.value);
  }
  return false;
}

std::string describe(const Record& r) {
  return cat("'", r.name, "' (", r.id, ")");
}

Resolution fail(ResolveError e, std::string message) {
  return Resolution{e, -1, std::move(message)};
}

Resolution resolve_bare(const Snapshot& s, uint32_t user_index, std::string_view text) {
  int32_t index = s.record_index_by_id(text);
  if (index < 0) index = s.record_index_by_name(text);
  Permissions p = index < 0 ? 0 : s.permissions(user_index, static_cast<uint32_t>(index));
  if (index >= 0 && (p & kConnect) != 0) return Resolution{ResolveError::kNone, index, {}};
  // Say that the record exists only to someone who may see it.
  if (index >= 0 && (p & kView) != 0) {
    return fail(ResolveError::kNoConnect,
                cat("you may view record ", describe(s.record(index).record),
                    " but have no Connect permission on it; ask an admin for a grant"));
  }
  return fail(ResolveError::kNotFound,
              cat("no record with id or name '", text,
                  "' that you may connect to (criteria: name:, tag:, id:)"));
}

}  // namespace

bool record_matches(const RecordRef& ref, const Record& record) {
  for (size_t c = 0; c < ref.criteria_count; ++c) {
    if (!matches(record, ref.criteria[c])) return false;
  }
  return true;
}

Resolution resolve_record(const Snapshot& s, uint32_t user_index, std::string_view text) {
  absl::StatusOr<RecordRef> ref = parse_record_ref(text);
  if (!ref.ok()) return fail(ResolveError::kInvalid, std::string(ref.status().message()));
  if (ref->bare) return resolve_bare(s, user_index, text);

  int32_t found = -1;
  size_t count = 0;
  std::span<const RecordEntry> records = s.records();
  for (uint32_t i = 0; i < records.size(); ++i) {
    if (!record_matches(*ref, records[i].record) || (s.permissions(user_index, i) & kConnect) == 0) {
      continue;
    }
    if (count++ == 0) found = static_cast<int32_t>(i);
  }
  if (count == 1) return Resolution{ResolveError::kNone, found, {}};
  if (count == 0) {
    return fail(ResolveError::kNotFound, cat("no record you may connect to matches '", text, "'"));
  }
  // Several: name the first few so the user can pick one (they may connect to each of them).
  std::string msg = cat("'", text, "' matches ", count, " records you may connect to: ");
  size_t listed = 0;
  for (uint32_t i = 0; i < records.size() && listed < kAmbiguousListed; ++i) {
    const Record& r = records[i].record;
    if (!record_matches(*ref, r) || (s.permissions(user_index, i) & kConnect) == 0) continue;
    if (listed++ > 0) msg += ", ";
    msg += describe(r);
  }
  if (count > listed) append(msg, ", ...");
  msg += "; use the record id or narrow the criteria (e.g. name:X+tag:Y)";
  return fail(ResolveError::kAmbiguous, std::move(msg));
}

}  // namespace pamproxy::policy
