#pragma once
// The appliance's HTTPS calls to the identity provider (discovery, keys, token), made with
// outbound::https_request (pamproxy/outbound/https_request.h), which holds the transport rules.
// Blocking: it runs on the thread that asks (the admin server's worker, never the admin server's
// own thread or a data plane worker), and every call is bounded so that a provider that is slow
// or down costs at most `timeout_ms`.
//
//   HttpsClient client({.ca_file = "/etc/pamproxy/id-ca.pem", .timeout_ms = 10000});
//   absl::StatusOr<HttpsResponse> r = client.get("https://id.example/.well-known/...");
//
// Only https, with the peer's certificate and name verified against `ca_file` (or the system
// store); no redirects followed; no proxy from the environment; an answer larger than
// `body_bytes_max` is cut off and refused. Errors name the URL's host and what failed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pamproxy::identity {

struct HttpsClientOptions {
  std::string ca_file;  // "" = the system trust store
  int64_t timeout_ms = 10000;
  size_t body_bytes_max = 1 << 20;
};

struct HttpsResponse {
  long status = 0;
  std::string body;
};

class HttpsClient {
 public:
  explicit HttpsClient(HttpsClientOptions options) : options_(std::move(options)) {}

  // `authorization` ("" = none) is the whole Authorization field value.
  absl::StatusOr<HttpsResponse> get(const std::string& url,
                                    const std::string& authorization = "") const;
  // POST application/x-www-form-urlencoded; `authorization` ("" = none) is the whole field value.
  absl::StatusOr<HttpsResponse> post_form(const std::string& url, const std::string& form,
                                          const std::string& authorization) const;

 private:
  absl::StatusOr<HttpsResponse> perform(const std::string& url, const std::string* form,
                                        const std::string& authorization) const;
  HttpsClientOptions options_;
};

// application/x-www-form-urlencoded (and the query of a URL): unreserved characters kept, every
// other byte %XX.
std::string form_encode(std::string_view text);

}  // namespace pamproxy::identity
