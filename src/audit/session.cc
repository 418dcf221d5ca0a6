// Session aggregation and the session report (pure).

#include "pamproxy/audit/session.h"

#include <algorithm>
#include <cstdio>

#include "pamproxy/audit/line.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::audit {
namespace {

std::string key_of(const Event& e) {
  std::string k(e.user.view());
  k.push_back('\0');
  k.append(e.record_id.view());
  k.push_back('\0');
  k.append(e.source_ip.view());
  return k;
}

std::string time_text(int64_t unix_ns) {
  char buf[32];
  return std::string(buf, format_event_time(unix_ns, buf));
}

std::string duration_text(int64_t ns) {
  int64_t s = std::max<int64_t>(0, ns / 1000000000);
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  }
  return buf;
}

// The keys of a session's summary fields in the two JSON forms that carry them: the report
// (CloudTrail-like names) and the session lists of the admin API and pamctl.
struct SummaryKeys {
  const char* id;
  const char* token_id;
  const char* record_id;
  const char* record_name;
  const char* source_ip;
  const char* started;
  const char* last_activity;
  const char* bytes_in;
  const char* bytes_out;
};
constexpr SummaryKeys kReportKeys = {"sessionId",        "tokenId",         "recordId",
                                     "recordName",       "sourceIPAddress", "startTime",
                                     "lastActivityTime", "bytesIn",         "bytesOut"};
constexpr SummaryKeys kListKeys = {"id",        "token_id", "record_id",     "record_name",
                                   "source_ip", "started",  "last_activity", "bytes_in",
                                   "bytes_out"};

// The summary fields, in the same order in both forms; `user_name` follows `user` when given.
void write_summary(JsonWriter& w, const SessionReport& r, const SummaryKeys& k,
                   std::optional<std::string_view> user_name) {
  w.key(k.id).value(r.id);
  w.key("user").value(r.user);
  if (user_name) w.key("user_name").value(*user_name);
  w.key(k.token_id).value(r.token_id);
  w.key(k.record_id).value(r.record_id);
  w.key(k.record_name).value(r.record_name);
  w.key(k.source_ip).value(r.source_ip);
  w.key(k.started).value(time_text(r.started_unix_ns));
  w.key(k.last_activity).value(time_text(r.last_unix_ns));
  w.key("requests").value(r.requests);
  w.key("denied").value(r.denied);
  w.key(k.bytes_in).value(r.bytes_in);
  w.key(k.bytes_out).value(r.bytes_out);
}

}  // namespace

SessionAggregator::SessionAggregator(int64_t idle_timeout_s, size_t commands_max, size_t open_max)
    : idle_timeout_ns_(idle_timeout_s * 1000000000),
      commands_max_(commands_max),
      open_max_(std::max<size_t>(1, open_max)) {}

// How far back a request.completed looks for its command (responses arrive in order, soon).
constexpr size_t kOutcomeLookback = 64;

std::string SessionAggregator::add(const Event& e, uint64_t seq, std::vector<Session>* closed) {
  if (e.type == EventType::kRequestCompleted) return merge_outcome(e);
  bool request = e.type == EventType::kRequestForwarded || e.type == EventType::kRequestDenied;
  if (!request || e.user.empty() || e.record_id.empty()) return {};
  std::string key = key_of(e);
  auto it = open_.find(key);
  if (it != open_.end() && e.time_unix_ns - it->second.last_unix_ns > idle_timeout_ns_) {
    closed->push_back(std::move(it->second));
    closed->back().open = false;
    open_.erase(it);
    it = open_.end();
  }
  if (it == open_.end()) {
    if (open_.size() >= open_max_) {
      auto oldest = std::min_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
        return a.second.last_unix_ns < b.second.last_unix_ns;
      });
      closed->push_back(std::move(oldest->second));
      closed->back().open = false;
      open_.erase(oldest);
    }
    Session s;
    s.id = "s-" + std::to_string(seq);
    s.first_seq = seq;
    s.open = true;
    s.user = e.user.view();
    s.token_id = e.token_id.view();
    s.record_id = e.record_id.view();
    s.record_name = e.record_name.view();
    s.source_ip = e.source_ip.view();
    s.started_unix_ns = e.time_unix_ns;
    it = open_.emplace(std::move(key), std::move(s)).first;
  }
  Session& s = it->second;
  s.last_unix_ns = std::max(s.last_unix_ns, e.time_unix_ns);
  ++s.requests;
  bool denied = e.type == EventType::kRequestDenied;
  if (denied) ++s.denied;
  s.bytes_in += e.bytes_in;
  s.bytes_out += e.bytes_out;
  if (s.commands.size() >= commands_max_) {
    ++s.commands_dropped;
  } else {
    SessionCommand c;
    c.time_unix_ns = e.time_unix_ns;
    c.seq = seq;
    c.cli_command = e.cli_command.view();
    c.event_source = e.event_source.view();
    c.event_name = e.event_name.view();
    c.target_host = e.target_host.view();
    c.status = e.status;
    c.denied = denied;
    c.deny_reason = e.deny_reason.view();
    c.error_code = e.error_code.view();
    c.request_id = e.request_id.view();
    c.bytes_in = e.bytes_in;
    c.bytes_out = e.bytes_out;
    c.duration_us = e.duration_us;
    s.commands.push_back(std::move(c));
  }
  return s.id;
}

