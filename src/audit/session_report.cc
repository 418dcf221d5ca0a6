// The session report's forms (pure): the invocations that group a session's commands, the JSON
// report (the stored form), the text rendered from it, and the summary the lists show.

#include <simdjson.h>

#include <algorithm>
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/session.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::audit {
namespace {

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

// 512 B, 1.5 KiB, 16.0 MiB: one decimal from KiB up.
std::string bytes_text(uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
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

void write_resources(JsonWriter& w, const std::vector<std::string>& resources, uint64_t total) {
  w.key("resources").begin_array();
  for (const std::string& arn : resources) w.value(arn);
  w.end_array();
  w.key("resourcesTotal").value(std::max<uint64_t>(total, resources.size()));
}

void write_command(JsonWriter& w, const SessionCommand& c) {
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
  if (!c.target_host.empty()) w.key("targetHost").value(c.target_host);
  w.key("bytesIn").value(c.bytes_in);
  w.key("bytesOut").value(c.bytes_out);
  w.key("durationUs").value(c.duration_us);
  write_resources(w, c.resources, c.resources_total);
  w.end_object();
}

void write_invocation(JsonWriter& w, const Invocation& inv) {
  w.begin_object();
  w.key("eventTime").value(time_text(inv.time_unix_ns));
  w.key("cliCommand").value(inv.cli_command);
  w.key("name").value(invocation_name(inv));
  w.key("firstCommand").value(static_cast<uint64_t>(inv.first_command));
  w.key("commandCount").value(static_cast<uint64_t>(inv.command_count));
  write_resources(w, inv.resources, inv.resources_total);
  w.key("operations").begin_array();
  for (const InvocationOperation& op : inv.operations) {
    w.begin_object();
    w.key("eventSource").value(op.event_source);
    w.key("eventName").value(op.event_name);
    w.key("outcome").value(op.denied ? "denied" : "forwarded");
    w.key("status").value(static_cast<int64_t>(op.status));
    if (!op.error_code.empty()) w.key("errorCode").value(op.error_code);
    if (!op.deny_reason.empty()) w.key("denyReason").value(op.deny_reason);
    w.key("count").value(op.count);
    w.key("bytesIn").value(op.bytes_in);
    w.key("bytesOut").value(op.bytes_out);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

bool same_operation(const InvocationOperation& op, const SessionCommand& c) {
  return op.event_name == c.event_name && op.event_source == c.event_source &&
         op.status == c.status && op.denied == c.denied && op.error_code == c.error_code &&
         op.deny_reason == c.deny_reason;
}

// Adds command c to invocation inv: its operation (folded into an identical one) and its
// resources (each distinct one once; `seen` holds those of this invocation so far).
void add_to_invocation(Invocation& inv, const SessionCommand& c,
                       absl::flat_hash_set<absl::string_view>& seen) {
  ++inv.command_count;
  auto op = std::find_if(inv.operations.begin(), inv.operations.end(),
                         [&](const InvocationOperation& o) { return same_operation(o, c); });
  if (op == inv.operations.end()) {
    InvocationOperation o;
    o.event_source = c.event_source;
    o.event_name = c.event_name;
    o.status = c.status;
    o.denied = c.denied;
    o.error_code = c.error_code;
    o.deny_reason = c.deny_reason;
    op = inv.operations.insert(inv.operations.end(), std::move(o));
  }
  ++op->count;
  op->bytes_in += c.bytes_in;
  op->bytes_out += c.bytes_out;
  for (const std::string& arn : c.resources) {
    if (!seen.insert(absl::string_view(arn.data(), arn.size())).second) continue;
    ++inv.resources_total;
    if (inv.resources.size() < kInvocationResourcesMax) inv.resources.push_back(arn);
  }
  // Those the command's own list could not hold are counted as distinct: they are unknown.
  if (c.resources_total > c.resources.size()) {
    inv.resources_total += c.resources_total - c.resources.size();
  }
}

// "s3" of "s3.amazonaws.com".
std::string_view service_of(std::string_view event_source) {
  return event_source.substr(0, event_source.find('.'));
}

std::string operation_label(const InvocationOperation& op) {
  return op.event_name.empty() ? "-" : op.event_name;
}

std::string status_label(const InvocationOperation& op) {
  if (op.denied) return "DENIED";
  return op.status == 0 ? "-" : std::to_string(op.status);
}

// What follows an operation's status: the denial's reason, or AWS's error and the bytes moved.
std::string operation_tail(const InvocationOperation& op) {
  if (op.denied) return op.deny_reason.empty() ? op.error_code : op.deny_reason;
  std::string tail = op.error_code;
  auto add = [&](const std::string& part) {
    if (!tail.empty()) tail += ", ";
    tail += part;
  };
  if (op.bytes_in > 0) add("in " + bytes_text(op.bytes_in));
  if (op.bytes_out > 0) add("out " + bytes_text(op.bytes_out));
  return tail;
}

// Appends one line of the text report. An S3 key, a user agent's CLI command or a name may hold
// any character: control characters (C0, DEL, C1) are written as escapes, so that no value can
// end its line and forge another one below it.
void append_line(std::string& out, std::string_view line) {
  char esc[8];
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    const auto next = i + 1 < line.size() ? static_cast<unsigned char>(line[i + 1]) : 0;
    if (c < 0x20 || c == 0x7F) {
      std::snprintf(esc, sizeof(esc), "\\x%02X", c);
      out += esc;
    } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
      std::snprintf(esc, sizeof(esc), "\\u%04X", next);
      out += esc;
      ++i;
    } else {
      out += line[i];
    }
  }
  out += '\n';
}

void pad_to(std::string& s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
}

// How many resources an invocation's line names before "+N more".
constexpr size_t kLineResources = 3;

// "  10:42:07  aws s3 cp -> s3://billing/report.csv" and its operations under it, their
// columns as wide as their widest cell (nothing is ever cut).
void append_invocation(std::string& out, const Invocation& inv) {
  std::string head = "  " + time_text(inv.time_unix_ns).substr(11, 8) + "  " + invocation_name(inv);
  const size_t shown = std::min(inv.resources.size(), kLineResources);
  for (size_t i = 0; i < shown; ++i) {
    head += i == 0 ? " -> " : ", ";
    head += resource_text(inv.resources[i]);
  }
  if (inv.resources_total > shown && shown > 0) {
    head += " +" + std::to_string(inv.resources_total - shown) + " more";
  } else if (shown == 0 && inv.resources_total > 0) {
    head += " -> " + std::to_string(inv.resources_total) + " resources";
  }
  append_line(out, head);
  size_t name_w = 0, status_w = 0, count_w = 0;
  for (const InvocationOperation& op : inv.operations) {
    name_w = std::max(name_w, operation_label(op).size());
    status_w = std::max(status_w, status_label(op).size());
    if (op.count > 1) count_w = std::max(count_w, 1 + std::to_string(op.count).size());
  }
  for (const InvocationOperation& op : inv.operations) {
    std::string line = "              " + operation_label(op);
    pad_to(line, 14 + name_w);
    line += "  " + status_label(op);
    if (count_w > 0) {
      pad_to(line, 14 + name_w + 2 + status_w);
      line += "  " + (op.count > 1 ? "x" + std::to_string(op.count) : std::string());
    }
    std::string tail = operation_tail(op);
    if (!tail.empty()) {
      pad_to(line, 14 + name_w + 2 + status_w + (count_w > 0 ? 2 + count_w : 0));
      line += "  " + tail;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    append_line(out, line);
  }
}

// Reading a stored report back.

bool read_string(simdjson::dom::object o, const char* key, std::string* out) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) return false;
  out->assign(v);
  return true;
}

template <typename T>
void read_number(simdjson::dom::object o, const char* key, T* out) {
  int64_t v = 0;
  if (o[key].get_int64().get(v) == simdjson::SUCCESS) *out = static_cast<T>(v);
}

bool read_command(simdjson::dom::object o, SessionCommand* c) {
  std::string time, outcome;
  absl::Time t;
  std::string err;
  if (!read_string(o, "eventTime", &time) || !absl::ParseTime(absl::RFC3339_full, time, &t, &err)) {
    return false;
  }
  c->time_unix_ns = absl::ToUnixNanos(t);
  read_number(o, "seq", &c->seq);
  read_string(o, "cliCommand", &c->cli_command);
  read_string(o, "eventSource", &c->event_source);
  read_string(o, "eventName", &c->event_name);
  read_string(o, "outcome", &outcome);
  c->denied = outcome == "denied";
  read_number(o, "status", &c->status);
  read_string(o, "errorCode", &c->error_code);
  read_string(o, "denyReason", &c->deny_reason);
  read_string(o, "proxyRequestId", &c->request_id);
  read_string(o, "requestID", &c->aws_request_id);
  read_string(o, "targetHost", &c->target_host);
  read_number(o, "bytesIn", &c->bytes_in);
  read_number(o, "bytesOut", &c->bytes_out);
  read_number(o, "durationUs", &c->duration_us);
  simdjson::dom::array resources;
  if (o["resources"].get(resources) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : resources) {
      std::string_view arn;
      if (e.get_string().get(arn) == simdjson::SUCCESS) c->resources.emplace_back(arn);
    }
  }
  c->resources_total = static_cast<uint32_t>(c->resources.size());
  read_number(o, "resourcesTotal", &c->resources_total);
  c->completed = !c->aws_request_id.empty();
  return true;
}

}  // namespace

