// Serving the embedded console: routes, caching, ETag revalidation and the security headers on
// every answer.

#include "src/admin/console.h"

#include <gtest/gtest.h>

#include "src/admin/console_assets.h"

namespace pamproxy::admin {
namespace {

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

void expect_security_headers(const ApiResponse& r) {
  EXPECT_EQ(header(r, "Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  EXPECT_NE(header(r, "Strict-Transport-Security"), "");
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
}

ApiResponse get(std::string_view target, std::string_view if_none_match = "",
                std::string_view method = "GET") {
  return serve_console({.method = method, .target = target, .if_none_match = if_none_match}, true);
}

// A build without the console (-Dconsole=disabled, or no console/node_modules) embeds an empty
// table and answers 404 where the console would be; one with it answers from the table.
bool console_built() {
  if (PAMPROXY_CONSOLE_BUILT) {
    EXPECT_FALSE(console_assets().empty());
    return true;
  }
  EXPECT_TRUE(console_assets().empty());
  EXPECT_EQ(get("/").status, 404);
  return false;
}

TEST(Console, IndexForTheRootAndTheConsoleRoutes) {
  if (!console_built()) return;
  for (std::string_view path : {"/", "/profile", "/profile/tokens", "/?x=1"}) {
    ApiResponse r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.cache_control, "no-cache") << path;
    EXPECT_EQ(r.body, console_assets()[0].body);
    expect_security_headers(r);
  }
  for (std::string_view path : {"/assets/nope.js", "/Profile", "/profile//b", "/profile/",
                                "/x.html", "/api", "/etc/passwd", "/nothing"}) {
    ApiResponse r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    expect_security_headers(r);
  }
  EXPECT_EQ(get("/", "", "POST").status, 405);
}

TEST(Console, HashedAssetsAreCachedAndRevalidated) {
  if (!console_built()) return;
  for (const ConsoleAsset& a : console_assets()) {
    ApiResponse r = get(a.path);
    ASSERT_EQ(r.status, 200) << a.path;
    EXPECT_EQ(header(r, "ETag"), a.etag);
    EXPECT_EQ(r.content_type, a.content_type);
    if (a.immutable) {
      EXPECT_EQ(r.cache_control, "public, max-age=31536000, immutable");
    }
    ApiResponse again = get(a.path, a.etag);
    EXPECT_EQ(again.status, 304) << a.path;
    EXPECT_TRUE(again.body.empty());
    expect_security_headers(again);
    EXPECT_EQ(get(a.path, "\"0000\"").status, 200);
  }
}

TEST(Console, OffAnswers404) {
  ApiResponse r = serve_console({.method = "GET", .target = "/"}, false);
  EXPECT_EQ(r.status, 404);
  expect_security_headers(r);
}

}  // namespace
}  // namespace pamproxy::admin