std::string SessionAggregator::merge_outcome(const Event& e) {
  if (e.user.empty() || e.record_id.empty() || e.request_id.empty()) return {};
  auto it = open_.find(key_of(e));
  if (it == open_.end()) return {};  // closed meanwhile: its report is already written
  Session& s = it->second;
  const size_t n = s.commands.size();
  for (size_t i = 0; i < n && i < kOutcomeLookback; ++i) {
    SessionCommand& c = s.commands[n - 1 - i];
    if (c.request_id != e.request_id.view() || c.completed) continue;
    c.completed = true;
    c.status = e.status;
    if (!e.error_code.empty()) c.error_code = e.error_code.view();
    c.aws_request_id = e.aws_request_id.view();
    // A streamed upload is counted as it passes, so its request.forwarded event says 0 bytes in
    // and the completed one has the size; a body known at both is counted once.
    if (e.bytes_in > c.bytes_in) {
      s.bytes_in += e.bytes_in - c.bytes_in;
      c.bytes_in = e.bytes_in;
    }
    c.bytes_out = e.bytes_out;
    c.duration_us = e.duration_us;
    s.bytes_out += e.bytes_out;
    s.last_unix_ns = std::max(s.last_unix_ns, e.time_unix_ns);
    return s.id;
  }
  return {};
}

std::vector<Session> SessionAggregator::expire(int64_t now_unix_ns) {
  std::vector<Session> out;
  for (auto it = open_.begin(); it != open_.end();) {
    if (now_unix_ns - it->second.last_unix_ns > idle_timeout_ns_) {
      out.push_back(std::move(it->second));
      out.back().open = false;
      open_.erase(it++);
    } else {
      ++it;
    }
  }
  std::sort(out.begin(), out.end(), [](const Session& a, const Session& b) {
    return a.started_unix_ns < b.started_unix_ns;
  });
  return out;
}

std::vector<Session> SessionAggregator::close_all() {
  return expire(INT64_MAX);
}

const Session* SessionAggregator::find_open(std::string_view id) const {
  for (const auto& [key, s] : open_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

std::string session_report_json(const Session& s) {
  JsonWriter w;
  w.begin_object();
  write_summary(w, s, kReportKeys, std::nullopt);
  w.key("commandsNotListed").value(s.commands_dropped);
  w.key("commands").begin_array();
  for (const SessionCommand& c : s.commands) {
    w.begin_object();
    w.key("eventTime").value(time_text(c.time_unix_ns));
    w.key("seq").value(c.seq);
    w.key("cliCommand").value(c.cli_command);
    w.key("eventSource").value(c.event_source);
    w.key("eventName").value(c.event_name);
    w.key("outcome").value(c.denied ? "denied" : "forwarded");
    w.key("status").value(static_cast<int64_t>(c.status));
    if (!c.error_code.empty()) w.key("errorCode").value(c.error_code);
    if (!c.deny_reason.empty()) w.key("denyReason").value(c.deny_reason);
    w.key("proxyRequestId").value(c.request_id);
    if (!c.aws_request_id.empty()) w.key("requestID").value(c.aws_request_id);
    w.key("bytesIn").value(c.bytes_in);
    w.key("bytesOut").value(c.bytes_out);
    w.key("durationUs").value(c.duration_us);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

SessionReport stored_report(const Session& s) {
  SessionReport r = static_cast<const SessionReport&>(s);
  r.report_json = session_report_json(s);
  r.report_text = session_report_text(s);
  return r;
}

void write_session_json(JsonWriter& w, const SessionReport& r,
                        std::optional<std::string_view> user_name, bool with_report) {
  w.begin_object();
  write_summary(w, r, kListKeys, user_name);
  w.key("open").value(r.open);
  if (with_report) w.key("report").raw(r.report_json.empty() ? "null" : r.report_json);
  w.end_object();
}

std::string session_report_text(const Session& s) {
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof(line), fmt, args...);
    out += line;
  };
  add("Session %s\n", s.id.c_str());
  add("  user:     %s (token %s)\n", s.user.c_str(), s.token_id.c_str());
  add("  record:   %s \"%s\"\n", s.record_id.c_str(), s.record_name.c_str());
  add("  from:     %s\n", s.source_ip.c_str());
  add("  time:     %s .. %s (%s)\n", time_text(s.started_unix_ns).c_str(),
      time_text(s.last_unix_ns).c_str(), duration_text(s.last_unix_ns - s.started_unix_ns).c_str());
  add("  requests: %llu (%llu denied), bytes in %llu, out %llu\n",
      static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.denied),
      static_cast<unsigned long long>(s.bytes_in), static_cast<unsigned long long>(s.bytes_out));
  add("\n  %-27s  %-24s  %-36s  %6s  %10s  %10s\n", "TIME", "CLI COMMAND", "OPERATION", "STATUS",
      "BYTES IN", "BYTES OUT");
  for (const SessionCommand& c : s.commands) {
    std::string op = c.event_source.empty() ? c.event_name : c.event_source + " " + c.event_name;
    add("  %-27s  %-24.24s  %-36.36s  %6d  %10llu  %10llu\n", time_text(c.time_unix_ns).c_str(),
        c.cli_command.empty() ? "-" : c.cli_command.c_str(), op.c_str(), c.status,
        static_cast<unsigned long long>(c.bytes_in), static_cast<unsigned long long>(c.bytes_out));
    if (c.denied) add("  %27s  denied: %.400s\n", "", c.deny_reason.c_str());
  }
  if (s.commands_dropped > 0) {
    add("  ... and %llu more request(s) not listed\n",
        static_cast<unsigned long long>(s.commands_dropped));
  }
  return out;
}

}  // namespace pamproxy::audit
