// Serving the web console's embedded files (see console.h).

#include "console.h"

#include "api_internal.h"
#include "console_assets.h"

namespace pamproxy::admin {
namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// A route of the console's own (answered with index.html; the page routes it in the browser):
// one of console_routes(), or a path below one ("/records/rec-1") of [a-z0-9-] segments.
bool is_console_route(std::string_view path) {
  if (path.size() > 256 || path.empty() || path.front() != '/' ||
      (path.size() > 1 && path.back() == '/')) {
    return false;
  }
  for (size_t i = 1; i < path.size(); ++i) {
    const char c = path[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    (c == '/' && path[i - 1] != '/');
    if (!ok) return false;
  }
  const size_t second = path.find('/', 1);
  const std::string_view top = path.substr(0, second);
  for (std::string_view route : console_routes()) {
    if (route == top && (second == std::string_view::npos || route != "/")) return true;
  }
  return false;
}

ApiResponse console_error(int status, std::string_view code, std::string_view message) {
  ApiResponse r = error_answer(status, code, message);
  add_console_headers(&r);
  return r;
}

}  // namespace

void add_console_headers(ApiResponse* r) {
  r->headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r->headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  // X-Content-Type-Options: nosniff is on every answer of the admin listener (server.cc).
}

ApiResponse serve_console(const ApiRequest& request, bool enabled) {
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  if (!enabled) return console_error(404, "NotFound", "the web console is off ([console] enabled)");
  if (request.method != "GET" && request.method != "HEAD") {
    return console_error(405, "MethodNotAllowed", "allowed here: GET, HEAD");
  }
  const std::string_view wanted = is_console_route(path) ? std::string_view("/") : path;
  for (const ConsoleAsset& asset : console_assets()) {
    if (asset.path != wanted) continue;
    ApiResponse r;
    r.cache_control = asset.immutable ? "public, max-age=31536000, immutable" : "no-cache";
    r.headers.emplace_back("ETag", std::string(asset.etag));
    add_console_headers(&r);
    if (request.if_none_match.find(asset.etag) != std::string_view::npos) {
      r.status = 304;
      r.content_type.clear();
      return r;
    }
    r.content_type = std::string(asset.content_type);
    r.body = std::string(asset.body);
    return r;
  }
  if (console_assets().empty()) {
    return console_error(404, "NotFound", "this pamproxyd was built without the web console");
  }
  return console_error(404, "NotFound", "no such page");
}

}  // namespace pamproxy::admin
