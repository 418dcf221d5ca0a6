#pragma once
// The web console's files, embedded at build time (console/embed_assets.py writes the table from
// the esbuild bundle): "/" is index.html, the rest are /assets/<name>-<hash>.<ext>. The bytes
// live in the binary's read-only data for the life of the process.

#include <span>
#include <string_view>

namespace pamproxy::admin {

struct ConsoleAsset {
  std::string_view path;          // "/" or "/assets/app-0123456789abcdef.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong, quoted: "\"<32 hex digits of SHA-256>\""
  bool immutable;                 // a hashed name: cacheable for a year
  std::string_view body;
};

// Empty in a build without the console (-Dconsole=disabled, or no console/node_modules).
std::span<const ConsoleAsset> console_assets();
// The console's own routes (console/src/routes.json): "/" and "/word"; index.html answers them
// and the paths below them.
std::span<const std::string_view> console_routes();

}  // namespace pamproxy::admin
