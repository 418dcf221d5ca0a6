#pragma once
// Resolution of a record reference (record_ref.h) against a snapshot, for one user: the reference
// must match exactly one record the user may connect to. Pure: no I/O; allocates only to build
// an error message.

#include <cstdint>
#include <string>
#include <string_view>

#include "pamproxy/policy/record_ref.h"
#include "pamproxy/policy/snapshot.h"

namespace pamproxy::policy {

enum class ResolveError : uint8_t { kNone, kInvalid, kNotFound, kAmbiguous, kNoConnect };

struct Resolution {
  ResolveError error = ResolveError::kNone;
  int32_t record_index = -1;  // when error == kNone
  std::string message;        // when error != kNone: what matched or did not, and what to do
};

Resolution resolve_record(const Snapshot& snapshot, uint32_t user_index, std::string_view ref);

// Whether `record` meets every criterion of a parsed, non-bare reference (the admin API resolves
// references against the records a caller may view, with its own messages).
bool record_matches(const RecordRef& ref, const Record& record);

}  // namespace pamproxy::policy
