// Requests and denials per minute from the audit log (see activity.h).

#include "activity.h"

#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_files.h"

namespace pamproxy::admin {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;

int64_t minute_of(int64_t unix_ns) {
  return unix_ns >= 0 ? unix_ns / kMinuteNs : (unix_ns - kMinuteNs + 1) / kMinuteNs;
}

}  // namespace

Activity::Activity(std::string audit_directory)
    : directory_(std::move(audit_directory)), reader_(directory_) {}

void Activity::catch_up(int64_t now_unix_ns) {
  if (directory_.empty()) return;
  if (!started_) {
    // The newest file: what came before is older than any minute kept, or too much to read.
    auto files = audit::list_log_files(directory_);
    if (!files.ok() || files->empty()) return;
    audit::LogFileName name;
    if (audit::parse_log_file_name(files->back(), &name)) reader_.resume_at(name.first_seq);
    started_ = true;
  }
  const int64_t oldest = minute_of(now_unix_ns) - static_cast<int64_t>(kMinutes) + 1;
  auto read = reader_.poll(
      [&](uint64_t, const audit::Event& e) {
        const bool denied = e.type == audit::EventType::kRequestDenied;
        if (!denied && e.type != audit::EventType::kRequestForwarded) return true;
        const int64_t index = minute_of(e.time_unix_ns);
        if (index < oldest) return true;
        Minute& m = minutes_[static_cast<size_t>(index) % kMinutes];
        if (m.index != index) m = Minute{.index = index};
        ++m.requests;
        if (denied) ++m.denied;
        return true;
      },
      kLinesPerCall);
  // A log that cannot be read leaves the counts as they are; the next call tries again.
  (void)read;
}

const Activity::Minute* Activity::minute_at(int64_t index) const {
  const Minute& m = minutes_[static_cast<size_t>(index) % kMinutes];
  return m.index == index ? &m : nullptr;
}

void Activity::write_json(JsonWriter& w, int64_t now_unix_ns) const {
  const int64_t now = minute_of(now_unix_ns);
  w.begin_array();
  for (int64_t index = now - static_cast<int64_t>(kMinutes) + 1; index <= now; ++index) {
    const Minute* m = minute_at(index);
    char buf[32];
    size_t n = audit::format_event_time(index * kMinuteNs, buf);
    // "2026-12-07T14:05:00.000000Z" -> "2026-12-07T14:05:00Z"
    std::string minute(buf, n);
    if (minute.size() > 20) minute = minute.substr(0, 19) + "Z";
    w.begin_object();
    w.key("minute").value(minute);
    w.key("requests").value(m ? m->requests : uint64_t{0});
    w.key("denied").value(m ? m->denied : uint64_t{0});
    w.end_object();
  }
  w.end_array();
}

uint64_t Activity::requests(int64_t now_unix_ns) const {
  uint64_t total = 0;
  const int64_t now = minute_of(now_unix_ns);
  for (int64_t i = now - static_cast<int64_t>(kMinutes) + 1; i <= now; ++i) {
    if (const Minute* m = minute_at(i)) total += m->requests;
  }
  return total;
}

uint64_t Activity::denied(int64_t now_unix_ns) const {
  uint64_t total = 0;
  const int64_t now = minute_of(now_unix_ns);
  for (int64_t i = now - static_cast<int64_t>(kMinutes) + 1; i <= now; ++i) {
    if (const Minute* m = minute_at(i)) total += m->denied;
  }
  return total;
}

}  // namespace pamproxy::admin
