// Fuzz target: the record reference syntax (the RECORD in TOKENID#RECORD) and its resolution
// against a small snapshot. Any input must parse or give a message, never crash; a resolution
// either names exactly one record the user may connect to or explains itself.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/policy/record_ref.h"
#include "pamproxy/policy/resolve.h"
#include "pamproxy/policy/snapshot.h"

namespace {

std::shared_ptr<const pamproxy::policy::Snapshot> world() {
  using namespace pamproxy::policy;
  SnapshotData d;
  d.users = {{"u-a", "a", false, {}}};
  for (int i = 0; i < 6; ++i) {
    Record r;
    r.id = "r-" + std::to_string(i);
    r.name = i % 2 ? "prod-" + std::to_string(i) : "dev " + std::to_string(i);
    r.tags = {i % 2 ? "prod" : "dev", "t" + std::to_string(i)};
    d.records.push_back(std::move(r));
    if (i != 5)
      d.grants.push_back({"g" + std::to_string(i),
                          "u-a",
                          "",
                          "r-" + std::to_string(i),
                          "",
                          i == 4 ? kView : kConnect,
                          {}});
  }
  return Snapshot::build(std::move(d), 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::policy;
  static const auto snap = world();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = parse_record_ref(text);
  if (ref.ok()) {
    if (!ref->bare && (ref->criteria_count == 0 || ref->criteria_count > kCriteriaMax))
      std::abort();
    for (size_t i = 0; i < ref->criteria_count; ++i) {
      if (ref->criteria[i].value.empty()) std::abort();
    }
  } else if (ref.status().message().empty()) {
    std::abort();
  }
  Resolution r = resolve_record(*snap, 0, text);
  if (r.error == ResolveError::kNone) {
    if (r.record_index < 0 || (snap->permissions(0, r.record_index) & kConnect) == 0) std::abort();
  } else if (r.message.empty() || r.record_index != -1) {
    std::abort();
  }
  return 0;
}
