#pragma once
// One e-mail handed to an SMTP server the operator configured, through libcurl, under the same
// transport rules as https_request() (https_request.h): the certificate and name verified (TLS
// 1.2 or later) once STARTTLS is on, no proxy from the environment, connecting within
// connect_timeout_ms and the whole dialogue within timeout_ms, no signal used.
//
//   outbound::SmtpAnswer a = outbound::smtp_send({.address = "mail.example:587", .starttls = true,
//       .from = "pam@example", .to = "ops@example", .message = text, .timeout_ms = 10000});
//   if (!a.ok()) ... failure_name(a.failure), a.reply (e.g. 550), a.reason, a.detail
//
// Credentials are never sent without STARTTLS: the caller refuses that before asking.
// Blocking, for at most timeout_ms; any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "pamproxy/outbound/https_request.h"

namespace pamproxy::outbound {

struct SmtpSend {
  std::string_view address;   // host:port of the SMTP server
  bool starttls = true;       // required: the attempt fails if the server does not offer it
  std::string_view ca_file;   // "" = the system trust store
  std::string_view username;  // "" = no AUTH
  std::string_view password;
  std::string_view from;
  std::string_view to;
  std::string_view message;  // the whole message, headers and body
  int64_t timeout_ms = 10000;
};

struct SmtpAnswer {
  Failure failure = Failure::kNone;
  long reply = 0;  // the server's last reply code (0 when it gave none)
  std::string reason;
  std::string detail;

  bool ok() const { return failure == Failure::kNone; }
};

SmtpAnswer smtp_send(const SmtpSend& mail);

}  // namespace pamproxy::outbound
