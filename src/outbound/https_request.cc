// One bounded HTTPS request through libcurl (see include/pamproxy/outbound/https_request.h).
// libcurl, not a client of our own: certificate and name checks, timeouts over the whole
// exchange and HTTP/1.1 framing are what it does daily, and these calls are rare and off every
// hot path. The rules every transfer follows are set in transfer.cc, the HTTPS ones here.

#include "pamproxy/outbound/https_request.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "pamproxy/base/check.h"
#include "src/outbound/transfer.h"

namespace pamproxy::outbound {
namespace {

// Where the answer's body goes: kept up to `bytes_max`, then the transfer is stopped; or dropped.
struct Sink {
  std::string* body;
  size_t bytes_max;
  bool keep;
  bool too_large = false;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (!sink->keep) return bytes;
  if (sink->body->size() + bytes > sink->bytes_max) {
    sink->too_large = true;
    return 0;  // libcurl stops the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

}  // namespace

std::string_view failure_name(Failure failure) {
  switch (failure) {
    case Failure::kNone: return "none";
    case Failure::kNotHttps: return "not https";
    case Failure::kResolve: return "resolve";
    case Failure::kRefused: return "refused";
    case Failure::kTimeout: return "timeout";
    case Failure::kTooLarge: return "too large";
    case Failure::kTlsVerify: return "TLS verify";
    case Failure::kTls: return "TLS";
    case Failure::kOther: return "other";
  }
  return "other";
}

std::string_view host_of(std::string_view url) {
  if (url.starts_with("https://")) url.remove_prefix(8);
  return url.substr(0, std::min(url.find_first_of("/?#"), size_t{200}));
}

void init() {
  static std::once_flag once;
  std::call_once(once, [] { PAMPROXY_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == 0); });
}

HttpsAnswer https_request(const HttpsRequest& request, const HttpsLimits& limits) {
  PAMPROXY_CHECK(request.method == "GET" || request.method == "POST");
  init();
  // Checked here as well as by CURLOPT_PROTOCOLS_STR, so that the refusal names itself and no
  // socket is ever opened for it.
  if (!request.url.starts_with("https://")) {
    return internal::failed<HttpsAnswer>(Failure::kNotHttps, "not an https URL");
  }
  internal::Easy easy(curl_easy_init());
  internal::List headers;
  internal::List connect_to;
  if (!easy || !internal::append_all(request.headers, &headers) ||
      (!request.connect_to.empty() &&
       !internal::append_all({std::string(request.connect_to)}, &connect_to))) {
    return internal::failed<HttpsAnswer>(Failure::kOther, "out of memory");
  }
  // libcurl keeps pointers to these until the transfer ends: they live to the end of this call.
  const std::string url(request.url);
  const std::string ca_file(limits.ca_file);
  HttpsAnswer answer;
  Sink sink{.body = &answer.body, .bytes_max = limits.answer_bytes_max, .keep = limits.keep_answer};
  char error[CURL_ERROR_SIZE] = {};

  CURL* c = easy.get();
  internal::set_transport_rules(c, ca_file, limits.connect_timeout_ms, limits.timeout_ms, error);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "pamproxy");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }

  const CURLcode code = curl_easy_perform(c);
  if (sink.too_large) {
    return internal::failed<HttpsAnswer>(Failure::kTooLarge, "the answer is too large");
  }
  if (code != CURLE_OK) {
    return internal::failed<HttpsAnswer>(internal::classify(code), curl_easy_strerror(code), error);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

}  // namespace pamproxy::outbound
