// The web console's session calls through Api::handle (no sockets): signing in with a token,
// the cookie standing for that token on every API call, CSRF, signing out, timeouts, the
// token's own fate (revoked) ending the session, and [console] enabled = false.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pamproxy/admin/api.h"
#include "pamproxy/store/store.h"
#include "tests/unit/audit/audit_test_util.h"

namespace pamproxy::admin {
namespace {

constexpr std::string_view kHost = "127.0.0.1:8443";
constexpr std::string_view kOrigin = "https://127.0.0.1:8443";

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

// The value between `"key":"` and the next quote.
std::string json_string(const std::string& body, std::string_view key) {
  std::string marker = "\"" + std::string(key) + "\":\"";
  size_t at = body.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  return body.substr(at, body.find('"', at) - at);
}

class ConsoleApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open(
        {.database_file = dir_.sub("p.db"), .master_key_file = dir_.sub("master.key")});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto boot = store_->bootstrap("admin");
    ASSERT_TRUE(boot.ok() && boot->has_value());
    token_id_ = (*boot)->token.token.id;
    secret_ = (*boot)->token.secret;
    client_ = *net::IpAddress::parse("127.0.0.1");
    make_api({});
  }

  void make_api(ConsoleOptions console) {
    api_ = std::make_unique<Api>(ApiOptions{.store = store_.get(),
                                            .ca_pem = "PEM",
                                            .now = [this] { return now_; },
                                            .console = console});
  }

  ApiResponse call(std::string_view method, std::string_view target, std::string_view body = "",
                   std::string_view cookie = "", std::string_view origin = "",
                   std::string_view csrf = "") {
    return api_->handle({.method = method,
                         .target = target,
                         .body = body,
                         .client = client_,
                         .cookie = cookie,
                         .host = kHost,
                         .origin = origin,
                         .csrf = csrf});
  }

  // Signs in; returns the Cookie field to send and fills csrf_.
  std::string sign_in() {
    ApiResponse r =
        call("POST", "/api/v1/console/session",
             "{\"token_id\":\"" + token_id_ + "\",\"secret\":\"" + secret_ + "\"}", "", kOrigin);
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string set_cookie = header(r, "Set-Cookie");
    EXPECT_TRUE(set_cookie.starts_with("__Host-pamproxy=")) << set_cookie;
    EXPECT_TRUE(set_cookie.ends_with("; Path=/; Secure; HttpOnly; SameSite=Strict")) << set_cookie;
    csrf_ = json_string(r.body, "csrf_token");
    EXPECT_EQ(csrf_.size(), 43u);
    const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
    // The session id is in the cookie only: never in the body.
    EXPECT_EQ(r.body.find(cookie.substr(cookie.find('=') + 1)), std::string::npos);
    EXPECT_EQ(r.body.find(secret_), std::string::npos);
    return cookie;
  }

  audit::testing::TempDir dir_;  // outlives the store
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Api> api_;
  std::string token_id_;
  std::string secret_;
  std::string csrf_;
  net::IpAddress client_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(ConsoleApi, SignInWithTheTokenThenTheCookieIsThatToken) {
  const std::string cookie = sign_in();
  ApiResponse who = call("GET", "/api/v1/whoami", "", cookie);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(json_string(who.body, "token_id"), token_id_);
  ApiResponse session = call("GET", "/api/v1/console/session", "", cookie);
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(json_string(session.body, "csrf_token"), csrf_);
  EXPECT_EQ(call("GET", "/api/v1/users", "", cookie).status, 200);
}

TEST_F(ConsoleApi, AWrongSecretIsRefusedLikeTheBearerPath) {
  ApiResponse r = call("POST", "/api/v1/console/session",
                       "{\"token_id\":\"" + token_id_ + "\",\"secret\":\"nope\"}");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "Set-Cookie"), "");
  EXPECT_EQ(call("POST", "/api/v1/console/session", "{\"token_id\":\"x\"}").status, 400);
  // From another site's page.
  r = call("POST", "/api/v1/console/session",
           "{\"token_id\":\"" + token_id_ + "\",\"secret\":\"" + secret_ + "\"}", "",
           "https://evil.example");
  EXPECT_EQ(r.status, 403);
}

