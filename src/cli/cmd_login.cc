// Signing in through the organisation's identity provider from a terminal (docs/identity.md):
//   pamctl login [--device] [--admin URL | --url URL] [--ca FILE]
//       signs in at the provider, in a browser (pamctl waits on 127.0.0.1 for the browser to
//       come back, PKCE-style: only pamctl knows the verifier the code is exchanged with) or,
//       with --device, on any device (a code to enter at the provider's page); writes
//       ~/.config/pamctl/login.json (login_file.h) and says who signed in and until when.
//   pamctl logout
//       revokes the login's token at the appliance and removes the file.
//   pamctl credential-process --record REF --login   (cmd_env.cc calls login_credentials)
//       the login's token as credential_process JSON, renewed through the provider first when
//       it is due ([identity] cli_recheck_s): a person the provider no longer vouches for gets
//       an error, not a token.
// Exit 0, 1 (refused, not signed in, the appliance unreachable), 2 usage.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "admin_client.h"
#include "commands.h"
#include "login_file.h"
#include "pamproxy/base/json_writer.h"

extern char** environ;

namespace pamproxy::cli {
namespace {

constexpr char kLoginUsage[] =
    "usage: pamctl login [--device] [--admin URL] [--ca FILE]\n"
    "       pamctl logout\n"
    "  signs in through the identity provider (a browser, or --device for a code to enter on\n"
    "  any device) and keeps a short-lived token in ~/.config/pamctl/login.json that\n"
    "  `pamctl aws-profile NAME --record REF --login` hands to the AWS CLI, renewed through the\n"
    "  provider as it is used\n";

constexpr int kBrowserWaitS = 300;

std::string rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string base64url(const unsigned char* bytes, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | bytes[i];
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  return out;
}

std::string json_string(simdjson::dom::object o, std::string_view name) {
  std::string_view v;
  return o[name].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

int64_t json_int(simdjson::dom::object o, std::string_view name, int64_t fallback) {
  int64_t v = 0;
  return o[name].get_int64().get(v) == simdjson::SUCCESS ? v : fallback;
}

// A login answer (api_cli_login.cc) into `login`.
bool take_answer(const std::string& body, absl::Time now, LoginState* login, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(body).get_object().get(o) != simdjson::SUCCESS) {
    *error = "the appliance's answer is not a JSON object";
    return false;
  }
  simdjson::dom::object user;
  if (o["user"].get_object().get(user) == simdjson::SUCCESS)
    login->user = json_string(user, "name");
  login->token_id = json_string(o, "token_id");
  login->secret = json_string(o, "secret");
  login->refresh = json_string(o, "refresh");
  login->recheck_s = json_int(o, "recheck_s", 300);
  login->checked_at = now;
  std::string err;
  if (login->token_id.empty() || login->secret.empty() || login->refresh.empty() ||
      !absl::ParseTime(absl::RFC3339_full, json_string(o, "expires_at"), &login->expires_at,
                       &err)) {
    *error = "the appliance's sign-in answer lacks its token, expiry or refresh secret";
    return false;
  }
  return true;
}

std::string body_with(std::string_view name, std::string_view value) {
  JsonWriter w;
  w.begin_object().key(name).value(value).end_object();
  return w.take();
}

int device_flow(const ApiContext& ctx, HttpsResponse* answer) {
  HttpsResponse started;
  if (int rc = api_call(ctx, "POST", "/api/v1/auth/device", std::nullopt, &started,
                        {.authenticated = false});
      rc != kExitOk) {
    return rc;
  }
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(started.body).get_object().get(o) != simdjson::SUCCESS) {
    return fail(ctx, "the appliance's answer is not a JSON object");
  }
  const std::string handle = json_string(o, "handle");
  const std::string complete = json_string(o, "verification_uri_complete");
  int64_t interval_s = std::clamp<int64_t>(json_int(o, "interval", 5), 1, 60);
  const absl::Time deadline = absl::Now() + absl::Seconds(json_int(o, "expires_in", 600));
  std::printf("To sign in, open %s and enter the code %s\n",
              json_string(o, "verification_uri").c_str(), json_string(o, "user_code").c_str());
  if (!complete.empty()) std::printf("(or open %s)\n", complete.c_str());
  std::printf("Waiting for the identity provider...\n");
  std::fflush(stdout);
  const std::string poll_body = body_with("handle", handle);
  while (absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(interval_s));
    HttpsResponse r;
    if (int rc = api_call(ctx, "POST", "/api/v1/auth/device/poll", poll_body, &r,
                          {.authenticated = false});
        rc != kExitOk) {
      return rc;
    }
    if (r.status == 200) {
      *answer = std::move(r);
      return kExitOk;
    }
    simdjson::dom::parser p;
    simdjson::dom::object pending;
    if (p.parse(r.body).get_object().get(pending) == simdjson::SUCCESS) {
      interval_s = std::clamp<int64_t>(json_int(pending, "interval", interval_s), 1, 60);
    }
  }
  return fail(ctx, "the code expired before the sign-in was finished: run pamctl login again");
}