std::vector<Invocation> group_invocations(std::span<const SessionCommand> commands) {
  std::vector<Invocation> out;
  absl::flat_hash_set<absl::string_view> seen;
  int64_t end_unix_ns = 0;  // the latest end of the last invocation's commands
  for (size_t i = 0; i < commands.size(); ++i) {
    const SessionCommand& c = commands[i];
    const bool joins = !out.empty() && !c.cli_command.empty() &&
                       out.back().cli_command == c.cli_command &&
                       c.time_unix_ns - end_unix_ns <= kInvocationGapNs;
    if (!joins) {
      Invocation inv;
      inv.time_unix_ns = c.time_unix_ns;
      inv.cli_command = c.cli_command;
      inv.first_command = i;
      out.push_back(std::move(inv));
      seen.clear();
      end_unix_ns = c.time_unix_ns;
    }
    end_unix_ns =
        std::max(end_unix_ns, c.time_unix_ns + static_cast<int64_t>(c.duration_us) * 1000);
    add_to_invocation(out.back(), c, seen);
  }
  return out;
}

std::string invocation_name(const Invocation& inv) {
  if (!inv.cli_command.empty()) {
    std::string name = "aws " + inv.cli_command;
    std::replace(name.begin() + 4, name.end(), '.', ' ');
    return name;
  }
  if (inv.operations.empty()) return "-";
  const InvocationOperation& op = inv.operations.front();
  if (op.event_name.empty()) return op.event_source.empty() ? "-" : op.event_source;
  std::string_view service = service_of(op.event_source);
  return service.empty() ? op.event_name : std::string(service) + ":" + op.event_name;
}

