#pragma once
// One bounded HTTPS request from the appliance to a service the operator configured (the identity
// provider, a webhook receiver, STS), through libcurl. The one place that says how the appliance
// reaches out: every caller gets the same transport rules, and none can forget one.
//
//   outbound::HttpsRequest request{.method = "POST", .url = "https://hooks.example/x",
//                                  .headers = {"Content-Type: application/json"}, .body = json};
//   outbound::HttpsLimits limits{.ca_file = ca, .timeout_ms = 3000, .answer_bytes_max = 65536};
//   outbound::HttpsAnswer a = outbound::https_request(request, limits);
//   if (!a.ok()) ... failure_name(a.failure) ("timeout", "refused", ...), a.reason, a.detail
//   else         ... a.status, a.body
//
// The rules, for every call:
//   - https only: any other scheme is refused before a socket is opened;
//   - the peer's certificate chain and name verified against `ca_file` (or the system store),
//     TLS 1.2 or later;
//   - no redirect followed: a 3xx is the answer, with its status;
//   - no proxy from the environment (HTTPS_PROXY and friends name the appliance's own proxy on
//     many machines, never the way to the operator's services);
//   - bounded: connecting within connect_timeout_ms, the whole exchange within timeout_ms, an
//     answer of at most answer_bytes_max bytes (more is cut off and refused), no signal used
//     for the timeouts (safe on any thread).
//
// Blocking: it runs on the thread that asks, for at most timeout_ms. Never call it on a data
// plane worker or the admin server's own thread (the admin server hands it to its worker).
// Thread safety: any thread, any number at once; nothing is shared between calls.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::outbound {

struct HttpsRequest {
  std::string_view method = "GET";  // "GET" or "POST"
  std::string_view url;             // https://host[:port]/path?query
  // Whole header lines, "Name: value"; "Name:" removes a field libcurl would add (e.g. Expect).
  std::vector<std::string> headers;
  std::string_view body;  // POST only; sent with Content-Length
  // "host:port:ip:port": connect to ip:port for host:port (certificate still checked against
  // host), as the data plane's resolve overrides do; "" = DNS.
  std::string_view connect_to;
};

struct HttpsLimits {
  std::string_view ca_file;  // "" = the system trust store
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 10000;         // the whole call, from connecting to the answer's end
  size_t answer_bytes_max = 1 << 20;  // the answer's body
  bool keep_answer = true;            // false: the body is read and dropped, never refused
};

enum class Failure {
  kNone,
  kNotHttps,   // the URL is not https://: nothing was sent
  kResolve,    // the host name did not resolve
  kRefused,    // no connection (refused, unreachable)
  kTimeout,    // connect_timeout_ms or timeout_ms passed
  kTooLarge,   // the answer passed answer_bytes_max
  kTlsVerify,  // the peer's certificate or name did not verify
  kTls,        // another TLS failure (handshake, protocol version, the CA file)
  kOther,      // anything else libcurl reports (send or receive failed, malformed answer...)
};

// "none", "not https", "resolve", "refused", "timeout", "too large", "TLS verify", "TLS", "other".
std::string_view failure_name(Failure failure);

struct HttpsAnswer {
  Failure failure = Failure::kNone;
  long status = 0;   // the HTTP status, when failure is kNone
  std::string body;  // when failure is kNone and keep_answer
  // When failure is not kNone: libcurl's name for its error (e.g. "Timeout was reached"), and its
  // more specific text ("" when it gave none). Neither ever holds the URL's path or query.
  std::string reason;
  std::string detail;

  bool ok() const { return failure == Failure::kNone; }
};

HttpsAnswer https_request(const HttpsRequest& request, const HttpsLimits& limits);

// libcurl's process-wide setup. https_request() does it on first use; a program may call it
// early on its main thread. Idempotent.
void init();

// The host[:port] of a URL, for error messages: never its path or query (which may hold a code).
std::string_view host_of(std::string_view url);

}  // namespace pamproxy::outbound
