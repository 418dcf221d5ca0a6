// The HTTPS calls to the identity provider (see include/pamproxy/identity/https_client.h).

#include "pamproxy/identity/https_client.h"

#include "pamproxy/outbound/https_request.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {

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
  const std::string_view host = outbound::host_of(url);
  if (!url.starts_with("https://")) {
    return absl::InvalidArgumentError(internal::cat("not an https URL: ", host));
  }
  outbound::HttpsRequest request{.method = form != nullptr ? "POST" : "GET", .url = url};
  request.headers.push_back("Accept: application/json");
  if (!authorization.empty()) request.headers.push_back("Authorization: " + authorization);
  if (form != nullptr) {
    request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    request.body = *form;
  }
  outbound::HttpsAnswer answer =
      outbound::https_request(request, {.ca_file = options_.ca_file,
                                        .connect_timeout_ms = options_.timeout_ms,
                                        .timeout_ms = options_.timeout_ms,
                                        .answer_bytes_max = options_.body_bytes_max});
  if (answer.failure == outbound::Failure::kTooLarge) {
    return absl::ResourceExhaustedError(
        internal::cat(host, " answered more than ", options_.body_bytes_max, " bytes"));
  }
  if (!answer.ok()) {
    return absl::UnavailableError(
        internal::cat(host, ": ", answer.detail.empty() ? answer.reason : answer.detail));
  }
  return HttpsResponse{.status = answer.status, .body = std::move(answer.body)};
}

}  // namespace pamproxy::identity
