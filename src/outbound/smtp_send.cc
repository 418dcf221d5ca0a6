// One e-mail through libcurl's SMTP (see include/pamproxy/outbound/smtp_send.h): its dialogue
// with STARTTLS and AUTH is what libcurl does daily, and these messages are rare.

#include "pamproxy/outbound/smtp_send.h"

#include <algorithm>
#include <cstring>

#include "src/outbound/transfer.h"

namespace pamproxy::outbound {
namespace {

struct Upload {
  std::string_view rest;
};

size_t read_upload(char* out, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t take = std::min(size * n, u->rest.size());
  std::memcpy(out, u->rest.data(), take);
  u->rest.remove_prefix(take);
  return take;
}

}  // namespace

SmtpAnswer smtp_send(const SmtpSend& mail) {
  init();
  internal::Easy easy(curl_easy_init());
  internal::List rcpt;
  if (!easy || !internal::append_all({"<" + std::string(mail.to) + ">"}, &rcpt)) {
    return internal::failed<SmtpAnswer>(Failure::kOther, "out of memory");
  }
  // libcurl keeps pointers to these until the transfer ends: they live to the end of this call.
  const std::string url = "smtp://" + std::string(mail.address);
  const std::string ca_file(mail.ca_file);
  const std::string username(mail.username);
  const std::string password(mail.password);
  const std::string from = "<" + std::string(mail.from) + ">";
  Upload upload{mail.message};
  char error[CURL_ERROR_SIZE] = {};

  CURL* c = easy.get();
  internal::set_transport_rules(c, ca_file, mail.timeout_ms, mail.timeout_ms, error);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   static_cast<long>(mail.starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  if (!username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);

  const CURLcode code = curl_easy_perform(c);
  if (code == CURLE_OK) return {};
  auto a = internal::failed<SmtpAnswer>(internal::classify(code), curl_easy_strerror(code), error);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.reply);
  return a;
}

}  // namespace pamproxy::outbound
