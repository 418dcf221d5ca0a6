// Records and their policies through the admin REST API (docs/admin-api.md):
//   pamctl records list [--tag T] [--name N] [--favorites] [--limit N] [--cursor C]
//   pamctl records add --name N --access-key-id K (--secret-key-file F | --secret-key-stdin)
//                      [--session-token-file F | --session-token-stdin] [--description D]
//                      [--reference-record R] [--default-region R] [--aws-account-id ID]
//                      [--tag T]...
//   pamctl records show REF
//   pamctl records edit REF [the fields of add] [--no-session-token] [--no-tags] [--version N]
//     (the edit is made from version N, or from the version read just before it: a record
//     changed meanwhile, on this node or another, answers 409 instead of losing that change)
//   pamctl records rm REF
//   pamctl records favorite|unfavorite REF    (the caller's own star; list --favorites shows them)
//   pamctl policies show|rm REF
//   pamctl policies set REF [--window "Mon-Fri 08:00-18:00"]... [--time-zone TZ]
//                      [--network CIDR]... [--approval-required] [--approver-role ID]
//                      [--approval-max 8h] [--allow PATTERN]... [--deny PATTERN]...
//   PATTERN is "service:Operation" optionally followed by an ARN pattern that scopes the rule to
//   resources: --deny 's3:DeleteObject arn:aws:s3:::prod-*/*'.
// REF is a record id or a reference as written after '#' in AWS_ACCESS_KEY_ID; it is
// percent-encoded into the URL. Secrets are read from a file or stdin, never from an argument:
// every user of the machine can read a process's arguments. `policies set` replaces the whole
// policy: what is not given takes its default (any time, UTC, any network, no approval, no
// rules); --allow and --deny rules keep their command-line order.
// Common flags and exit codes: see admin_client.h.

#include <simdjson.h>

#include <string>
#include <vector>

#include "admin_client.h"
#include "commands.h"
#include "pamproxy/base/json_writer.h"
#include "time_arg.h"

