#include "admin_client.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.h"

namespace pamproxy::cli {
namespace {

constexpr size_t kSecretBytesMax = 64 * 1024;

bool parse_json(const std::string& body, simdjson::dom::parser& parser,
                simdjson::dom::element* out) {
  return parser.parse(body).get(*out) == simdjson::SUCCESS;
}

void print_json_line(const HttpsResponse& r) {
  std::printf("%s\n", one_line_json(r.body).c_str());
}

std::string strip_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

ApiArgs ApiArgs::parse(const std::vector<std::string>& args, size_t from,
                       std::initializer_list<Spec> specs) {
  ApiArgs a;
  auto kind_of = [&](std::string_view name) -> std::optional<Kind> {
    if (name == "--url" || name == "--token-file" || name == "--ca") return kValue;
    if (name == "--json") return kSwitch;
    for (const Spec& s : specs) {
      if (s.name == name) return s.kind;
    }
    return std::nullopt;
  };
  for (size_t i = from; i < args.size() && a.error.empty(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      a.error = "help";  // api_usage prints the usage on stdout
      break;
    }
    std::optional<Kind> kind = kind_of(arg);
    if (!kind) {
      a.error = "unknown flag " + arg;
    } else if (*kind == kSwitch) {
      if (a.has(arg)) a.error = arg + " given twice";
      a.switches.push_back(arg);
    } else if (i + 1 >= args.size()) {
      a.error = arg + " needs a value";
    } else if (*kind == kValue && a.has(arg)) {
      a.error = arg + " given twice";
    } else {
      a.ordered.emplace_back(arg, args[++i]);
    }
  }
  a.admin.url = a.value("--url");
  a.admin.token_file = a.value("--token-file");
  a.admin.ca = a.value("--ca");
  a.json = a.has("--json");
  return a;
}

bool ApiArgs::has(std::string_view name) const {
  for (const auto& s : switches) {
    if (s == name) return true;
  }
  for (const auto& [n, v] : ordered) {
    if (n == name) return true;
  }
  return false;
}

bool ApiArgs::has_own_flags() const {
  auto common = [](std::string_view n) {
    return n == "--url" || n == "--token-file" || n == "--ca" || n == "--json";
  };
  for (const auto& s : switches) {
    if (!common(s)) return true;
  }
  for (const auto& [n, v] : ordered) {
    if (!common(n)) return true;
  }
  return false;
}

std::optional<std::string> ApiArgs::value(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [n, v] : ordered) {
    if (n == name) out = v;
  }
  return out;
}

std::vector<std::string> ApiArgs::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : ordered) {
    if (n == name) out.push_back(v);
  }
  return out;
}

int api_usage(const char* family, const char* text, const std::string& why) {
  if (why == "help") {
    std::fputs(text, stdout);
    std::fputs(kCommonFlagsUsage, stdout);
    return kExitOk;
  }
  if (!why.empty()) std::fprintf(stderr, "pamctl %s: %s\n", family, why.c_str());
  std::fputs(text, stderr);
  std::fputs(kCommonFlagsUsage, stderr);
  return kExitUsage;
}

int fail(const ApiContext& ctx, const std::string& message) {
  std::fprintf(stderr, "pamctl %s: %s\n", ctx.cmd.c_str(), message.c_str());
  return kExitFailed;
}

int open_api(std::string cmd, const ApiArgs& args, ApiContext* ctx) {
  ctx->cmd = std::move(cmd);
  ctx->json = args.json;
  auto s = resolve_admin_settings(args.admin, process_env());
  if (!s.ok()) return fail(*ctx, std::string(s.status().message()));
  ctx->settings = *std::move(s);
  return kExitOk;
}

std::string api_error_text(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return "";
  simdjson::dom::object error;
  if (root.at_key("error").get_object().get(error) != simdjson::SUCCESS) return "";
  std::string_view message, code;
  if (error.at_key("message").get_string().get(message) != simdjson::SUCCESS) return "";
  std::string out = printable(message);
  if (error.at_key("code").get_string().get(code) == simdjson::SUCCESS) {
    out += " (" + printable(code) + ")";
  }
  return out;
}

