#pragma once
// Serving the web console's embedded files (console_assets.h) on the admin listener: "/" and the
// console's own routes ("/records", "/profile", ...) answer index.html, revalidated on each load;
// /assets/<name>-<hash>.<ext> answer the bundle, cached for a year; a matching If-None-Match is
// a 304. Every answer, errors included, carries the console's security headers (docs/console.md).

#include <string_view>

#include "pamproxy/admin/api.h"

namespace pamproxy::admin {

// The session cookie. The __Host- prefix makes browsers accept it only with Secure, Path=/ and
// no Domain: no other host (a sibling subdomain) can set or shadow it.
inline constexpr std::string_view kSessionCookie = "__Host-pamproxy";

// The headers every console answer carries: a strict Content-Security-Policy (no inline script,
// no eval, nothing from another origin), HSTS, nosniff, no referrer, no framing.
void add_console_headers(ApiResponse* response);

// Answers a request for a path outside /api/v1/. `enabled`: [console] enabled (false: 404).
ApiResponse serve_console(const ApiRequest& request, bool enabled);

}  // namespace pamproxy::admin