namespace pamproxy::cli {
namespace {

constexpr char kRecordsUsage[] =
    "usage: pamctl records list [--tag T] [--name N] [--favorites] [--limit N] [--cursor C]\n"
    "       pamctl records add --name N --access-key-id K (--secret-key-file F | "
    "--secret-key-stdin)\n"
    "                  [--session-token-file F | --session-token-stdin] [--description D]\n"
    "                  [--reference-record R] [--default-region R] [--aws-account-id ID]\n"
    "                  [--tag T]...\n"
    "       pamctl records show REF\n"
    "       pamctl records edit REF [the flags of add] [--no-session-token] [--no-tags]\n"
    "                  [--version N]\n"
    "       pamctl records rm REF\n"
    "       pamctl records favorite|unfavorite REF\n";
constexpr char kPoliciesUsage[] =
    "usage: pamctl policies show REF\n"
    "       pamctl policies set REF [--window \"Mon-Fri 08:00-18:00\"]... [--time-zone TZ]\n"
    "                  [--network CIDR]... [--approval-required] [--approver-role ID]\n"
    "                  [--approval-max 8h] [--allow PATTERN]... [--deny PATTERN]...\n"
    "       pamctl policies rm REF\n"
    "  set replaces the whole policy; rules apply in the order given\n"
    "  PATTERN: service:Operation [ARN pattern], e.g. 's3:Get*' or\n"
    "           's3:DeleteObject arn:aws:s3:::prod-*/*' ('*' and '?' as IAM reads them)\n";

std::string record_path(const std::string& ref) {
  return "/api/v1/records/" + percent_encode(ref);
}

std::vector<Column> record_columns() {
  return {field_column("ID", "id"),
          field_column("NAME", "name"),
          field_column("TYPE", "type"),
          field_column("ACCESS KEY ID", "access_key_id"),
          field_column("REGION", "default_region"),
          field_column("AWS ACCOUNT", "aws_account_id"),
          field_column("TAGS", "tags")};
}

// Reads one secret from --<name>-file or --<name>-stdin. Returns false (with `error`) on a
// problem; true with `out` unset when neither flag is given.
bool secret_from(const ApiArgs& a, const std::string& name, const char* prompt,
                 std::optional<std::string>* out, std::string* error, int* exit_code) {
  auto file = a.value("--" + name + "-file");
  bool from_stdin = a.has("--" + name + "-stdin");
  if (file && from_stdin) {
    *error = "--" + name + "-file and --" + name + "-stdin exclude each other";
    *exit_code = kExitUsage;
    return false;
  }
  std::string secret;
  if (file && !read_secret_file(*file, &secret, error)) {
    *exit_code = kExitFailed;
    return false;
  }
  if (from_stdin && !read_secret_stdin(prompt, &secret, error)) {
    *exit_code = kExitFailed;
    return false;
  }
  if (file || from_stdin) *out = std::move(secret);
  return true;
}

// RECORD_IN from the flags: every field for `add`, what is given for `edit`. Returns an exit
// code; kExitOk with the body in `w`.
int record_body(const ApiArgs& a, bool create, JsonWriter& w) {
  const char* family = "records";
  if (a.has("--secret-key") || a.has("--session-token")) {
    return api_usage(family, kRecordsUsage,
                     "secrets are never taken from the command line (other users see it): use "
                     "--secret-key-file F / --secret-key-stdin, --session-token-file F / "
                     "--session-token-stdin");
  }
  if (a.has("--secret-key-stdin") && a.has("--session-token-stdin")) {
    return api_usage(family, kRecordsUsage, "only one secret can come from stdin");
  }
  if (create && (!a.value("--name") || !a.value("--access-key-id") ||
                 (!a.has("--secret-key-file") && !a.has("--secret-key-stdin")))) {
    return api_usage(family, kRecordsUsage,
                     "add needs --name, --access-key-id and --secret-key-file F or "
                     "--secret-key-stdin");
  }
  if (a.has("--no-session-token") &&
      (a.has("--session-token-file") || a.has("--session-token-stdin"))) {
    return api_usage(family, kRecordsUsage, "--no-session-token with a session token");
  }
  if (a.has("--no-tags") && a.has("--tag"))
    return api_usage(family, kRecordsUsage, "--no-tags with --tag");
  std::optional<std::string> secret_key, session_token;
  std::string error;
  int rc = kExitOk;
  if (!secret_from(a, "secret-key", "secret access key", &secret_key, &error, &rc) ||
      !secret_from(a, "session-token", "session token", &session_token, &error, &rc)) {
    std::fprintf(stderr, "pamctl records: %s\n", error.c_str());
    return rc;
  }
  w.begin_object();
  auto text = [&](const char* flag, const char* key) {
    if (auto v = a.value(flag)) w.key(key).value(*v);
  };
  text("--name", "name");
  text("--description", "description");
  text("--reference-record", "reference_record");
  text("--access-key-id", "access_key_id");
  if (secret_key) w.key("secret_access_key").value(*secret_key);
  if (session_token) w.key("session_token").value(*session_token);
  if (a.has("--no-session-token")) w.key("session_token").value("");
  text("--default-region", "default_region");
  text("--aws-account-id", "aws_account_id");
  if (a.has("--tag") || a.has("--no-tags")) {
    w.key("tags").begin_array();
    for (const auto& t : a.values("--tag")) w.value(t);
    w.end_array();
  }
  w.end_object();
  if (!create && w.str() == "{}") {
    return api_usage(family, kRecordsUsage, "edit: nothing to change");
  }
  return kExitOk;
}

// POLICY from the flags (PUT replaces the whole policy).
int policy_body(const ApiArgs& a, JsonWriter& w) {
  std::optional<int64_t> max_s;
  if (auto v = a.value("--approval-max")) {
    max_s = parse_duration_arg(*v);
    if (!max_s || *max_s == 0) {
      return api_usage("policies", kPoliciesUsage,
                       "--approval-max: '" + *v + "' is not a duration like 90s, 15m, 8h, 30d");
    }
  }
  w.begin_object();
  if (a.has("--window")) {
    w.key("windows").begin_array();
    for (const auto& v : a.values("--window")) w.value(v);
    w.end_array();
  }
  if (auto tz = a.value("--time-zone")) w.key("time_zone").value(*tz);
  if (a.has("--network")) {
    w.key("allowed_networks").begin_array();
    for (const auto& v : a.values("--network")) w.value(v);
    w.end_array();
  }
  if (a.has("--approval-required") || a.has("--approver-role") || max_s) {
    w.key("approval").begin_object();
    w.key("required").value(a.has("--approval-required"));
    if (auto role = a.value("--approver-role")) w.key("approver_role_id").value(*role);
    if (max_s) w.key("max_duration_s").value(*max_s);
    w.end_object();
  }
  if (a.has("--allow") || a.has("--deny")) {
    w.key("command_rules").begin_array();
    for (const auto& [flag, pattern] : a.ordered) {
      if (flag != "--allow" && flag != "--deny") continue;
      // "s3:Get* arn:aws:s3:::reports/*": the resource starts at the first " arn:".
      const size_t arn = pattern.find(" arn:");
      w.begin_object();
      w.key("effect").value(flag == "--allow" ? "allow" : "deny");
      w.key("pattern").value(pattern.substr(0, arn));
      if (arn != std::string::npos) w.key("resource").value(pattern.substr(arn + 1));
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return kExitOk;
}

int records_list(const std::vector<std::string>& args) {
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--tag", ApiArgs::kValue},
                              {"--name", ApiArgs::kValue},
                              {"--favorites", ApiArgs::kSwitch},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage("records", kRecordsUsage, a.error);
  if (!a.positional.empty()) return api_usage("records", kRecordsUsage, "list takes no argument");
  ApiContext ctx;
  if (int rc = open_api("records list", a, &ctx); rc != kExitOk) return rc;
  std::optional<std::string> favorites;
  if (a.has("--favorites")) favorites = "1";
  const std::string path = "/api/v1/records" + query_string({{"tag", a.value("--tag")},
                                                             {"name", a.value("--name")},
                                                             {"favorites", favorites},
                                                             {"limit", a.value("--limit")},
                                                             {"cursor", a.value("--cursor")}});
  HttpsResponse r;
  if (int rc = api_call(ctx, "GET", path, std::nullopt, &r); rc != kExitOk) return rc;
  return print_list(ctx, r, record_columns());
}

// PUT or DELETE records/{ref}/favorite: the caller's own star on a record.
int records_favorite(const std::vector<std::string>& args) {
  const std::string& action = args[0];
  ApiArgs a = ApiArgs::parse(args, 1, {});
  if (!a.error.empty()) return api_usage("records", kRecordsUsage, a.error);
  if (a.positional.size() != 1) {
    return api_usage("records", kRecordsUsage, action + " takes one REF");
  }
  ApiContext ctx;
  if (int rc = open_api("records " + action, a, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  const std::string path = record_path(a.positional[0]) + "/favorite";
  if (int rc = api_call(ctx, action == "favorite" ? "PUT" : "DELETE", path, std::nullopt, &r);
      rc != kExitOk) {
    return rc;
  }
  return print_object(ctx, r);
}

// Adds "version" to an edit's JSON body: --version N, or the version the record has now (read
// just before the edit), so that a change made meanwhile answers 409 rather than being undone.
int with_version(const ApiContext& ctx, const ApiArgs& a, const std::string& path,
                 std::string* body) {
  std::string version = a.value("--version").value_or("");
  if (version.empty()) {
    HttpsResponse got;
    if (int rc = api_call(ctx, "GET", path, std::nullopt, &got); rc != kExitOk) return rc;
    simdjson::dom::parser parser;
    int64_t v = 0;
    if (parser.parse(got.body)["version"].get(v) != simdjson::SUCCESS) {
      return api_usage("records", kRecordsUsage, "the record read has no version");
    }
    version = std::to_string(v);
  }
  if (version.find_first_not_of("0123456789") != std::string::npos || body->size() < 2 ||
      body->back() != '}') {
    return api_usage("records", kRecordsUsage, "--version takes a number");
  }
  body->pop_back();
  *body += std::string(body->size() > 1 ? "," : "") + "\"version\":" + version + "}";
  return kExitOk;
}

}  // namespace

int run_records(const std::vector<std::string>& args) {
  if (args.empty()) return api_usage("records", kRecordsUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage("records", kRecordsUsage, "help");
  if (action == "list") return records_list(args);
  if (action == "favorite" || action == "unfavorite") return records_favorite(args);
  if (action != "add" && action != "show" && action != "edit" && action != "rm") {
    return api_usage("records", kRecordsUsage, "unknown action '" + action + "'");
  }
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--name", ApiArgs::kValue},
                              {"--access-key-id", ApiArgs::kValue},
                              {"--secret-key-file", ApiArgs::kValue},
                              {"--secret-key-stdin", ApiArgs::kSwitch},
                              {"--session-token-file", ApiArgs::kValue},
                              {"--session-token-stdin", ApiArgs::kSwitch},
                              {"--no-session-token", ApiArgs::kSwitch},
                              {"--secret-key", ApiArgs::kSwitch},
                              {"--session-token", ApiArgs::kSwitch},
                              {"--description", ApiArgs::kValue},
                              {"--reference-record", ApiArgs::kValue},
                              {"--default-region", ApiArgs::kValue},
                              {"--aws-account-id", ApiArgs::kValue},
                              {"--tag", ApiArgs::kRepeated},
                              {"--no-tags", ApiArgs::kSwitch},
                              {"--version", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage("records", kRecordsUsage, a.error);
  const bool edits = action == "add" || action == "edit";
  const size_t want = action == "add" ? 0 : 1;
  if (a.positional.size() != want && !a.has("--secret-key") && !a.has("--session-token")) {
    return api_usage("records", kRecordsUsage,
                     action == "add" ? "add takes flags only" : action + " takes one REF");
  }
  if (action == "add" && a.has("--version")) {
    return api_usage("records", kRecordsUsage, "--version is for edit");
  }
  if (!edits && a.has_own_flags()) {
    return api_usage("records", kRecordsUsage, action + " takes no record field flag");
  }
  JsonWriter body;
  if (edits) {
    if (int rc = record_body(a, action == "add", body); rc != kExitOk) return rc;
  }
  ApiContext ctx;
  if (int rc = open_api("records " + action, a, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  int rc = kExitOk;
  if (action == "add") rc = api_call(ctx, "POST", "/api/v1/records", body.str(), &r);
  if (action == "show") rc = api_call(ctx, "GET", record_path(a.positional[0]), std::nullopt, &r);
  if (action == "edit") {
    std::string patch = body.str();
    rc = with_version(ctx, a, record_path(a.positional[0]), &patch);
    if (rc == kExitOk) rc = api_call(ctx, "PATCH", record_path(a.positional[0]), patch, &r);
  }
  if (action == "rm") rc = api_call(ctx, "DELETE", record_path(a.positional[0]), std::nullopt, &r);
  if (rc != kExitOk) return rc;
  return action == "rm" ? print_deleted(ctx, r) : print_object(ctx, r);
}

int run_policies(const std::vector<std::string>& args) {
  if (args.empty()) return api_usage("policies", kPoliciesUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage("policies", kPoliciesUsage, "help");
  if (action != "show" && action != "set" && action != "rm") {
    return api_usage("policies", kPoliciesUsage, "unknown action '" + action + "'");
  }
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--window", ApiArgs::kRepeated},
                              {"--time-zone", ApiArgs::kValue},
                              {"--network", ApiArgs::kRepeated},
                              {"--approval-required", ApiArgs::kSwitch},
                              {"--approver-role", ApiArgs::kValue},
                              {"--approval-max", ApiArgs::kValue},
                              {"--allow", ApiArgs::kRepeated},
                              {"--deny", ApiArgs::kRepeated}});
  if (!a.error.empty()) return api_usage("policies", kPoliciesUsage, a.error);
  if (a.positional.size() != 1)
    return api_usage("policies", kPoliciesUsage, action + " takes one REF");
  JsonWriter body;
  if (action == "set") {
    if (int rc = policy_body(a, body); rc != kExitOk) return rc;
  } else if (a.has_own_flags()) {
    return api_usage("policies", kPoliciesUsage, "policy flags go with set");
  }
  ApiContext ctx;
  if (int rc = open_api("policies " + action, a, &ctx); rc != kExitOk) return rc;
  const std::string path = record_path(a.positional[0]) + "/policy";
  HttpsResponse r;
  int rc = kExitOk;
  if (action == "show") rc = api_call(ctx, "GET", path, std::nullopt, &r);
  if (action == "set") rc = api_call(ctx, "PUT", path, body.str(), &r);
  if (action == "rm") rc = api_call(ctx, "DELETE", path, std::nullopt, &r);
  if (rc != kExitOk) return rc;
  return action == "rm" ? print_deleted(ctx, r) : print_object(ctx, r);
}

}  // namespace pamproxy::cli
