// Delivery attempts (see deliver.h): a webhook is one outbound::https_request, an e-mail one
// outbound::smtp_send; the outbound module holds the transport rules and libcurl. What is left
// here is what an attempt means to the notifier: which answers count as delivered, and the
// error texts of its audit events and log.

#include "pamproxy/notify/deliver.h"

#include "pamproxy/outbound/https_request.h"
#include "pamproxy/outbound/smtp_send.h"

namespace pamproxy::notify {

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
  outbound::SmtpAnswer answer = outbound::smtp_send({.address = mail.address,
                                                     .starttls = mail.starttls,
                                                     .ca_file = mail.ca_file,
                                                     .username = mail.username,
                                                     .password = mail.password,
                                                     .from = mail.from,
                                                     .to = mail.to,
                                                     .message = mail.message,
                                                     .timeout_ms = mail.timeout_ms});
  if (answer.ok()) return {.ok = true};
  if (answer.failure == outbound::Failure::kTimeout) {
    return {.timed_out = true, .error = "timeout after " + std::to_string(mail.timeout_ms) + " ms"};
  }
  std::string error = answer.reason;
  if (!answer.detail.empty()) error += ": " + answer.detail;
  if (answer.reply >= 400) error = "SMTP " + std::to_string(answer.reply) + ": " + error;
  return {.error = std::move(error)};
}

}  // namespace pamproxy::notify
