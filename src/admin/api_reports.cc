// Admin API: session reports, the audit log search and its verification, and the dashboard
// (docs/admin-api.md, docs/audit.md). Sessions come from the store (the session indexer keeps
// them); audit events are read from the log directory, a bounded number of lines per call.

#include <chrono>

#include "absl/strings/numbers.h"
#include "activity.h"
#include "api_internal.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_reader.h"
#include "pamproxy/audit/search.h"
#include "pamproxy/audit/session.h"
#include "pamproxy/audit/signing_key.h"
#include "pamproxy/audit/verifier.h"
#include "pamproxy/base/arn_pattern.h"

namespace pamproxy::admin {
namespace {

// Bounds of a session list filtered by resource: each session's report is read to match its
// commands' resources, at most kResourceScanSessionsMax of them per call (the answer then
// carries a cursor to go on from), kResourceScanBatch at a time.
constexpr size_t kResourceScanSessionsMax = 200;
constexpr size_t kResourceScanBatch = 20;
// The dashboard counts the open sessions among those active in the last day, at most this many.
constexpr size_t kDashboardSessionsMax = 1000;

std::string time_text(int64_t unix_ns) {
  char buf[32];
  return std::string(buf, audit::format_event_time(unix_ns, buf));
}

// ?since= / ?until=: RFC 3339. Returns false (with a 400 in `error`) when malformed.
bool time_param(const Api::Call& call, std::string_view name, std::optional<int64_t>* out,
                ApiResponse* error) {
  std::string text = call.param(name);
  if (text.empty()) return true;
  auto t = parse_rfc3339(text);
  if (!t) {
    *error =
        error_answer(400, "InvalidField",
                     std::string(name) + ": expected RFC 3339, e.g. 2026-12-05T08:00:00Z", name);
    return false;
  }
  *out = absl::ToUnixNanos(*t);
  return true;
}

std::string_view user_name(const Api::Call& call, const std::string& id) {
  const policy::UserEntry* u = call.snapshot->find_user(id);
  return u == nullptr ? std::string_view() : std::string_view(u->user.name);
}

std::string_view record_name(const Api::Call& call, const std::string& id) {
  int32_t i = call.snapshot->record_index_by_id(id);
  return i < 0 ? std::string_view() : std::string_view(call.snapshot->record(i).record.name);
}

// The text report, rendered from the stored JSON with the user's and the record's current names;
// the text stored with it (ids only) when the JSON cannot be read.
std::string report_text(const Api::Call& call, const audit::SessionReport& row) {
  absl::StatusOr<audit::Session> s = audit::session_of_report(row);
  if (!s.ok()) return row.report_text;
  return audit::session_report_text(
      *s, audit::ReportNames{user_name(call, row.user), record_name(call, row.record_id)});
}

// Whether one of the session's commands names a resource matching `pattern` (a command lists
// its first resources only, as its audit event does: it matches on those).
bool touches(const audit::SessionReport& row, std::string_view pattern) {
  absl::StatusOr<audit::Session> s = audit::session_of_report(row);
  if (!s.ok()) return false;
  for (const audit::SessionCommand& c : s->commands) {
    for (const std::string& arn : c.resources) {
      if (arn_match(pattern, arn)) return true;
    }
  }
  return false;
}

// The sessions of `q` whose commands touched a resource matching `pattern`, newest first, at
// most `limit`; reads at most kResourceScanSessionsMax reports, then answers with a cursor.
ApiResponse sessions_touching(Api::Call& call, audit::SessionQuery q, std::string_view pattern,
                              size_t limit) {
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  size_t shown = 0;
  size_t scanned = 0;
  std::optional<audit::SessionReport> last;  // the last one scanned
  bool exhausted = false;                    // the store has no session left past `last`
  while (!exhausted && shown < limit && scanned < kResourceScanSessionsMax) {
    q.limit = kResourceScanBatch;
    std::vector<audit::SessionReport> rows = call.store().list_sessions(q);
    exhausted = rows.size() < kResourceScanBatch;
    for (size_t i = 0; i < rows.size(); ++i) {
      const audit::SessionReport& row = rows[i];
      ++scanned;
      last = row;
      q.after = audit::SessionPosition{row.started_unix_ns, row.id};
      auto full = call.store().get_session(row.id);
      if (full.ok() && touches(*full, pattern)) {
        audit::write_session_json(w, row, user_name(call, row.user), false);
        ++shown;
      }
      if (shown == limit || scanned == kResourceScanSessionsMax) {
        if (i + 1 < rows.size()) exhausted = false;
        break;
      }
    }
  }
  w.end_array();
  // Stopped early (page full or scan bound) with sessions left: another call goes on from here.
  if (!exhausted && last) w.key("next_cursor").value(audit::session_cursor(*last));
  w.end_object();
  return json_answer(200, w.take());
}

ApiResponse sessions(Api::Call& call) {
  const auto& seg = call.segments;
  if (call.method() != "GET") return method_not_allowed("GET");
  if (seg.size() == 2) {
    auto row = call.store().get_session(seg[1]);
    if (!row.ok() || (!call.admin() && row->user != call.user_id())) {
      return row.ok() || row.status().code() == absl::StatusCode::kNotFound
                 ? not_found("no session '" + seg[1] + "' you may see")
                 : store_error(row.status());
    }
    if (call.param("format") == "text") {
      return ApiResponse{200, "text/plain; charset=utf-8", report_text(call, *row)};
    }
    JsonWriter w;
    audit::write_session_json(w, *row, user_name(call, row->user), true);
    return json_answer(200, w.take());
  }
  if (seg.size() != 1) return not_found("sessions or sessions/{id}");
  ApiResponse error;
  audit::SessionQuery q;
  q.user = call.param("user");
  q.record = call.param("record");
  if (!call.admin()) {
    if (!q.user.empty() && q.user != call.user_id()) {
      return forbidden("you may list only your own sessions");
    }
    q.user = call.user_id();
  }
  if (!time_param(call, "since", &q.since_unix_ns, &error) ||
      !time_param(call, "until", &q.until_unix_ns, &error)) {
    return error;
  }
  std::optional<size_t> limit = page_limit(call, &error);
  if (!limit) return error;
  std::string cursor = call.param("cursor");
  if (!cursor.empty() && !(q.after = audit::parse_session_cursor(cursor))) {
    return error_answer(400, "InvalidField", "cursor: not one this API gave", "cursor");
  }
  const std::string resource = call.param("resource");
  if (!resource.empty()) {
    if (!resource.starts_with("arn:")) {
      return error_answer(400, "InvalidField",
                          "resource: an ARN pattern such as arn:aws:s3:::billing/*", "resource");
    }
    return sessions_touching(call, q, resource, *limit);
  }
  // One more than asked tells whether another page follows.
  q.limit = *limit + 1;
  std::vector<audit::SessionReport> rows = call.store().list_sessions(q);
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  for (size_t i = 0; i < rows.size() && i < *limit; ++i) {
    audit::write_session_json(w, rows[i], user_name(call, rows[i].user), false);
  }
  w.end_array();
  if (rows.size() > *limit) w.key("next_cursor").value(audit::session_cursor(rows[*limit - 1]));
  w.end_object();
  return json_answer(200, w.take());
}

// GET /api/v1/audit/verify: `pamctl audit verify` on this node's log, with the appliance's own
// public key, bounded in time (the admin thread answers nothing else meanwhile).
ApiResponse audit_verify(Api::Call& call) {
  if (call.method() != "GET") return method_not_allowed("GET");
  if (!call.admin()) return forbidden("the audit log is for admins");
  if (call.options.audit_directory.empty() || call.options.audit_public_key_pem.empty()) {
    return not_found("this appliance keeps no signed audit log");
  }
  auto key = audit::PublicKey::from_pem(call.options.audit_public_key_pem);
  if (!key.ok()) return store_error(key.status());
  const auto started = std::chrono::steady_clock::now();
  audit::VerifyOptions o;
  o.key = &*key;
  o.deadline = started + std::chrono::milliseconds(call.options.audit_verify_time_max_ms);
  audit::VerifyResult r = audit::verify_directory(call.options.audit_directory, o);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const audit::VerifySummary& s = r.summary;
  JsonWriter w;
  w.begin_object();
  w.key("status").value(r.problem ? "invalid" : r.stopped ? "incomplete" : "valid");
  if (r.problem) {
    w.key("problem").begin_object();
    w.key("file").value(r.problem->file).key("line").value(r.problem->line);
    w.key("reason").value(r.problem->reason).end_object();
  }
  w.key("key_id").value(key->key_id());
  w.key("files").value(s.files).key("lines").value(s.lines);
  w.key("first_seq").value(s.first_seq).key("last_seq").value(s.last_seq);
  w.key("checkpoints").value(s.checkpoints);
  w.key("last_checkpoint_seq").value(s.last_checkpoint_seq);
  w.key("last_checkpoint_time").value(s.last_checkpoint_time);
  w.key("unsealed_lines").value(s.unsealed_lines);
  w.key("time_max_ms").value(call.options.audit_verify_time_max_ms);
  w.key("elapsed_ms")
      .value(static_cast<int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  w.end_object();
  return json_answer(200, w.take());
}

ApiResponse audit_events(Api::Call& call) {
  if (call.segments.size() == 2 && call.segments[1] == "verify") return audit_verify(call);
  if (call.segments.size() != 2 || call.segments[1] != "events") {
    return not_found("audit/events or audit/verify");
  }
  if (call.method() != "GET") return method_not_allowed("GET");
  if (!call.admin()) return forbidden("the audit log is for admins");
  if (call.options.audit_directory.empty()) return not_found("this appliance keeps no audit log");
  ApiResponse error;
  audit::EventFilter filter;
  filter.user = call.param("user");
  filter.record = call.param("record");
  filter.operation = call.param("operation");
  filter.event_type = call.param("type");
  filter.resource = call.param("resource");
  if (!filter.resource.empty() && !filter.resource.starts_with("arn:")) {
    return error_answer(400, "InvalidField",
                        "resource: an ARN pattern such as arn:aws:s3:::billing/*", "resource");
  }
  if (!filter.event_type.empty()) {
    audit::EventType t;
    if (!audit::parse_event_type(filter.event_type, &t)) {
      return error_answer(400, "InvalidField", "type: unknown event type", "type");
    }
  }
  if (!time_param(call, "since", &filter.since_unix_ns, &error) ||
      !time_param(call, "until", &filter.until_unix_ns, &error)) {
    return error;
  }
  std::optional<size_t> limit = page_limit(call, &error);
  if (!limit) return error;
  audit::LogReader reader(call.options.audit_directory);
  std::string cursor = call.param("cursor");
  if (!cursor.empty()) {
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(cursor, &seq) || seq == 0) {
      return error_answer(400, "InvalidField", "cursor: not one this API gave", "cursor");
    }
    reader.resume_at(seq);
  }
  JsonWriter w;
  w.begin_object().key("items").begin_array();
  size_t shown = 0;
  bool full = false;
  auto read = reader.poll(
      [&](uint64_t seq, const audit::Event& e) {
        if (!filter.matches(e)) return true;
        audit::write_event_json(w, seq, e);
        full = ++shown == *limit;
        return !full;
      },
      call.options.audit_scan_lines_max);
  if (!read.ok()) {
    if (read.status().code() == absl::StatusCode::kNotFound) {
      w.end_array().end_object();
      return json_answer(200, w.take());
    }
    return store_error(read.status());
  }
  w.end_array();
  // More may follow when the page filled up or the scan stopped at its bound.
  if (full || *read == call.options.audit_scan_lines_max) {
    w.key("next_cursor").value(std::to_string(reader.next_seq()));
  }
  w.end_object();
  return json_answer(200, w.take());
}

// GET /api/v1/dashboard: what the console's dashboard shows an admin, in one call.
ApiResponse dashboard(Api::Call& call) {
  if (call.segments.size() != 1) return not_found("dashboard");
  if (call.method() != "GET") return method_not_allowed("GET");
  if (!call.admin()) return forbidden("the dashboard's counters are for admins");
  const int64_t now = absl::ToUnixNanos(call.now);
  JsonWriter w;
  w.begin_object();
  w.key("time").value(time_text(now));
  w.key("proxy").begin_object();
  w.key("enabled").value(call.snapshot->settings().proxy_enabled);
  if (call.options.proxy_state) {
    const ProxyState p = call.options.proxy_state();
    w.key("workers").value(p.workers);
    w.key("tunnels_open").value(p.tunnels_open);
    w.key("tunnels_opened").value(p.tunnels_opened);
    w.key("tunnels_denied").value(p.tunnels_denied);
    w.end_object();
    w.key("tls").begin_object();
    w.key("ktls").value(p.ktls).key("ktls_reason").value(p.ktls_reason);
    w.key("tunnels_ktls").value(p.tunnels_ktls);
    w.key("tunnels_userspace").value(p.tunnels_userspace);
    w.key("ktls_fallbacks").value(p.ktls_fallbacks);
  }
  w.end_object();
  w.key("activity").begin_object();
  if (call.activity != nullptr) {
    call.activity->catch_up(now);
    w.key("requests").value(call.activity->requests(now));
    w.key("denied").value(call.activity->denied(now));
    w.key("minutes");
    call.activity->write_json(w, now);
  }
  w.end_object();
  audit::SessionQuery q;
  q.since_unix_ns = now - int64_t{86400} * 1'000'000'000;
  q.limit = kDashboardSessionsMax;
  uint64_t open = 0;
  for (const audit::SessionReport& r : call.store().list_sessions(q)) open += r.open ? 1 : 0;
  w.key("sessions_open").value(open);
  uint64_t pending = 0;
  for (const policy::AccessRequest& r : call.store().list_requests()) {
    pending += r.effective_state(call.now) == policy::RequestState::kPending ? 1 : 0;
  }
  w.key("requests_pending").value(pending);
  w.end_object();
  return json_answer(200, w.take());
}

}  // namespace

ApiResponse handle_dashboard(Api::Call& call) {
  return dashboard(call);
}
ApiResponse handle_sessions(Api::Call& call) {
  return sessions(call);
}
ApiResponse handle_audit(Api::Call& call) {
  return audit_events(call);
}

}  // namespace pamproxy::admin
