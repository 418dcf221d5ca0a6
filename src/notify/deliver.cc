// Delivery attempts (see deliver.h): a webhook is one outbound::https_request, which holds the
// transport rules for every HTTPS call the appliance makes; e-mail goes through libcurl here,
// whose SMTP dialogue with STARTTLS and AUTH and timeouts over the whole exchange are what it
// does daily. These messages are rare and off every hot path.

#include "pamproxy/notify/deliver.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "pamproxy/outbound/https_request.h"

namespace pamproxy::notify {
namespace {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

struct Upload {
  std::string_view rest;
};
size_t read_upload(char* out, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t take = std::min(size * n, u->rest.size());
  std::memcpy(out, u->rest.data(), take);
  u->rest.remove_prefix(take);
  return take;
}

void common_options(CURL* c, const char* errors, int64_t timeout_ms, const std::string& ca_file) {
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errors);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  // Environment proxies do not apply: the operator configured these addresses.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
}

Attempt failure(CURLcode code, const char* errors, int64_t timeout_ms) {
  Attempt a;
  if (code == CURLE_OPERATION_TIMEDOUT) {
    a.timed_out = true;
    a.error = "timeout after " + std::to_string(timeout_ms) + " ms";
    return a;
  }
  a.error = curl_easy_strerror(code);
  if (errors[0] != '\0') a.error += std::string(": ") + errors;
  return a;
}

}  // namespace

void init_transport() {
  outbound::init();
}

Attempt post_webhook(const WebhookPost& post) {
  // The receiver's answer is only its status: its body is read and dropped.
  outbound::HttpsAnswer answer = outbound::https_request(
      {.method = "POST", .url = post.url, .headers = post.headers, .body = post.body},
      {.ca_file = post.ca_file,
       .connect_timeout_ms = post.timeout_ms,
       .timeout_ms = post.timeout_ms,
       .keep_answer = false});
  if (answer.failure == outbound::Failure::kTimeout) {
    return {.timed_out = true, .error = "timeout after " + std::to_string(post.timeout_ms) + " ms"};
  }
  if (!answer.ok()) {
    std::string error = answer.reason;
    if (!answer.detail.empty()) error += ": " + answer.detail;
    return {.error = std::move(error)};
  }
  if (answer.status < 200 || answer.status > 299) {
    return {.error = "HTTP " + std::to_string(answer.status)};
  }
  return {.ok = true};
}

Attempt send_mail(const MailSend& mail) {
  if (!mail.starttls && !mail.username.empty()) {
    return {.error = "refused: SMTP credentials are never sent without STARTTLS"};
  }
  Easy c(curl_easy_init());
  if (!c) return {.error = "libcurl could not start a transfer"};
  char errors[CURL_ERROR_SIZE] = {};
  common_options(c.get(), errors, mail.timeout_ms, mail.ca_file);
  std::string url = "smtp://" + mail.address;
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "smtp");
  curl_easy_setopt(c.get(), CURLOPT_USE_SSL,
                   static_cast<long>(mail.starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  if (!mail.username.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, mail.username.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, mail.password.c_str());
  }
  std::string from = "<" + mail.from + ">";
  std::string to = "<" + mail.to + ">";
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, from.c_str());
  List rcpt(curl_slist_append(nullptr, to.c_str()));
  if (!rcpt) return {.error = "out of memory for a recipient"};
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  Upload upload{mail.message};
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &upload);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  CURLcode code = curl_easy_perform(c.get());
  if (code == CURLE_OK) return {.ok = true};
  Attempt a = failure(code, errors, mail.timeout_ms);
  long reply = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &reply);
  if (!a.timed_out && reply >= 400) a.error = "SMTP " + std::to_string(reply) + ": " + a.error;
  return a;
}

}  // namespace pamproxy::notify