std::string resource_text(std::string_view arn) {
  // arn:PARTITION:s3:::bucket[/key]: no region, no account.
  if (!arn.starts_with("arn:")) return std::string(arn);
  size_t partition_end = arn.find(':', 4);
  if (partition_end == std::string_view::npos) return std::string(arn);
  std::string_view rest = arn.substr(partition_end + 1);
  if (!rest.starts_with("s3:::") || rest.size() == 5) return std::string(arn);
  return "s3://" + std::string(rest.substr(5));
}

std::string session_report_json(const Session& s) {
  JsonWriter w;
  w.begin_object();
  write_summary(w, s, kReportKeys, std::nullopt);
  w.key("commandsNotListed").value(s.commands_dropped);
  w.key("commands").begin_array();
  for (const SessionCommand& c : s.commands) write_command(w, c);
  w.end_array();
  w.key("invocations").begin_array();
  for (const Invocation& inv : group_invocations(s.commands)) write_invocation(w, inv);
  w.end_array();
  w.end_object();
  return w.take();
}

std::string session_report_text(const Session& s, const ReportNames& names) {
  std::string out;
  append_line(out, "Session " + s.id);
  append_line(out, names.user_name.empty() ? "  user:     " + s.user + " (token " + s.token_id + ")"
                                           : "  user:     " + std::string(names.user_name) + " (" +
                                                 s.user + ", token " + s.token_id + ")");
  const std::string record_name =
      names.record_name.empty() ? s.record_name : std::string(names.record_name);
  append_line(out, record_name.empty() ? "  record:   " + s.record_id
                                       : "  record:   " + record_name + " (" + s.record_id + ")");
  append_line(out, "  from:     " + s.source_ip);
  append_line(out, "  time:     " + time_text(s.started_unix_ns) + " .. " +
                       time_text(s.last_unix_ns) + " (" +
                       duration_text(s.last_unix_ns - s.started_unix_ns) + ")");
  append_line(out, "  requests: " + std::to_string(s.requests) + " (" + std::to_string(s.denied) +
                       " denied), bytes in " + std::to_string(s.bytes_in) + ", out " +
                       std::to_string(s.bytes_out));
  append_line(out, "");
  // Lines show the time of day (UTC); a line on another day than the one above is preceded by
  // its date.
  std::string day = time_text(s.started_unix_ns).substr(0, 10);
  for (const Invocation& inv : group_invocations(s.commands)) {
    std::string inv_day = time_text(inv.time_unix_ns).substr(0, 10);
    if (inv_day != day) {
      append_line(out, "  " + inv_day);
      day = inv_day;
    }
    append_invocation(out, inv);
  }
  if (s.commands_dropped > 0) {
    append_line(out,
                "  ... and " + std::to_string(s.commands_dropped) + " more request(s) not listed");
  }
  return out;
}

absl::StatusOr<Session> session_of_report(const SessionReport& report) {
  Session s;
  static_cast<SessionReport&>(s) = report;
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  simdjson::dom::array commands;
  if (parser.parse(report.report_json).get(root) != simdjson::SUCCESS ||
      root["commands"].get(commands) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("session " + report.id + ": its report is unreadable");
  }
  read_number(root, "commandsNotListed", &s.commands_dropped);
  s.commands.reserve(commands.size());
  for (simdjson::dom::element e : commands) {
    simdjson::dom::object o;
    SessionCommand c;
    if (e.get_object().get(o) != simdjson::SUCCESS || !read_command(o, &c)) {
      return absl::InvalidArgumentError("session " + report.id + ": a command is unreadable");
    }
    s.commands.push_back(std::move(c));
  }
  return s;
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

}  // namespace pamproxy::audit