int api_call(const ApiContext& ctx, const std::string& method, const std::string& path,
             const std::optional<std::string>& body, HttpsResponse* out, CallOptions options) {
  const AdminSettings& s = ctx.settings;
  HttpsRequest req{method, path, body, nullptr};
  if (options.authenticated) {
    if (!s.token) {
      fail(ctx, s.token_problem);
      return s.token_problem_is_usage ? kExitUsage : kExitFailed;
    }
    req.bearer = &*s.token;
  }
  HttpsOptions https;
  https.ca_file = s.ca_file;
  https.verify = options.verify;
  auto r = https_call(s.url, https, req);
  if (!r.ok()) return fail(ctx, std::string(r.status().message()));
  if (r->status >= 200 && r->status < 300) {
    *out = *std::move(r);
    return kExitOk;
  }
  std::string text = api_error_text(r->body);
  if (text.empty()) {
    std::string base = s.url.text;
    while (base.ends_with('/')) base.pop_back();
    text =
        "HTTP " + std::to_string(r->status) + " " + printable(r->reason) + " from " + base + path;
  }
  return fail(ctx, text);
}

int print_object(const ApiContext& ctx, const HttpsResponse& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object o;
  const bool object =
      parse_json(r.body, parser, &root) && root.get_object().get(o) == simdjson::SUCCESS;
  // The server's warnings (a valid but unusual value) go to stderr, with --json too.
  simdjson::dom::array warnings;
  if (object && o["warnings"].get_array().get(warnings) == simdjson::SUCCESS) {
    for (simdjson::dom::element w : warnings) {
      std::string_view text;
      if (w.get_string().get(text) != simdjson::SUCCESS) continue;
      std::fprintf(stderr, "pamctl %s: warning: %s\n", ctx.cmd.c_str(), printable(text).c_str());
    }
  }
  if (ctx.json) {
    print_json_line(r);
    return kExitOk;
  }
  if (!object) return fail(ctx, "the answer is not a JSON object");
  std::fputs(format_object(o).c_str(), stdout);
  return kExitOk;
}

int print_list(const ApiContext& ctx, const HttpsResponse& r, const std::vector<Column>& columns) {
  if (ctx.json) {
    print_json_line(r);
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array items;
  if (!parse_json(r.body, parser, &root)) return fail(ctx, "the answer is not JSON");
  if (root.get_array().get(items) != simdjson::SUCCESS &&
      root.at_key("items").get_array().get(items) != simdjson::SUCCESS) {
    return fail(ctx, "the answer is not a list");
  }
  std::fputs(format_list(columns, items).c_str(), stdout);
  std::string_view cursor;
  if (root.at_key("next_cursor").get_string().get(cursor) == simdjson::SUCCESS) {
    std::fprintf(stderr, "(more: add --cursor %s)\n", printable(cursor).c_str());
  }
  return kExitOk;
}

int print_deleted(const ApiContext& ctx, const HttpsResponse& r) {
  if (ctx.json) {
    print_json_line(r);
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view id;
  if (!parse_json(r.body, parser, &root) ||
      root.at_key("deleted").get_string().get(id) != simdjson::SUCCESS) {
    return fail(ctx, "the answer is not {\"deleted\": ID}");
  }
  std::printf("deleted %s\n", printable(id).c_str());
  return kExitOk;
}

int call_and_show(const std::string& cmd, const ApiArgs& args, const std::string& method,
                  const std::string& path, const std::optional<std::string>& body, Show show,
                  const std::vector<Column>& columns) {
  ApiContext ctx;
  if (int rc = open_api(cmd, args, &ctx); rc != kExitOk) return rc;
  HttpsResponse r;
  if (int rc = api_call(ctx, method, path, body, &r); rc != kExitOk) return rc;
  switch (show) {
    case Show::kObject: return print_object(ctx, r);
    case Show::kList: return print_list(ctx, r, columns);
    case Show::kDeleted: return print_deleted(ctx, r);
  }
  return kExitFailed;
}

bool read_secret_file(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::string line;
  std::getline(in, line);
  if (line.size() > kSecretBytesMax) {
    *error = path + ": the first line is longer than " + std::to_string(kSecretBytesMax) + " bytes";
    return false;
  }
  *out = strip_newline(std::move(line));
  if (out->empty()) {
    *error = path + " is empty";
    return false;
  }
  return true;
}

bool read_secret_stdin(const char* prompt, std::string* out, std::string* error) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    std::fprintf(stderr, "%s: ", prompt);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputc('\n', stderr);
  }
  if (line.size() > kSecretBytesMax) {
    *error = std::string(prompt) + " from stdin is longer than " + std::to_string(kSecretBytesMax) +
             " bytes";
    return false;
  }
  *out = strip_newline(std::move(line));
  if (out->empty()) {
    *error = std::string("no ") + prompt + " on stdin";
    return false;
  }
  return true;
}

}  // namespace pamproxy::cli
