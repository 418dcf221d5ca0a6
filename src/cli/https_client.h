#pragma once
// One HTTPS request and its answer, for pamctl's API commands: a blocking socket, OpenSSL 3, the
// project's own HTTP/1.1 codec for the answer.
//
//   HttpsRequest req{"GET", "/api/v1/whoami"};
//   req.bearer = &settings.token.value();
//   auto answer = https_call(settings.url, {.ca_file = settings.ca_file}, req);
//   if (!answer.ok()) ... the message names the URL and the cause, ready to print
//
// Owns: connecting (each address of the host in turn, each attempt bounded by the timeout), TLS
// 1.2 or later with the chain verified against the CA file (or the system store) and the
// certificate checked to name the host or IP address of the URL, the request bytes, and reading
// one bounded answer (Content-Length, chunked, or until the server closes the connection).
// Never: sends the token anywhere but over a verified TLS connection (unless the caller turned
// verification off, which only `pamctl ca export --insecure` does, and it sends no token), puts
// the token into an error message, or keeps the connection open (`Connection: close`).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "admin_settings.h"

namespace pamproxy::cli {

struct HttpsOptions {
  std::string ca_file;  // empty: the system trust store
  bool verify = true;
  int timeout_ms = 30000;                        // connect, and each read or write
  size_t response_bytes_max = size_t{64} << 20;  // the answer's body
};

struct HttpsRequest {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;    // "/api/v1/records?tag=prod": without the URL's prefix, query encoded
  std::optional<std::string> body;  // JSON; Content-Length: 0 is sent for bodiless changes
  const Bearer* bearer = nullptr;   // nullptr: an unauthenticated call
};

struct HttpsResponse {
  int status = 0;
  std::string reason;
  std::string content_type;  // "" when the answer had none
  std::string body;
};

absl::StatusOr<HttpsResponse> https_call(const AdminUrl& url, const HttpsOptions& options,
                                         const HttpsRequest& request);

// The request's bytes as they go on the wire (exposed for tests; carries the token).
std::string https_request_bytes(const AdminUrl& url, const HttpsRequest& request);

}  // namespace pamproxy::cli
