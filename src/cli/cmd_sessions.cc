// pamctl sessions: the session reports, through the admin API (cmd_reports_api.cc). With --db or
// --config: read from the store file on the appliance instead (no daemon call, no master key:
// sessions hold no secret; read-only beside a running daemon; session_file.h).
//   pamctl sessions list [--db FILE | --config FILE] [--user ID] [--record ID|NAME]
//                        [--since TIME] [--until TIME] [--limit N] [--json]
//   pamctl sessions show ID [--db FILE | --config FILE] [--json]
// TIME is RFC 3339 or an age (15m, 2h, 7d). The store file is --db, else the one the
// configuration resolves (<state>/pamproxy.db). Exit 0, 1 (not found, unreadable), 2 usage.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "admin_output.h"
#include "commands.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/session.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/config/config.h"
#include "session_file.h"
#include "time_arg.h"

namespace pamproxy::cli {
namespace {

constexpr char kUsage[] =
    "usage: pamctl sessions list [--db FILE | --config FILE] [--user ID] [--record ID|NAME]\n"
    "                            [--since TIME] [--until TIME] [--limit N] [--json]\n"
    "       pamctl sessions show ID [--db FILE | --config FILE] [--json]\n"
    "  TIME: RFC 3339 (2026-11-24T08:00:00Z) or an age (90s, 15m, 2h, 7d)\n";

int usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "pamctl sessions: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

std::string when(int64_t unix_ns) {
  char buf[32];
  return std::string(buf, audit::format_event_time(unix_ns, buf));
}

}  // namespace

int run_sessions(const std::vector<std::string>& args) {
  if (args.empty()) return usage("");
  const std::string& action = args[0];
  if (action != "list" && action != "show") return usage("unknown action '" + action + "'");
  // Offline only when a store file or configuration is named; else the admin API.
  if (std::find_if(args.begin(), args.end(), [](const std::string& a) {
        return a == "--db" || a == "--config";
      }) == args.end()) {
    return run_sessions_api(args);
  }
  audit::SessionQuery q;
  std::optional<std::string> db, config_file, id;
  bool json = false;
  const absl::Time now = absl::Now();
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
    const std::string* v = nullptr;
    if (a == "--json") {
      json = true;
    } else if (a == "--db" || a == "--config" || a == "--user" || a == "--record" ||
               a == "--since" || a == "--until" || a == "--limit") {
      if ((v = value()) == nullptr) return usage(a + " needs a value");
      if (a == "--db") db = *v;
      if (a == "--config") config_file = *v;
      if (a == "--user") q.user = *v;
      if (a == "--record") q.record = *v;
      if (a == "--since" || a == "--until") {
        auto t = parse_time_arg(*v, now);
        if (!t) return usage(a + ": '" + *v + "' is neither RFC 3339 nor an age like 15m");
        (a == "--since" ? q.since_unix_ns : q.until_unix_ns) = *t;
      }
      if (a == "--limit") {
        int64_t n = 0;
        if (!absl::SimpleAtoi(*v, &n) || n <= 0 || n > 100000) return usage("bad --limit");
        q.limit = static_cast<size_t>(n);
      }
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown flag " + a);
    } else if (action == "show" && !id) {
      id = a;
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  if (action == "show" && !id) return usage("show needs a session id");
  if (!db) {
    config::Config c;
    if (config_file) {
      config::LoadResult r = config::load_file(*config_file);
      if (!r.ok()) {
        std::fprintf(stderr, "pamctl sessions: %s\n", r.errors.front().to_string().c_str());
        return kExitUsage;
      }
      c = r.config;
    }
    db = config::resolve_paths(c, std::getenv("STATE_DIRECTORY"),
                               std::getenv("CREDENTIALS_DIRECTORY"))
             .database_file;
  }
  auto reader = SessionFile::open(*db);
  if (!reader.ok()) {
    std::fprintf(stderr, "pamctl sessions: %s\n", std::string(reader.status().message()).c_str());
    return kExitFailed;
  }
  if (action == "show") {
    auto s = (*reader)->get(*id);
    if (!s.ok()) {
      std::fprintf(stderr, "pamctl sessions: %s\n", std::string(s.status().message()).c_str());
      return kExitFailed;
    }
    if (json) {
      std::printf("%s\n", s->report_json.c_str());
      return kExitOk;
    }
    // Rendered from the stored JSON as the admin API does (without names: the store file's
    // sessions table has none); the stored text when the JSON cannot be read.
    absl::StatusOr<audit::Session> session = audit::session_of_report(*s);
    std::fputs(session.ok() ? audit::session_report_text(*session).c_str() : s->report_text.c_str(),
               stdout);
    return kExitOk;
  }
  std::vector<audit::SessionReport> rows = (*reader)->list(q);
  if (json) {
    JsonWriter w;
    w.begin_array();
    for (const auto& r : rows) audit::write_session_json(w, r, std::nullopt, false);
    w.end_array();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }
  // Columns as wide as their widest cell: nothing is cut.
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({r.id, r.user, r.record_name.empty() ? r.record_id : r.record_name, r.source_ip,
                     when(r.started_unix_ns), std::to_string(r.requests), std::to_string(r.denied),
                     r.open ? "open" : "closed"});
  }
  std::fputs(format_table(
                 {"ID", "USER", "RECORD", "FROM", "STARTED", "REQUESTS", "DENIED", "STATE"}, table)
                 .c_str(),
             stdout);
  return kExitOk;
}

}  // namespace pamproxy::cli
