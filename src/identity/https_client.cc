// The HTTPS calls to the identity provider (see include/pamproxy/identity/https_client.h).

#include "pamproxy/identity/https_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "pamproxy/base/check.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

struct Sink {
  std::string* body;
  size_t bytes_max;
  bool too_large = false;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->bytes_max) {
    sink->too_large = true;
    return 0;  // libcurl stops the transfer
  }
  sink->body->append(data, bytes);
  return bytes;
}

// The host of an https URL, for error messages (never the query, which may hold a code).
std::string_view host_of(std::string_view url) {
  if (url.starts_with("https://")) url.remove_prefix(8);
  return url.substr(0, std::min(url.find_first_of("/?#"), size_t{200}));
}

}  // namespace

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

absl::StatusOr<HttpsResponse> HttpsClient::get(const std::string& url,
                                               const std::string& authorization) const {
  return perform(url, nullptr, authorization);
}

absl::StatusOr<HttpsResponse> HttpsClient::post_form(const std::string& url,
                                                     const std::string& form,
                                                     const std::string& authorization) const {
  return perform(url, &form, authorization);
}

absl::StatusOr<HttpsResponse> HttpsClient::perform(const std::string& url, const std::string* form,
                                                   const std::string& authorization) const {
  static std::once_flag global_init;
  std::call_once(global_init, [] { PAMPROXY_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == 0); });
  if (!url.starts_with("https://")) {
    return absl::InvalidArgumentError(internal::cat("not an https URL: ", host_of(url)));
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return absl::ResourceExhaustedError("libcurl could not start a transfer");
  HttpsResponse response;
  Sink sink{.body = &response.body, .bytes_max = options_.body_bytes_max};
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* raw_headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!authorization.empty()) {
    raw_headers = curl_slist_append(raw_headers, ("Authorization: " + authorization).c_str());
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(raw_headers, curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "pamproxy");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  if (form != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
  }
  const CURLcode code = curl_easy_perform(c);
  if (sink.too_large) {
    return absl::ResourceExhaustedError(
        internal::cat(host_of(url), " answered more than ", options_.body_bytes_max, " bytes"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(internal::cat(
        host_of(url), ": ", error[0] != '\0' ? std::string_view(error) : curl_easy_strerror(code)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace pamproxy::identity
