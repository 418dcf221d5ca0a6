#pragma once
// Requests and denials per minute for the console's dashboard, counted from the audit log (every
// request the proxy decided is a request.forwarded or request.denied event there): the admin
// thread follows the log from the newest file on, a bounded number of lines per call, and keeps
// the counts of the last kMinutes minutes. It reads only what the writer has written; the
// proxy's workers are not involved.
//
//   Activity a(audit_directory);
//   a.catch_up(now_unix_ns);          // before each answer
//   a.write_json(w, now_unix_ns);     // [{"minute":"2026-12-07T14:05:00Z","requests":3,...}]
//
// Bounds: kMinutes buckets; at most kLinesPerCall lines read per catch_up (a burst larger than
// that is counted over the next calls). Not thread-safe: one caller (the admin thread).

#include <array>
#include <cstdint>
#include <string>

#include "pamproxy/audit/log_reader.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::admin {

class Activity {
 public:
  static constexpr size_t kMinutes = 15;
  static constexpr size_t kLinesPerCall = 200000;

  explicit Activity(std::string audit_directory);

  // Reads the lines written since the last call (from the start of the newest file the first
  // time). Events older than the kept minutes are skipped.
  void catch_up(int64_t now_unix_ns);
  // The last kMinutes minutes, oldest first, the current one last.
  void write_json(JsonWriter& w, int64_t now_unix_ns) const;
  // Both totals over the kept minutes.
  uint64_t requests(int64_t now_unix_ns) const;
  uint64_t denied(int64_t now_unix_ns) const;

 private:
  struct Minute {
    int64_t index = -1;  // minutes since the epoch
    uint64_t requests = 0;
    uint64_t denied = 0;
  };
  const Minute* minute_at(int64_t index) const;

  std::string directory_;
  audit::LogReader reader_;
  bool started_ = false;
  std::array<Minute, kMinutes> minutes_{};
};

}  // namespace pamproxy::admin
