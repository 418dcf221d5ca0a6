// Rendering queued facts into webhook bodies and e-mails (pure; see message.h).

#include "pamproxy/notify/message.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include "pamproxy/base/json_writer.h"

namespace pamproxy::notify {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Lines of an e-mail body are cut below SMTP's 1000-byte limit (RFC 5321 4.5.3.1.6).
constexpr size_t kMailLineBytesMax = 900;

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool is_plain_ascii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// A header value from free text: as is when it is printable ASCII, else RFC 2047 base64 words.
// Either way it cannot end the header or start another.
std::string header_text(std::string_view s) {
  if (is_plain_ascii(s)) return std::string(s);
  return "=?UTF-8?B?" + base64(s) + "?=";
}

// CRLF line ends, long lines cut: the body of a message whose text came with \n.
std::string mail_body(std::string_view text) {
  std::string out;
  size_t line = 0;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    if (line == kMailLineBytesMax) {
      out += "\r\n";
      line = 0;
    }
    out += c;
    ++line;
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

void write_facts(JsonWriter& w, const Facts& f) {
  w.begin_object().key("id").value(f.request_id);
  w.key("record_id").value(f.record_id).key("record_name").value(f.record_name);
  w.key("requester_id").value(f.requester_id).key("requester_name").value(f.requester_name);
  w.key("reason").value(f.reason);
  w.key("start_at").value(f.start_at).key("end_at").value(f.end_at);
  w.key("state").value(f.state);
  if (!f.decided_by_id.empty()) {
    w.key("decided_by_id").value(f.decided_by_id);
    w.key("decided_by_name").value(f.decided_by_name);
    w.key("decision_note").value(f.decision_note);
  }
  w.end_object();
}

}  // namespace

absl::StatusOr<Facts> parse_facts(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(json);
  simdjson::dom::object o;
  if (parser.parse(text).get(o) != simdjson::SUCCESS) {
    return absl::DataLossError("a queued notification's facts do not parse");
  }
  Facts f;
  auto get = [&](const char* key, std::string* out, bool required) {
    std::string_view v;
    if (o[key].get(v) == simdjson::SUCCESS) {
      *out = std::string(v);
      return true;
    }
    return !required;
  };
  bool ok = get("event", &f.event, true) && get("request_id", &f.request_id, true) &&
            get("record_id", &f.record_id, true) && get("record_name", &f.record_name, true) &&
            get("requester_id", &f.requester_id, true) &&
            get("requester_name", &f.requester_name, true) && get("reason", &f.reason, true) &&
            get("start_at", &f.start_at, true) && get("end_at", &f.end_at, true) &&
            get("state", &f.state, true) && get("decided_by_id", &f.decided_by_id, false) &&
            get("decided_by_name", &f.decided_by_name, false) &&
            get("decision_note", &f.decision_note, false);
  if (!ok) return absl::DataLossError("a queued notification's facts lack a field");
  return f;
}

std::string request_link(std::string_view console_url, std::string_view request_id) {
  if (console_url.empty()) return {};
  std::string out(console_url);
  while (out.ends_with('/')) out.pop_back();
  // Request ids are [a-z0-9-] (store::random_id): nothing to escape.
  return out + "/requests/" + std::string(request_id);
}

std::string subject_of(const Facts& f) {
  if (f.event == "request.created") {
    return "Access request " + f.request_id + " by " + f.requester_name + " for " + f.record_name +
           " awaits approval";
  }
  return "Access request " + f.request_id + " for " + f.record_name + " was " + f.state + " by " +
         f.decided_by_name;
}

std::string text_of(const Facts& f, std::string_view link) {
  std::string out = subject_of(f) + "\n\n";
  out += "Record:    " + f.record_name + " (" + f.record_id + ")\n";
  out += "Requester: " + f.requester_name + " (" + f.requester_id + ")\n";
  out += "From:      " + f.start_at + "\n";
  out += "Until:     " + f.end_at + "\n";
  out += "Reason:    " + f.reason + "\n";
  if (!f.decided_by_id.empty()) {
    out += "Decision:  " + f.state + " by " + f.decided_by_name + " (" + f.decided_by_id + ")\n";
    if (!f.decision_note.empty()) out += "Note:      " + f.decision_note + "\n";
  }
  if (!link.empty()) out += "\n" + std::string(link) + "\n";
  return out;
}

std::string webhook_body(const Facts& f, std::string_view link, config::WebhookFormat format) {
  JsonWriter w;
  if (format == config::WebhookFormat::kSlack) {
    w.begin_object().key("text").value(text_of(f, link)).end_object();
    return w.take();
  }
  w.begin_object().key("event").value(f.event).key("request");
  write_facts(w, f);
  w.key("link").value(link).key("text").value(text_of(f, link)).end_object();
  return w.take();
}

std::string webhook_signature(std::string_view key, int64_t timestamp_s, std::string_view body) {
  std::string signed_text = std::to_string(timestamp_s) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_bytes = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &mac_bytes);
  std::string out = "sha256=";
  for (unsigned int i = 0; i < mac_bytes; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::string mail_message(const Facts& f, std::string_view link, std::string_view from,
                         std::string_view to, absl::Time now, std::string_view message_id) {
  std::string out;
  out += "From: " + std::string(from) + "\r\n";
  out += "To: " + std::string(to) + "\r\n";
  out += "Subject: " + header_text(subject_of(f)) + "\r\n";
  out +=
      "Date: " + absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", now, absl::UTCTimeZone()) + "\r\n";
  out += "Message-ID: <" + std::string(message_id) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "\r\n";
  out += mail_body(text_of(f, link));
  return out;
}

}  // namespace pamproxy::notify
