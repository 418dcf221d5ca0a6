// pamctl audit search [DIR] [--config FILE] [--user ID] [--record ID|NAME] [--operation OP]
//                     [--type EVENT_TYPE] [--resource ARN] [--since TIME] [--until TIME]
//                     [--limit N] [--json]
//
// With DIR or --config: reads the audit log directory (DIR, else the one the configuration
// resolves: [audit] directory, $STATE_DIRECTORY, ./pamproxy-state) in log order, offline, and
// prints the events
// that match every filter given: a table, or with --json one JSON object per line. TIME is RFC
// 3339 ("2026-11-24T08:00:00Z") or an age ("90s", "15m", "2h", "7d" ago). OP is "PutObject" or
// "s3:PutObject". It trusts the format, not the chain: run `pamctl audit verify` for that.
// Exit 0 (matches or not), 1 unreadable log, 2 usage.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit_search.h"
#include "commands.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_reader.h"
#include "pamproxy/audit/search.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/config/config.h"
#include "time_arg.h"

namespace pamproxy::cli {
namespace {

constexpr char kUsage[] =
    "usage: pamctl audit search [DIR | --config FILE] [--user ID] [--record ID|NAME]\n"
    "                           [--operation OP] [--type EVENT_TYPE] [--resource ARN]\n"
    "                           [--since TIME] [--until TIME] [--limit N] [--json]\n"
    "  ARN:  a pattern as IAM reads it, e.g. 'arn:aws:s3:::billing/*'\n"
    "  TIME: RFC 3339 (2026-11-24T08:00:00Z) or an age (90s, 15m, 2h, 7d)\n"
    "  OP:   PutObject or s3:PutObject\n"
    "  Without DIR or --config: through the admin API (see pamctl help for --url, --token-file)\n";

int usage(const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "pamctl audit search: %s\n", why.c_str());
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

std::string cell(std::string_view v) {
  return v.empty() ? "-" : std::string(v);
}

}  // namespace

// Offline when a directory or a configuration is named; else the admin API.
bool names_local_files(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config") return true;
    if (a == "--user" || a == "--record" || a == "--operation" || a == "--type" ||
        a == "--resource" || a == "--since" || a == "--until" || a == "--limit" ||
        a == "--cursor" || a == "--url" || a == "--token-file" || a == "--ca") {
      ++i;  // its value
    } else if (a.empty() || a[0] != '-') {
      return true;  // DIR
    }
  }
  return false;
}

int run_audit_search(const std::vector<std::string>& args) {
  if (!names_local_files(args)) {
    for (const std::string& a : args) {
      if (a == "--help" || a == "-h") {
        std::fputs(kUsage, stdout);
        return kExitOk;
      }
    }
    return run_audit_search_api(args);
  }
  audit::EventFilter filter;
  std::optional<std::string> dir;
  std::optional<std::string> config_file;
  bool json = false;
  int64_t limit = 0;  // 0 = all
  const absl::Time now = absl::Now();
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
    const std::string* v = nullptr;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--user" || a == "--record" || a == "--operation" || a == "--type" ||
               a == "--resource" || a == "--since" || a == "--until" || a == "--limit" ||
               a == "--config") {
      if ((v = value()) == nullptr) return usage(a + " needs a value");
      if (a == "--user") filter.user = *v;
      if (a == "--record") filter.record = *v;
      if (a == "--operation") filter.operation = *v;
      if (a == "--resource") {
        if (!v->starts_with("arn:"))
          return usage("--resource takes an ARN pattern, e.g. arn:aws:s3:::b/*");
        filter.resource = *v;
      }
      if (a == "--config") config_file = *v;
      if (a == "--type") {
        audit::EventType t;
        if (!audit::parse_event_type(*v, &t)) return usage("unknown event type '" + *v + "'");
        filter.event_type = *v;
      }
      if (a == "--since" || a == "--until") {
        auto t = parse_time_arg(*v, now);
        if (!t) return usage(a + ": '" + *v + "' is neither RFC 3339 nor an age like 15m");
        (a == "--since" ? filter.since_unix_ns : filter.until_unix_ns) = *t;
      }
      if (a == "--limit" && (!absl::SimpleAtoi(*v, &limit) || limit <= 0)) {
        return usage("--limit: expected a positive integer");
      }
    } else if (!a.empty() && a[0] == '-') {
      return usage("unknown flag " + a);
    } else if (!dir) {
      dir = a;
    } else {
      return usage("one directory only");
    }
  }
  if (!dir) {
    config::Config c;
    if (config_file) {
      config::LoadResult r = config::load_file(*config_file);
      if (!r.ok()) {
        std::fprintf(stderr, "pamctl audit search: %s\n", r.errors.front().to_string().c_str());
        return kExitUsage;
      }
      c = r.config;
    }
    dir = config::resolve_paths(c, std::getenv("STATE_DIRECTORY"),
                                std::getenv("CREDENTIALS_DIRECTORY"))
              .audit_directory;
  }

  audit::LogReader reader(*dir);
  int64_t shown = 0;
  if (!json) {
    std::printf("%-6s %-27s %-17s %-18s %-20s %-24s %-6s %s\n", "SEQ", "TIME", "TYPE", "USER",
                "RECORD", "OPERATION", "STATUS", "SOURCE / REASON");
  }
  auto n = reader.poll([&](uint64_t seq, const audit::Event& e) {
    if (!filter.matches(e)) return true;
    if (json) {
      JsonWriter w;
      audit::write_event_json(w, seq, e);
      std::printf("%s\n", w.str().c_str());
    } else {
      char t[32];
      std::string time(t, audit::format_event_time(e.time_unix_ns, t));
      std::string op = std::string(e.event_name.view());
      std::string record =
          std::string(e.record_name.empty() ? e.record_id.view() : e.record_name.view());
      std::string tail = cell(e.source_ip.view());
      if (!e.deny_reason.empty()) tail += " " + std::string(e.deny_reason.view());
      std::printf("%-6llu %-27s %-17s %-18s %-20s %-24s %-6s %s\n",
                  static_cast<unsigned long long>(seq), time.c_str(),
                  std::string(audit::event_type_name(e.type)).c_str(), cell(e.user.view()).c_str(),
                  cell(record).c_str(), cell(op).c_str(),
                  e.status ? std::to_string(e.status).c_str() : "-", tail.c_str());
    }
    return limit == 0 || ++shown < limit;
  });
  if (!n.ok()) {
    std::fprintf(stderr, "pamctl audit search: %s\n", std::string(n.status().message()).c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace pamproxy::cli
