// REST API tokens and access requests, through the admin REST API (docs/admin-api.md):
//   pamctl tokens create NAME [--user ID] [--expires-in 30d | --expires-at TIME]
//                        [--network CIDR]... [--save FILE]
//   pamctl tokens list [--user ID]
//   pamctl tokens revoke ID
//   pamctl requests list [--state pending|approved|denied|expired|revoked]
//   pamctl requests create REF --reason R [--start TIME] [--duration 1h]
//   pamctl requests approve|deny ID [--note N]
//   pamctl requests revoke ID
// TIME is RFC 3339 or "+" and a duration from now ("+2h"). `tokens create` shows the bearer
// ("<id>:<secret>") once: the API never shows the secret again. --save FILE writes it to FILE
// (mode 0600, replaced whole or not at all) instead of the terminal, for scripts; FILE is then
// what --token-file and the aws-profile/env commands take.
// Lists take --limit N and --cursor C. Common flags and exit codes: see admin_client.h.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "admin_client.h"
#include "commands.h"
#include "pamproxy/base/json_writer.h"
#include "time_arg.h"

namespace pamproxy::cli {
namespace {

constexpr char kTokensUsage[] =
    "usage: pamctl tokens create NAME [--user ID] [--expires-in 30d | --expires-at TIME]\n"
    "                  [--network CIDR]... [--save FILE]\n"
    "       pamctl tokens list [--user ID]\n"
    "       pamctl tokens revoke ID\n"
    "  TIME: RFC 3339 (2026-12-05T08:00:00Z) or from now (+12h)\n";
constexpr char kRequestsUsage[] =
    "usage: pamctl requests list [--state pending|approved|denied|expired|revoked]\n"
    "       pamctl requests create REF --reason R [--start TIME] [--duration 1h]\n"
    "       pamctl requests approve|deny ID [--note N]\n"
    "       pamctl requests revoke ID\n"
    "  TIME: RFC 3339 (2026-12-05T08:00:00Z) or from now (+2h)\n";

std::string page_query(const ApiArgs& a,
                       std::vector<std::pair<std::string, std::optional<std::string>>> q) {
  q.emplace_back("limit", a.value("--limit"));
  q.emplace_back("cursor", a.value("--cursor"));
  return query_string(q);
}

// A file written whole or not at all: a temporary file next to the target (0600 from the
// start, so the secret is never readable by others, not even briefly), renamed over it once
// complete. Created before the call, so a FILE that cannot be written is found out before a
// token exists whose secret would be lost.
class SecretFile {
 public:
  ~SecretFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  bool open(const std::string& path, std::string* error) {
    path_ = path;
    tmp_ = path + ".XXXXXX";
    fd_ = ::mkstemp(tmp_.data());  // mode 0600
    if (fd_ < 0) *error = "cannot create a file next to " + path + ": " + std::strerror(errno);
    return fd_ >= 0;
  }
  bool commit(const std::string& text, std::string* error) {
    bool ok = ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd_) == 0;
    ok = ::close(fd_) == 0 && ok;
    fd_ = -1;
    if (ok && ::rename(tmp_.c_str(), path_.c_str()) == 0) return true;
    *error = "cannot write " + path_ + ": " + std::strerror(errno);
    ::unlink(tmp_.c_str());
    return false;
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

std::string token_state(simdjson::dom::object o) {
  if (field_text(o, "revoked") == "true") return "revoked";
  std::string_view expires;
  absl::Time t;
  std::string err;
  if (o.at_key("expires_at").get_string().get(expires) == simdjson::SUCCESS &&
      absl::ParseTime(absl::RFC3339_full, std::string(expires), &t, &err) && t <= absl::Now()) {
    return "expired";
  }
  return "active";
}

int tokens_create(const ApiArgs& a) {
  const char* f = "tokens";
  if (a.positional.size() != 1) return api_usage(f, kTokensUsage, "create takes NAME");
  if (a.has("--expires-in") && a.has("--expires-at")) {
    return api_usage(f, kTokensUsage, "--expires-in and --expires-at exclude each other");
  }
  JsonWriter w;
  w.begin_object().key("name").value(a.positional[0]);
  if (auto user = a.value("--user")) w.key("user_id").value(*user);
  if (auto v = a.value("--expires-in")) {
    auto s = parse_duration_arg(*v);
    if (!s || *s == 0) return api_usage(f, kTokensUsage, "--expires-in: a duration like 12h, 30d");
    w.key("expires_in_s").value(*s);
  }
  if (auto v = a.value("--expires-at")) {
    auto t = parse_future_time_arg(*v, absl::Now());
    if (!t) return api_usage(f, kTokensUsage, "--expires-at: RFC 3339 or +DURATION");
    w.key("expires_at").value(rfc3339_utc(*t));
  }
  if (a.has("--network")) {
    w.key("allowed_networks").begin_array();
    for (const auto& n : a.values("--network")) w.value(n);
    w.end_array();
  }
  w.end_object();

  ApiContext ctx;
  if (int rc = open_api("tokens create", a, &ctx); rc != kExitOk) return rc;
  SecretFile save;
  std::string error;
  auto save_path = a.value("--save");
  if (save_path && !save.open(*save_path, &error)) return fail(ctx, error);
  HttpsResponse r;
  if (int rc = api_call(ctx, "POST", "/api/v1/tokens", w.str(), &r); rc != kExitOk) return rc;

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view bearer;
  if (parser.parse(r.body).get(root) != simdjson::SUCCESS ||
      root.at_key("bearer").get_string().get(bearer) != simdjson::SUCCESS) {
    return fail(ctx, "the answer carries no bearer token");
  }
  if (save_path && !save.commit(std::string(bearer) + "\n", &error)) {
    // The token exists and this is the only chance to see its secret.
    std::fprintf(stderr, "pamctl tokens create: %s; the token is:\n%s\n", error.c_str(),
                 printable(bearer).c_str());
    return kExitFailed;
  }
  if (ctx.json) {
    std::printf("%s\n", one_line_json(r.body).c_str());
    return kExitOk;
  }
  std::fputs(format_object(root.get_object(), {"secret", "bearer"}).c_str(), stdout);
  if (save_path) {
    std::printf("\nbearer token saved to %s (mode 0600): pass --token-file %s\n",
                save_path->c_str(), save_path->c_str());
  } else {
    std::printf("\nbearer token (shown only now; keep it in a file only you can read):\n\n  %s\n\n",
                printable(bearer).c_str());
  }
  return kExitOk;
}

}  // namespace

int run_tokens(const std::vector<std::string>& args) {
  const char* f = "tokens";
  if (args.empty()) return api_usage(f, kTokensUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kTokensUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--user", ApiArgs::kValue},
                              {"--expires-in", ApiArgs::kValue},
                              {"--expires-at", ApiArgs::kValue},
                              {"--network", ApiArgs::kRepeated},
                              {"--save", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage(f, kTokensUsage, a.error);
  const bool paging = a.has("--limit") || a.has("--cursor");
  if (action == "create") {
    if (paging) return api_usage(f, kTokensUsage, "create takes no --limit or --cursor");
    return tokens_create(a);
  }
  if (action == "list") {
    if (!a.positional.empty() || a.has("--expires-in") || a.has("--expires-at") ||
        a.has("--network") || a.has("--save")) {
      return api_usage(f, kTokensUsage, "list takes only --user ID");
    }
    return call_and_show("tokens list", a, "GET",
                         "/api/v1/tokens" + page_query(a, {{"user", a.value("--user")}}),
                         std::nullopt, Show::kList,
                         {field_column("ID", "id"),
                          field_column("NAME", "name"),
                          field_column("USER", "user_id"),
                          field_column("EXPIRES", "expires_at"),
                          field_column("NETWORKS", "allowed_networks"),
                          {"STATE", token_state},
                          field_column("LAST USED", "last_used_at")});
  }
  if (action == "revoke") {
    if (a.positional.size() != 1 || a.has_own_flags()) {
      return api_usage(f, kTokensUsage, "revoke takes ID");
    }
    return call_and_show("tokens revoke", a, "POST",
                         "/api/v1/tokens/" + percent_encode(a.positional[0]) + "/revoke",
                         std::nullopt, Show::kObject);
  }
  return api_usage(f, kTokensUsage, "unknown action '" + action + "'");
}

int run_requests(const std::vector<std::string>& args) {
  const char* f = "requests";
  if (args.empty()) return api_usage(f, kRequestsUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kRequestsUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--state", ApiArgs::kValue},
                              {"--reason", ApiArgs::kValue},
                              {"--start", ApiArgs::kValue},
                              {"--duration", ApiArgs::kValue},
                              {"--note", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage(f, kRequestsUsage, a.error);
  const std::string cmd = "requests " + action;
  auto only = [&](std::initializer_list<std::string_view> allowed) {
    for (std::string_view flag :
         {"--state", "--reason", "--start", "--duration", "--note", "--limit", "--cursor"}) {
      if (a.has(flag) && std::find(allowed.begin(), allowed.end(), flag) == allowed.end()) {
        return false;
      }
    }
    return true;
  };
  if (action == "list") {
    if (!a.positional.empty() || !only({"--state", "--limit", "--cursor"})) {
      return api_usage(f, kRequestsUsage, "list takes only --state S");
    }
    return call_and_show(cmd, a, "GET",
                         "/api/v1/requests" + page_query(a, {{"state", a.value("--state")}}),
                         std::nullopt, Show::kList,
                         {field_column("ID", "id"), field_column("USER", "user_id"),
                          field_column("RECORD", "record_id"), field_column("START", "start_at"),
                          field_column("END", "end_at"), field_column("STATE", "state"),
                          field_column("REASON", "reason")});
  }
  if (action == "create") {
    if (a.positional.size() != 1 || !only({"--reason", "--start", "--duration"})) {
      return api_usage(f, kRequestsUsage, "create takes REF and --reason, --start, --duration");
    }
    auto reason = a.value("--reason");
    if (!reason) return api_usage(f, kRequestsUsage, "create needs --reason R");
    JsonWriter w;
    w.begin_object().key("record").value(a.positional[0]);
    if (auto v = a.value("--start")) {
      auto t = parse_future_time_arg(*v, absl::Now());
      if (!t) return api_usage(f, kRequestsUsage, "--start: RFC 3339 or +DURATION");
      w.key("start_at").value(rfc3339_utc(*t));
    }
    if (auto v = a.value("--duration")) {
      auto s = parse_duration_arg(*v);
      if (!s || *s == 0) return api_usage(f, kRequestsUsage, "--duration: like 30m, 1h, 8h");
      w.key("duration_s").value(*s);
    }
    w.key("reason").value(*reason).end_object();
    return call_and_show(cmd, a, "POST", "/api/v1/requests", w.str(), Show::kObject);
  }
  if (action == "approve" || action == "deny" || action == "revoke") {
    const bool note_ok = action != "revoke";
    if (a.positional.size() != 1 ||
        !only(note_ok ? std::initializer_list<std::string_view>{"--note"}
                      : std::initializer_list<std::string_view>{})) {
      return api_usage(f, kRequestsUsage,
                       action + (note_ok ? " takes ID [--note N]" : " takes ID"));
    }
    std::optional<std::string> body;
    if (auto note = a.value("--note")) {
      JsonWriter w;
      w.begin_object().key("note").value(*note).end_object();
      body = w.str();
    }
    return call_and_show(cmd, a, "POST",
                         "/api/v1/requests/" + percent_encode(a.positional[0]) + "/" + action, body,
                         Show::kObject);
  }
  return api_usage(f, kRequestsUsage, "unknown action '" + action + "'");
}

}  // namespace pamproxy::cli