// Opens `url` with $BROWSER, else xdg-open; the URL is printed either way.
void open_browser(const std::string& url) {
  std::string browser = "xdg-open";
  if (const char* env = std::getenv("BROWSER"); env != nullptr && *env != '\0') {
    browser = env;
    browser = browser.substr(0, browser.find(':'));
  }
  char* argv[] = {browser.data(), const_cast<char*>(url.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  posix_spawnp(&pid, browser.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
}

// Waits for the browser's GET /callback?code=... on `listener`; the code, or "" on timeout or
// an error answer.
std::string wait_for_callback(int listener, std::string* error) {
  const absl::Time deadline = absl::Now() + absl::Seconds(kBrowserWaitS);
  while (absl::Now() < deadline) {
    pollfd p{.fd = listener, .events = POLLIN, .revents = 0};
    const int left_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&p, 1, std::max(left_ms, 1)) <= 0) continue;
    const int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    timeval tv{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string request;
    char buf[2048];
    while (request.size() < 8192 && request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const std::string_view line = std::string_view(request).substr(0, request.find("\r\n"));
    std::string code;
    constexpr std::string_view kPrefix = "GET /callback?";
    if (line.starts_with(kPrefix)) {
      std::string_view query = line.substr(kPrefix.size());
      query = query.substr(0, query.find(' '));
      for (size_t at = 0; at <= query.size();) {
        const size_t end = std::min(query.find('&', at), query.size());
        const std::string_view pair = query.substr(at, end - at);
        if (pair.starts_with("code=")) code = std::string(pair.substr(5));
        if (pair.starts_with("error=")) *error = std::string(pair.substr(6, 64));
        at = end + 1;
      }
    }
    const bool done = !code.empty() || !error->empty();
    const std::string page =
        done ? "Signed in to pamproxy: go back to the terminal.\n" : "Not found.\n";
    const std::string reply = std::string(done ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                              "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                              std::to_string(page.size()) + "\r\nConnection: close\r\n\r\n" + page;
    (void)!::write(c, reply.data(), reply.size());
    ::close(c);
    if (done) return code;
  }
  *error = "no answer from the browser within 300 s";
  return "";
}

int browser_flow(const ApiContext& ctx, HttpsResponse* answer) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 8) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener >= 0) ::close(listener);
    return fail(ctx, "cannot listen on 127.0.0.1 for the browser: try pamctl login --device");
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    ::close(listener);
    return fail(ctx, "no random bytes for the sign-in");
  }
  const std::string verifier = base64url(random, sizeof random);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  std::string base = ctx.settings.url.text;
  while (base.ends_with('/')) base.pop_back();
  const std::string url = base +
                          "/auth/oidc/start?cli_port=" + std::to_string(ntohs(addr.sin_port)) +
                          "&cli_challenge=" + base64url(digest, sizeof digest);
  std::printf("Sign in in your browser; if none opens, open:\n  %s\n", url.c_str());
  std::fflush(stdout);
  open_browser(url);
  std::string error;
  const std::string code = wait_for_callback(listener, &error);
  ::close(listener);
  if (code.empty()) return fail(ctx, "the browser sign-in did not finish (" + error + ")");
  JsonWriter w;
  w.begin_object().key("code").value(code).key("verifier").value(verifier).end_object();
  return api_call(ctx, "POST", "/api/v1/auth/cli/exchange", w.take(), answer,
                  {.authenticated = false});
}

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) + "/" + path : path;
}

}  // namespace

