#pragma once
// The admin REST API's handlers (docs/admin-api.md): one call in, one answer out, no sockets.
// The HTTPS server (server.h) feeds it parsed requests; tests call it directly too.
//
//   Api api({.store = store.get(), .ca_pem = ca.cert_pem(), .audit_directory = dir});
//   ApiResponse r = api.handle({.method = "GET", .target = "/api/v1/records",
//                               .authorization = "Bearer tok-..:...", .client = peer});
//
// Owns: authentication (bearer token against the current snapshot, or the web console's session
// cookie standing for one: docs/console.md), who may do what, mapping store errors to HTTP
// statuses with JSON bodies, pagination; the console's sessions, and its files for paths outside
// /api/v1/. Never: returns a secret other than a token's own secret in the answer that creates
// it (and a login's refresh secret with the token a sign-in of pamctl's issues), or a session
// id other than in the Set-Cookie of the sign-in; logs a request body or a header value.
//
// Thread safety: handle() and a Deferred's finish() from one thread at a time (the admin
// thread); a Deferred's work() from any (the admin server's worker); set_*() from any.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "pamproxy/admin/console_sessions.h"
#include "pamproxy/admin/sts_account.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/identity/cli_return.h"
#include "pamproxy/identity/relying_party.h"
#include "pamproxy/store/store.h"

namespace pamproxy::admin {

struct ApiRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // origin-form: "/api/v1/records?limit=10"
  std::string_view authorization;  // the Authorization field's value, "" when absent
  std::string_view body;
  net::IpAddress client;
  // For the web console (docs/console.md); "" when absent. Never logged: `cookie` carries a
  // session id.
  std::string_view cookie;         // Cookie
  std::string_view host;           // Host: with the scheme, the origin the listener was reached at
  std::string_view origin;         // Origin
  std::string_view csrf;           // X-Pamproxy-CSRF
  std::string_view if_none_match;  // If-None-Match
  // The caller runs an answer's `deferred` work (the HTTPS server does); false: handle() runs it
  // inline before it returns (tests that call handle() themselves).
  bool may_defer = false;
};

struct ApiResponse;

// A request that waits on a service outside the appliance (the identity provider, STS) is
// answered in two steps, so that the admin thread never waits for one: `work` runs on the admin
// server's worker (the outbound call and what only reads its answer: never the store, never a
// console session), then `finish` runs on the admin thread and makes the answer (store writes,
// sessions). They share what they capture; neither may hold a view into the request, whose
// bytes are gone by then.
struct Deferred {
  std::function<void()> work;
  std::function<ApiResponse()> finish;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";  // "" for a 304
  std::string body;
  std::string cache_control = "no-store";
  std::vector<std::pair<std::string, std::string>> headers;  // more fields: Set-Cookie, ETag, ...
  // Set (only when the request had may_defer): the answer is deferred->finish()'s, once
  // deferred->work has run; the fields above are unused.
  std::shared_ptr<Deferred> deferred;
};

// The web console's settings ([console], live on reload).
struct ConsoleOptions {
  bool enabled = true;
  int64_t session_idle_timeout_s = 1800;
  int64_t session_absolute_timeout_s = 43200;
};

// The proxy as GET /api/v1/dashboard shows it: its counters summed over the workers, read when
// asked, and the TLS path it runs.
struct ProxyState {
  uint64_t workers = 0;
  uint64_t tunnels_open = 0;
  uint64_t tunnels_opened = 0;
  uint64_t tunnels_denied = 0;  // ended by a refused request
  bool ktls = false;            // kernel TLS on ([engine] ktls and the kernel's tls ULP)
  std::string ktls_reason;      // why, as the daemon logged it at start
  uint64_t tunnels_ktls = 0;    // tunnels relayed with kernel TLS (one leg or both)
  uint64_t tunnels_userspace = 0;
  uint64_t ktls_fallbacks = 0;  // legs left in user space although kTLS was on
};

class Activity;  // requests per minute from the audit log (activity.h)

