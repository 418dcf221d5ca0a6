// pamctl sessions and pamctl audit search through the admin API (when no store file, audit
// directory or configuration is named: those read the appliance's files offline instead).
//   pamctl sessions list [--user ID] [--record ID|NAME] [--since TIME] [--until TIME]
//                        [--limit N] [--cursor C] [--json]
//   pamctl sessions show ID [--json]
//   pamctl audit search [--user ID] [--record ID|NAME] [--operation OP] [--type TYPE]
//                       [--resource ARN] [--since TIME] [--until TIME] [--limit N] [--json]
// Users see their own sessions; the audit log is for admins (docs/admin-api.md).

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admin_client.h"
#include "audit_search.h"
#include "commands.h"
#include "time_arg.h"

namespace pamproxy::cli {
namespace {

constexpr char kSessionsUsage[] =
    "usage: pamctl sessions list [--user ID] [--record ID|NAME] [--since TIME] [--until TIME]\n"
    "                            [--limit N] [--cursor C]\n"
    "       pamctl sessions show ID\n"
    "  through the admin API; with --db FILE or --config FILE: the store file, offline\n"
    "  TIME: RFC 3339 (2026-11-24T08:00:00Z) or an age (90s, 15m, 2h, 7d)\n";

constexpr char kAuditUsage[] =
    "usage: pamctl audit search [--user ID] [--record ID|NAME] [--operation OP] [--type TYPE]\n"
    "                           [--resource ARN] [--since TIME] [--until TIME] [--limit N]\n"
    "  ARN: a pattern as IAM reads it, e.g. 'arn:aws:s3:::billing/*'\n"
    "  through the admin API (admins); with DIR or --config FILE: the log files, offline\n"
    "  TIME: RFC 3339 (2026-11-24T08:00:00Z) or an age (90s, 15m, 2h, 7d)\n";

// --since/--until as RFC 3339 for the query; false (with `why`) when malformed.
bool time_query(const ApiArgs& a, std::string_view flag, std::optional<std::string>* out,
                std::string* why) {
  std::optional<std::string> v = a.value(flag);
  if (!v) return true;
  auto t = parse_time_arg(*v, absl::Now());
  if (!t) {
    *why = std::string(flag) + ": '" + *v + "' is neither RFC 3339 nor an age like 15m";
    return false;
  }
  *out = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixNanos(*t), absl::UTCTimeZone());
  return true;
}

const std::vector<Column>& session_columns() {
  static const std::vector<Column> kColumns = {
      field_column("ID", "id"),
      // The user's current name; the id when the user was deleted since.
      {"USER",
       [](simdjson::dom::object o) {
         std::string name = field_text(o, "user_name");
         return name.empty() || name == "-" ? field_text(o, "user") : name;
       }},
      field_column("RECORD", "record_name"),
      field_column("FROM", "source_ip"),
      field_column("STARTED", "started"),
      field_column("REQUESTS", "requests"),
      field_column("DENIED", "denied"),
      {"STATE", [](simdjson::dom::object o) {
         bool open = false;
         return o["open"].get(open) == simdjson::SUCCESS && open ? "open" : "closed";
       }}};
  return kColumns;
}

const std::vector<Column>& event_columns() {
  static const std::vector<Column> kColumns = {
      field_column("SEQ", "seq"),
      field_column("TIME", "eventTime"),
      field_column("TYPE", "eventType"),
      field_column("USER", "user"),
      field_column("RECORD", "recordName"),
      field_column("OPERATION", "eventName"),
      field_column("STATUS", "status"),
      field_column("SOURCE", "sourceIPAddress"),
      {"RESOURCES",
       [](simdjson::dom::object o) -> std::string {
         simdjson::dom::array list;
         std::string_view first;
         if (o["resources"].get(list) != simdjson::SUCCESS || list.size() == 0 ||
             list.at(0).get(first) != simdjson::SUCCESS) {
           return "-";
         }
         uint64_t total = 0;
         if (o["resourcesTotal"].get(total) != simdjson::SUCCESS) total = list.size();
         return total > 1 ? std::string(first) + " (+" + std::to_string(total - 1) + " more)"
                          : std::string(first);
       }},
      field_column("REASON", "denyReason")};
  return kColumns;
}

}  // namespace

int run_sessions_api(const std::vector<std::string>& args) {
  const std::string& action = args[0];
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--user", ApiArgs::kValue},
                              {"--record", ApiArgs::kValue},
                              {"--since", ApiArgs::kValue},
                              {"--until", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage("sessions", kSessionsUsage, a.error);
  const std::string cmd = "sessions " + action;
  if (action == "show") {
    if (a.positional.size() != 1 || a.has_own_flags()) {
      return api_usage("sessions", kSessionsUsage, "show takes one session id");
    }
    ApiContext ctx;
    if (int rc = open_api(cmd, a, &ctx); rc != kExitOk) return rc;
    std::string path = "/api/v1/sessions/" + percent_encode(a.positional[0]);
    HttpsResponse r;
    if (int rc = api_call(ctx, "GET", a.json ? path : path + "?format=text", std::nullopt, &r);
        rc != kExitOk) {
      return rc;
    }
    if (a.json) return print_object(ctx, r);
    // Line by line: the report's lines stay lines, any other control character is shown as '?'.
    for (std::string_view rest = r.body; !rest.empty();) {
      const size_t end = std::min(rest.find('\n'), rest.size());
      std::fputs((printable(rest.substr(0, end)) + "\n").c_str(), stdout);
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    return kExitOk;
  }
  if (!a.positional.empty()) return api_usage("sessions", kSessionsUsage, "list takes no argument");
  std::optional<std::string> since, until;
  std::string why;
  if (!time_query(a, "--since", &since, &why) || !time_query(a, "--until", &until, &why)) {
    return api_usage("sessions", kSessionsUsage, why);
  }
  std::string query = query_string({{"user", a.value("--user")},
                                    {"record", a.value("--record")},
                                    {"since", since},
                                    {"until", until},
                                    {"limit", a.value("--limit")},
                                    {"cursor", a.value("--cursor")}});
  return call_and_show(cmd, a, "GET", "/api/v1/sessions" + query, std::nullopt, Show::kList,
                       session_columns());
}

int run_audit_search_api(const std::vector<std::string>& args) {
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--user", ApiArgs::kValue},
                              {"--record", ApiArgs::kValue},
                              {"--operation", ApiArgs::kValue},
                              {"--type", ApiArgs::kValue},
                              {"--resource", ApiArgs::kValue},
                              {"--since", ApiArgs::kValue},
                              {"--until", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage("audit search", kAuditUsage, a.error);
  if (!a.positional.empty()) return api_usage("audit search", kAuditUsage, "unexpected argument");
  std::optional<std::string> since, until;
  std::string why;
  if (!time_query(a, "--since", &since, &why) || !time_query(a, "--until", &until, &why)) {
    return api_usage("audit search", kAuditUsage, why);
  }
  std::string query = query_string({{"user", a.value("--user")},
                                    {"record", a.value("--record")},
                                    {"operation", a.value("--operation")},
                                    {"type", a.value("--type")},
                                    {"resource", a.value("--resource")},
                                    {"since", since},
                                    {"until", until},
                                    {"limit", a.value("--limit")},
                                    {"cursor", a.value("--cursor")}});
  return call_and_show("audit search", a, "GET", "/api/v1/audit/events" + query, std::nullopt,
                       Show::kList, event_columns());
}

}  // namespace pamproxy::cli