int run_login(const std::vector<std::string>& args) {
  ApiArgs a =
      ApiArgs::parse(args, 0, {{"--device", ApiArgs::kSwitch}, {"--admin", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage("login", kLoginUsage, a.error);
  if (!a.positional.empty()) return api_usage("login", kLoginUsage, "takes no arguments");
  if (a.has("--admin")) {
    if (a.admin.url) return api_usage("login", kLoginUsage, "give --admin or --url, not both");
    a.admin.url = a.value("--admin");
  }
  ApiContext ctx;
  if (int rc = open_api("login", a, &ctx); rc != kExitOk) return rc;
  const std::string path = login_path(process_env());
  if (path.empty()) return fail(ctx, "neither XDG_CONFIG_HOME nor HOME is set");
  HttpsResponse answer;
  if (int rc = a.has("--device") ? device_flow(ctx, &answer) : browser_flow(ctx, &answer);
      rc != kExitOk) {
    return rc;
  }
  LoginState login{.url = ctx.settings.url.text, .ca = absolute(ctx.settings.ca_file)};
  std::string error;
  if (!take_answer(answer.body, absl::Now(), &login, &error)) return fail(ctx, error);
  LoginLock lock(path);
  if (absl::Status s = write_login(path, login); !s.ok()) {
    return fail(ctx, std::string(s.message()));
  }
  std::printf("Signed in as %s until %s (token %s; kept in %s)\n", login.user.c_str(),
              rfc3339(login.expires_at).c_str(), login.token_id.c_str(), path.c_str());
  return kExitOk;
}

int run_logout(const std::vector<std::string>& args) {
  ApiArgs a = ApiArgs::parse(args, 0, {});
  if (!a.error.empty()) return api_usage("logout", kLoginUsage, a.error);
  const std::string path = login_path(process_env());
  ApiContext ctx{.cmd = "logout"};
  LoginLock lock(path);
  absl::StatusOr<LoginState> login = read_login(path);
  if (!login.ok()) return fail(ctx, std::string(login.status().message()));
  auto url = parse_admin_url(login->url);
  if (!url.ok()) return fail(ctx, std::string(url.status().message()));
  ctx.settings.url = *url;
  ctx.settings.ca_file = login->ca;
  HttpsResponse r;
  const int rc = api_call(ctx, "POST", "/api/v1/auth/logout", body_with("refresh", login->refresh),
                          &r, {.authenticated = false});
  ::unlink(path.c_str());
  if (rc != kExitOk) {
    std::fprintf(stderr, "pamctl logout: removed %s all the same\n", path.c_str());
    return rc;
  }
  std::printf("Signed out: token %s revoked, %s removed\n", login->token_id.c_str(), path.c_str());
  return kExitOk;
}

int login_credentials(const std::string& record) {
  ApiContext ctx{.cmd = "credential-process"};
  const std::string path = login_path(process_env());
  if (path.empty()) return fail(ctx, "neither XDG_CONFIG_HOME nor HOME is set");
  // Held while the token is read, renewed and written, so that two aws commands renew it once.
  LoginLock lock(path);
  absl::StatusOr<LoginState> login = read_login(path);
  if (!login.ok()) return fail(ctx, std::string(login.status().message()));
  const absl::Time now = absl::Now();
  if (refresh_due(*login, now)) {
    auto url = parse_admin_url(login->url);
    if (!url.ok()) return fail(ctx, std::string(url.status().message()));
    ctx.settings.url = *url;
    ctx.settings.ca_file = login->ca;
    HttpsOptions https{.ca_file = login->ca};
    HttpsRequest req{"POST", "/api/v1/auth/refresh", body_with("refresh", login->refresh), nullptr};
    absl::StatusOr<HttpsResponse> r = https_call(*url, https, req);
    if (r.ok() && r->status == 200) {
      std::string error;
      if (!take_answer(r->body, now, &*login, &error)) return fail(ctx, error);
      if (absl::Status s = write_login(path, *login); !s.ok()) {
        return fail(ctx, std::string(s.message()));
      }
    } else if (r.ok() && (r->status == 401 || r->status == 403)) {
      // The provider refused (or the login is gone): no token, and the reason.
      const std::string text = api_error_text(r->body);
      return fail(ctx, text.empty() ? "the appliance refused the refresh: sign in again: pamctl "
                                      "login"
                                    : text);
    } else if (now < login->expires_at) {
      // The appliance or the provider is away: the token goes on until its end.
      std::fprintf(stderr,
                   "pamctl credential-process: warning: the token could not be renewed (%s); "
                   "using it until %s\n",
                   r.ok() ? ("HTTP " + std::to_string(r->status)).c_str()
                          : std::string(r.status().message()).c_str(),
                   rfc3339(login->expires_at).c_str());
    } else {
      return fail(ctx, "the token has expired and cannot be renewed: sign in again: pamctl login");
    }
  }
  JsonWriter w;
  w.begin_object();
  w.key("Version").value(int64_t{1});
  w.key("AccessKeyId").value(login->token_id + "#" + record);
  w.key("SecretAccessKey").value(login->secret);
  w.key("Expiration").value(rfc3339(login->expires_at));
  w.end_object();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

bool login_exists() {
  const std::string path = login_path(process_env());
  return !path.empty() && ::access(path.c_str(), F_OK) == 0;
}

}  // namespace pamproxy::cli