TEST_F(ConsoleApi, ChangesNeedTheOwnOriginAndTheCsrfToken) {
  const std::string cookie = sign_in();
  const std::string body = "{\"name\":\"console-made\"}";
  EXPECT_EQ(call("POST", "/api/v1/tokens", body, cookie, kOrigin, "").status, 403);
  EXPECT_EQ(call("POST", "/api/v1/tokens", body, cookie, "", csrf_).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/tokens", body, cookie, "https://evil.example", csrf_).status,
            403);
  EXPECT_EQ(call("POST", "/api/v1/tokens", body, cookie, "http://127.0.0.1:8443", csrf_).status,
            403);
  std::string wrong = csrf_;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  ApiResponse refused = call("POST", "/api/v1/tokens", body, cookie, kOrigin, wrong);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("X-Pamproxy-CSRF"), std::string::npos);
  EXPECT_EQ(call("POST", "/api/v1/tokens", body, cookie, kOrigin, csrf_).status, 201);
}

TEST_F(ConsoleApi, SignOutEndsTheSessionAndClearsTheCookie) {
  const std::string cookie = sign_in();
  EXPECT_EQ(call("DELETE", "/api/v1/console/session", "", cookie, kOrigin, "").status, 403);
  ApiResponse out = call("DELETE", "/api/v1/console/session", "", cookie, kOrigin, csrf_);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_TRUE(header(out, "Set-Cookie").starts_with("__Host-pamproxy=;"));
  EXPECT_NE(header(out, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/console/session", "", cookie).status, 401);
}

TEST_F(ConsoleApi, IdleAndAbsoluteTimeouts) {
  make_api({.session_idle_timeout_s = 600, .session_absolute_timeout_s = 3600});
  std::string cookie = sign_in();
  now_ += absl::Seconds(599);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 200);
  now_ += absl::Seconds(600);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 401);

  cookie = sign_in();
  for (int i = 0; i < 11; ++i) {
    now_ += absl::Seconds(300);
    EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 200) << i;
  }
  now_ += absl::Seconds(300);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 401);
}

TEST_F(ConsoleApi, RevokingTheTokenEndsItsSessions) {
  const std::string cookie = sign_in();
  ApiResponse made =
      call("POST", "/api/v1/tokens", "{\"name\":\"second\"}", cookie, kOrigin, csrf_);
  ASSERT_EQ(made.status, 201);
  const std::string second_id = json_string(made.body, "id");
  const std::string second_secret = json_string(made.body, "secret");
  ApiResponse in =
      call("POST", "/api/v1/console/session",
           "{\"token_id\":\"" + second_id + "\",\"secret\":\"" + second_secret + "\"}");
  ASSERT_EQ(in.status, 201);
  const std::string set = header(in, "Set-Cookie");
  const std::string second_cookie = set.substr(0, set.find(';'));
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", second_cookie).status, 200);
  EXPECT_EQ(
      call("POST", "/api/v1/tokens/" + second_id + "/revoke", "", cookie, kOrigin, csrf_).status,
      200);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", second_cookie).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 200);
}

TEST_F(ConsoleApi, ASessionOutlivesARestartWithItsCsrfToken) {
  const std::string cookie = sign_in();
  make_api({});  // a new process: nothing of the session is in memory
  ApiResponse session = call("GET", "/api/v1/console/session", "", cookie);
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(json_string(session.body, "csrf_token"), csrf_);
  EXPECT_EQ(call("POST", "/api/v1/tokens", "{\"name\":\"after\"}", cookie, kOrigin, csrf_).status,
            201);
  // Signed out there, the cookie is refused everywhere.
  ASSERT_EQ(call("DELETE", "/api/v1/console/session", "", cookie, kOrigin, csrf_).status, 200);
  make_api({});
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 401);
}

TEST_F(ConsoleApi, AnUnknownCookieIsUnauthenticatedAndTheBearerStillWorks) {
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", "__Host-pamproxy=guess").status, 401);
  ApiResponse r = api_->handle({.method = "GET",
                                .target = "/api/v1/whoami",
                                .authorization = "Bearer " + token_id_ + ":" + secret_,
                                .client = client_});
  EXPECT_EQ(r.status, 200);
}

TEST_F(ConsoleApi, TurnedOffNoConsoleNoSessions) {
  const std::string cookie = sign_in();
  api_->set_console({.enabled = false});
  EXPECT_EQ(call("GET", "/", "").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/console/session",
                 "{\"token_id\":\"" + token_id_ + "\",\"secret\":\"" + secret_ + "\"}")
                .status,
            404);
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", cookie).status, 401);
}

}  // namespace
}  // namespace pamproxy::admin
