#pragma once
// What a notification says, pure: the facts the store queued with a request's creation or
// decision (store::Notification::facts_json), rendered as a webhook body (JSON or Slack's
// {"text": ...}), an e-mail (RFC 5322), and the signature a webhook receiver checks. Never a
// secret: the facts hold names, times, the reason and the decision's note, nothing sealed.
//
//   auto facts = parse_facts(n.facts_json);          // DataLoss when the row does not parse
//   std::string link = request_link(console_url, facts->request_id);
//   std::string body = webhook_body(*facts, link, config::WebhookFormat::kJson);
//   std::string sig = webhook_signature(key, unix_s, body);   // "sha256=<64 hex>"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pamproxy/config/config.h"

namespace pamproxy::notify {

struct Facts {
  std::string event;  // "request.created" | "request.decided"
  std::string request_id;
  std::string record_id;
  std::string record_name;
  std::string requester_id;
  std::string requester_name;
  std::string reason;
  std::string start_at;  // RFC 3339 UTC
  std::string end_at;
  std::string state;  // pending, approved, denied
  std::string decided_by_id;
  std::string decided_by_name;
  std::string decision_note;
};

absl::StatusOr<Facts> parse_facts(std::string_view json);

// "<console_url>/requests/<id>" (the console's route of one request); "" without a console_url.
std::string request_link(std::string_view console_url, std::string_view request_id);

// One line: "Access request req-… by alice for billing-prod awaits approval" or "… was approved
// by bob".
std::string subject_of(const Facts& f);
// The message for people: the subject, then the facts one per line, then the link.
std::string text_of(const Facts& f, std::string_view link);

// format json: {"event", "request": {...facts}, "link", "text"}; slack: {"text": text_of}.
std::string webhook_body(const Facts& f, std::string_view link, config::WebhookFormat format);

// "sha256=" + hex HMAC-SHA256 under `key` of "<timestamp_s>.<body>": the receiver recomputes it
// from the X-Pamproxy-Timestamp header and the raw body, and refuses an old timestamp.
std::string webhook_signature(std::string_view key, int64_t timestamp_s, std::string_view body);

// A whole e-mail (headers, blank line, body), CRLF line ends, lines under 1000 bytes; headers
// hold only checked addresses and an RFC 2047-encoded subject, so no text can add one.
std::string mail_message(const Facts& f, std::string_view link, std::string_view from,
                         std::string_view to, absl::Time now, std::string_view message_id);

}  // namespace pamproxy::notify
