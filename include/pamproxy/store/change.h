#pragma once
// Admin changes: every mutation of the store names who made it and returns what changed, as JSON
// without secrets, so the admin API can answer with it and the audit log can record it. A sink
// registered on the store hears each change after it is committed (on the thread that made it).

#include <string>

#include "absl/time/time.h"

namespace pamproxy::store {

// Who asked for a change.
struct Actor {
  std::string user_id;   // empty for the system itself (bootstrap, expiry)
  std::string token_id;  // the REST API token the request came with, if any
  std::string source;    // client address, or "bootstrap", "pamctl-local", ...
};

struct AdminChange {
  Actor actor;
  std::string action;       // "record.create", "token.revoke", "settings.set", ...
  std::string object_type;  // "record", "token", "user", ...
  std::string object_id;
  // The object before and after, as JSON objects without secrets ("" when it did not exist /
  // no longer exists). Secrets appear only as "<field>_set": true/false.
  std::string before_json;
  std::string after_json;
  absl::Time at;
  uint64_t generation = 0;  // the snapshot generation that carries the change
};

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // Called after the change is committed and published. Must not call back into the store.
  virtual void on_admin_change(const AdminChange& change) = 0;
};

}  // namespace pamproxy::store
