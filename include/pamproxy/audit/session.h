#pragma once
// Session aggregation: a session is one user's activity on one record from one client address,
// ending after an idle timeout ([session] idle_timeout_s). SessionAggregator is pure (events and
// times in, sessions out; no I/O, no clock, no globals); the control plane feeds it the event
// stream, persists closed sessions and serves the reports. It is bounded: at most `open_max`
// open sessions (the least recently active one is closed early when a new one would exceed it)
// and `commands_max` commands kept per session (the rest are counted, and the report says so),
// each with at most ResourceNames::kBytes of ARNs.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pamproxy/audit/event.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::audit {

// One request of a session (the report's name for it is a command: what the client asked).
struct SessionCommand {
  int64_t time_unix_ns = 0;
  uint64_t seq = 0;          // the event's line in the audit log
  std::string cli_command;   // "s3.cp"
  std::string event_source;  // "s3.amazonaws.com"
  std::string event_name;    // "PutObject"
  std::string target_host;
  int32_t status = 0;
  bool denied = false;
  std::string deny_reason;
  std::string error_code;
  std::string request_id;      // ours
  std::string aws_request_id;  // AWS's, from the request.completed event
  bool completed = false;      // the response's outcome was merged in
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t duration_us = 0;
  // The ARNs the request touched as its event lists them (whole ARNs, at most
  // ResourceNames::kBytes of them, in the request's order) and how many it touched in all.
  std::vector<std::string> resources;
  uint32_t resources_total = 0;
};

// A session report: who, on which record, from where, when and how much, with the full report
// in both forms. Described once, here: the aggregator keeps one current per open session, the
// store keeps one row per session, and the admin API and pamctl write it with
// write_session_json.
struct SessionReport {
  std::string id;  // "s-<seq of its first event>": unique, stable across restarts
  uint64_t first_seq = 0;
  std::string user;  // user id
  std::string token_id;
  std::string record_id;
  std::string record_name;
  std::string source_ip;
  int64_t started_unix_ns = 0;
  int64_t last_unix_ns = 0;
  uint64_t requests = 0;
  uint64_t denied = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool open = false;        // still active (not idle for [session] idle_timeout_s yet)
  std::string report_json;  // session_report_json(); empty in lists and in the aggregator
  // session_report_text() without names, as stored; shown when report_json cannot be read.
  // Empty in lists and in the aggregator.
  std::string report_text;
};

// A session's place in a list. Lists run newest first by start time, then by id, descending: a
// total order over the sessions of every node (ids are unique in a store, while log sequence
// numbers of different nodes interleave), so a list read page by page shows each session once.
struct SessionPosition {
  int64_t started_unix_ns = 0;
  std::string id;
};

// Which session reports a list asks for.
struct SessionQuery {
  std::string user;                      // exact user id ("" = any)
  std::string record;                    // record id or name ("" = any)
  std::optional<int64_t> since_unix_ns;  // sessions active at or after (last activity)
  std::optional<int64_t> until_unix_ns;  // sessions started before
  size_t limit = 100;
  // Pagination: only the sessions listed after this one (none: from the newest).
  std::optional<SessionPosition> after;
};

// The opaque cursor of a list page ending with `last`, and back (nullopt: not a cursor these
// functions made).
std::string session_cursor(const SessionReport& last);
std::optional<SessionPosition> parse_session_cursor(std::string_view cursor);

// A session while the aggregator follows it: its report so far and the commands it lists.
struct Session : SessionReport {
  uint64_t commands_dropped = 0;  // beyond commands_max (counted, not listed)
  std::vector<SessionCommand> commands;
};

class SessionAggregator {
 public:
  explicit SessionAggregator(int64_t idle_timeout_s, size_t commands_max = 10000,
                             size_t open_max = 100000);