struct ApiOptions {
  store::Store* store = nullptr;        // not owned
  std::string ca_pem;                   // GET /api/v1/ca.pem
  std::string audit_directory;          // GET /api/v1/audit/events ("" = not served)
  // GET /api/v1/audit/verify checks the log's checkpoints with this key (PEM; "" = not served)
  // and stops after audit_verify_time_max_ms, saying how far it got.
  std::string audit_public_key_pem;
  int64_t audit_verify_time_max_ms = 3000;
  std::function<std::string()> metrics;  // Prometheus text; empty = not served
  std::function<ProxyState()> proxy_state;  // GET /api/v1/dashboard; empty = no proxy counters
  // The first [proxy] listen port: the console's exports name it in HTTPS_PROXY (0 = unknown).
  uint16_t proxy_port = 0;
  size_t body_bytes_max = 1 << 20;
  // The most audit lines one /audit/events call reads before answering with a cursor.
  size_t audit_scan_lines_max = 1'000'000;
  std::function<absl::Time()> now = [] { return absl::Now(); };
  ConsoleOptions console;
  size_t console_sessions_max = 1024;
  // Sign-in through the OpenID Connect provider (docs/identity.md); null or not enabled() = off.
  // Shared with whoever configures it on reload.
  std::shared_ptr<identity::RelyingParty> identity;
  // Asks which account a record's keys belong to (sts_account.h) when a record is created, or
  // its keys changed, without an aws_account_id; empty = never ([admin] fill_account_id = false).
  AccountLookup account_id_lookup;
};

class Api {
 public:
  explicit Api(ApiOptions options);
  ~Api();
  ApiResponse handle(const ApiRequest& request);
  // Any thread: [admin] body_bytes_max changed on reload.
  void set_body_bytes_max(size_t bytes) {
    body_bytes_max_.store(bytes, std::memory_order_relaxed);
  }

  // Any thread: [console] changed on reload.
  void set_console(const ConsoleOptions& console) {
    console_enabled_.store(console.enabled, std::memory_order_relaxed);
    session_idle_timeout_s_.store(console.session_idle_timeout_s, std::memory_order_relaxed);
    session_absolute_timeout_s_.store(console.session_absolute_timeout_s,
                                      std::memory_order_relaxed);
  }

  struct Call;  // one request being answered (api_internal.h)

 private:
  // The authenticated call to its resource's handler.
  ApiResponse route(Call& call);
  // /api/v1/console/session: sign in, who is signed in, sign out.
  ApiResponse handle_console_session(Call& call);
  // /auth/oidc/start and /auth/oidc/callback: the browser's way through the provider.
  ApiResponse handle_identity_sign_in(Call& call);
  struct SignedIn;  // what the callback's finish step needs (api_identity.cc)
  // The callback's second step, on the admin thread: the person found or created, a session.
  ApiResponse finish_identity_sign_in(const SignedIn& done);
  // /api/v1/console/identity: whether the sign-in page offers the provider.
  ApiResponse handle_console_identity(Call& call);
  // /api/v1/auth/...: pamctl's sign-in through the provider (api_cli_login.cc).
  ApiResponse handle_cli_auth(Call& call);
  ApiResponse issue_cli_login(const net::IpAddress& client, const identity::SignedIn& who,
                              std::string_view via);
  ApiResponse issue_cli_login_for(const net::IpAddress& client, const std::string& user_id,
                                  const std::string& subject, const std::string& refresh_token,
                                  std::string_view via);
  struct CliRefresh;  // what a refresh's second step needs (api_cli_login.cc)
  // A refresh's second step, on the admin thread, once the provider has answered.
  ApiResponse finish_cli_refresh(const CliRefresh& r);
  bool identity_enabled() const { return options_.identity && options_.identity->enabled(); }
  // Authenticates `call` by its session cookie; nullopt when it is, else the answer.
  std::optional<ApiResponse> authenticate_cookie(Call& call, std::string_view session_id);

  ApiOptions options_;
  std::atomic<size_t> body_bytes_max_{options_.body_bytes_max};
  std::atomic<bool> console_enabled_{options_.console.enabled};
  std::atomic<int64_t> session_idle_timeout_s_{options_.console.session_idle_timeout_s};
  std::atomic<int64_t> session_absolute_timeout_s_{options_.console.session_absolute_timeout_s};
  ConsoleSessions console_sessions_{options_.store, options_.console_sessions_max};
  std::unique_ptr<Activity> activity_;  // the admin thread's
  identity::CliCodes cli_codes_{1024};  // the admin thread's
  // The admin thread's: the sign-ins being renewed, and since when (an entry whose answer never
  // came, the worker's queue being full, is taken as stale after a while).
  std::map<std::string, absl::Time> cli_refreshing_;
};

// The body of an error answer: {"error":{"code":...,"message":...[,"field":...]}}.
std::string error_json(std::string_view code, std::string_view message, std::string_view field = {});

}  // namespace pamproxy::admin
