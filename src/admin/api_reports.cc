// Admin API: session reports and the audit log search (docs/admin-api.md, docs/audit.md).
// Sessions come from the store (the session indexer keeps them); audit events are read from
// the log directory, a bounded number of lines per call.

#include "absl/strings/numbers.h"
#include "api_internal.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_reader.h"
#include "pamproxy/audit/search.h"
#include "pamproxy/audit/session.h"

namespace pamproxy::admin {
namespace {

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
  if (!cursor.empty() && !absl::SimpleAtoi(cursor, &q.before_seq)) {
    return error_answer(400, "InvalidField", "cursor: not one this API gave", "cursor");
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
  if (rows.size() > *limit) w.key("next_cursor").value(std::to_string(rows[*limit - 1].first_seq));
  w.end_object();
  return json_answer(200, w.take());
}

ApiResponse audit_events(Api::Call& call) {
  if (call.segments.size() != 2 || call.segments[1] != "events") {
    return not_found("audit/events");
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

}  // namespace

ApiResponse handle_sessions(Api::Call& call) {
  return sessions(call);
}
ApiResponse handle_audit(Api::Call& call) {
  return audit_events(call);
}

}  // namespace pamproxy::admin
