#pragma once
// One delivery attempt, through the outbound module: a webhook POST over HTTPS, or one e-mail
// over SMTP with STARTTLS. Both are bounded by `timeout_ms` as a whole (connect, TLS, send,
// answer) and follow no redirect; the server's certificate is always verified (the system store,
// or `ca_file`).
// Blocking: only the notifier's thread calls these, never the data plane or the admin API.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pamproxy::notify {

struct Attempt {
  bool ok = false;
  bool timed_out = false;
  // Why it failed, for the audit event and the log: "timeout after 1000 ms", "HTTP 500",
  // "SMTP 550", or libcurl's reason. Never holds a secret.
  std::string error;
};

struct WebhookPost {
  std::string url;
  std::string ca_file;               // "" = the system store
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  int64_t timeout_ms = 10000;
};
// 2xx is delivered; anything else is a failed attempt.
Attempt post_webhook(const WebhookPost& post);

struct MailSend {
  std::string address;   // host:port of the SMTP server
  bool starttls = true;  // required: the attempt fails if the server does not offer it
  std::string ca_file;
  std::string username;  // "" = no AUTH
  std::string password;
  std::string from;
  std::string to;
  std::string message;  // mail_message()
  int64_t timeout_ms = 10000;
};
Attempt send_mail(const MailSend& mail);

// libcurl's process-wide setup; call once on the main thread before the notifier starts.
void init_transport();

}  // namespace pamproxy::notify