  // Adds one event (with its log sequence number). Request events with a user and a record join
  // (or start) their session; a request.completed event fills in the outcome of its command
  // (status, AWS request id, bytes, duration: joined by proxyRequestId) and counts no request;
  // others belong to none. Returns the session id, or "" for none.
  // `closed` receives sessions this call closed (the same key idle too long, or the bound).
  std::string add(const Event& event, uint64_t seq, std::vector<Session>* closed);
  // Closes and returns every session idle since before `now_unix_ns` - idle timeout.
  std::vector<Session> expire(int64_t now_unix_ns);
  // Closes and returns every open session (shutdown).
  std::vector<Session> close_all();
  size_t open_count() const { return open_.size(); }
  // [session] idle_timeout_s changed (a reload): applies to the next expire().
  void set_idle_timeout_s(int64_t s) { idle_timeout_ns_ = s * 1000000000; }
  const Session* find_open(std::string_view id) const;

 private:
  std::string merge_outcome(const Event& event);

  int64_t idle_timeout_ns_;
  size_t commands_max_;
  size_t open_max_;
  absl::flat_hash_map<std::string, Session> open_;  // key: user \0 record \0 address
};

// What the engineer typed: consecutive commands of one AWS CLI invocation read as one line.
// A command joins the invocation above it when both carry the same CLI command ("s3.cp") and
// it started at most kInvocationGapNs after the latest end (start + duration) of the
// invocation's commands so far: a multipart `aws s3 cp` (CreateMultipartUpload, UploadPart x N,
// CompleteMultipartUpload) is one invocation however long its parts take, while the same command
// typed again is a new one. Two runs of one command started by a script within that gap of each
// other read as one invocation (its resources and counts still show both). A command without a
// CLI command (boto3, curl) is an invocation of its own.
inline constexpr int64_t kInvocationGapNs = 1000000000;
// Bounds: an invocation lists at most this many distinct resources (and counts the rest).
inline constexpr size_t kInvocationResourcesMax = 16;

// Identical commands of an invocation folded into one: same service, operation, outcome, status,
// error and denial reason; counted, with their bytes summed.
struct InvocationOperation {
  std::string event_source;
  std::string event_name;
  int32_t status = 0;
  bool denied = false;
  std::string error_code;
  std::string deny_reason;
  uint64_t count = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

struct Invocation {
  int64_t time_unix_ns = 0;  // its first command's
  std::string cli_command;   // "s3.cp"; "" for a command of another client
  size_t first_command = 0;  // its commands are commands[first_command, + command_count)
  size_t command_count = 0;
  std::vector<std::string> resources;  // distinct, in first-seen order, kInvocationResourcesMax
  uint64_t resources_total = 0;        // listed + those no list could hold
  std::vector<InvocationOperation> operations;  // in first-seen order
};

// The invocations of a session's commands, in order. Pure; linear in the commands.
std::vector<Invocation> group_invocations(std::span<const SessionCommand> commands);
// "aws s3 cp" for a CLI invocation, "s3:GetObject" (service:Operation) for another.
std::string invocation_name(const Invocation& invocation);
// An S3 ARN as the CLI writes it ("arn:aws:s3:::billing/a.csv" -> "s3://billing/a.csv"); any
// other ARN as it is.
std::string resource_text(std::string_view arn);

// The names a text report shows beside the ids: the user's and the record's current names
// ("" = unknown, e.g. deleted since; the report then shows the id, and the record's name as the
// session saw it).
struct ReportNames {
  std::string_view user_name;
  std::string_view record_name;
};

// The session report: JSON (one object: the summary, every command in order with its resources,
// and the invocations that group them) and text (a header, then one line per invocation with its
// operations under it). The JSON is the stored form; the text is rendered from it.
std::string session_report_json(const Session& session);
std::string session_report_text(const Session& session, const ReportNames& names = {});
// A stored report back as a session: the summary from `report`, the commands from its
// report_json (a report of an older version, without resources, reads too). Fails when the
// JSON is not a session report.
absl::StatusOr<Session> session_of_report(const SessionReport& report);
// What the store keeps of a session: its report with both forms rendered.
SessionReport stored_report(const Session& session);

// One session as the admin API and `pamctl sessions --json` show it: the summary fields, then
// `user_name` after `user` when given (the user's current name; "" when deleted since), and the
// full report as `report` (null when none was kept) when `with_report`.
void write_session_json(JsonWriter& w, const SessionReport& report,
                        std::optional<std::string_view> user_name, bool with_report);

}  // namespace pamproxy::audit
