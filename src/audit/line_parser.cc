// Audit line parsing with simdjson's DOM parser; the parser and its padded buffer are reused
// from line to line.

#include "pamproxy/audit/line_parser.h"

#include <simdjson.h>

#include "absl/time/time.h"
#include "pamproxy/audit/line.h"

namespace pamproxy::audit {

struct LineParser::Impl {
  simdjson::dom::parser parser;
  std::string padded;
};

LineParser::LineParser() : impl_(new Impl) {}
LineParser::~LineParser() {
  delete impl_;
}

bool is_lower_hex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

bool get_string(simdjson::dom::object obj, const char* key, std::string* out, std::string* why) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS) {
    *why = std::string("missing or non-string \"") + key + "\"";
    return false;
  }
  out->assign(v);
  return true;
}

bool get_uint(simdjson::dom::object obj, const char* key, uint64_t* out, std::string* why) {
  if (obj[key].get_uint64().get(*out) != simdjson::SUCCESS) {
    *why = std::string("missing or non-integer \"") + key + "\"";
    return false;
  }
  return true;
}

}  // namespace

bool LineParser::parse(std::string_view line, ParsedLine* out, std::string* why) {
  return parse(line, out, nullptr, why);
}

namespace {

// "2026-11-23T21:37:05.123456Z" -> Unix nanoseconds; false when it is not that shape.
bool parse_event_time(std::string_view text, int64_t* unix_ns) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::string_view(text.data(), text.size()),
                       absl::UTCTimeZone(), &t, &err)) {
    return false;
  }
  *unix_ns = absl::ToUnixNanos(t);
  return true;
}

template <size_t N>
bool read_inline(simdjson::dom::object obj, const char* key, InlineString<N>* out,
                 std::string* why) {
  simdjson::dom::element e;
  if (obj[key].get(e) != simdjson::SUCCESS) {
    out->clear();
    return true;  // absent: empty
  }
  std::string_view v;
  if (e.get_string().get(v) != simdjson::SUCCESS) {
    *why = std::string("\"") + key + "\" is not a string";
    return false;
  }
  out->assign(v);
  return true;
}

bool read_uint(simdjson::dom::object obj, const char* key, uint64_t* out, std::string* why) {
  simdjson::dom::element e;
  *out = 0;
  if (obj[key].get(e) != simdjson::SUCCESS) return true;
  if (e.get_uint64().get(*out) != simdjson::SUCCESS) {
    *why = std::string("\"") + key + "\" is not a non-negative integer";
    return false;
  }
  return true;
}

// "resources": an array of strings, and "resourcesTotal" when it lists only the first ones.
bool read_resources(simdjson::dom::object obj, Event* e, std::string* why) {
  simdjson::dom::array list;
  if (obj["resources"].get(list) != simdjson::SUCCESS) {
    if (obj["resources"].error() == simdjson::NO_SUCH_FIELD) return true;
    *why = "\"resources\" is not an array";
    return false;
  }
  for (simdjson::dom::element arn : list) {
    std::string_view v;
    if (arn.get_string().get(v) != simdjson::SUCCESS) {
      *why = "\"resources\" holds something other than strings";
      return false;
    }
    e->resources.add(v);
  }
  uint64_t total = 0;
  if (!read_uint(obj, "resourcesTotal", &total, why)) return false;
  if (total > UINT32_MAX) {
    *why = "\"resourcesTotal\" out of range";
    return false;
  }
  if (total != 0) e->resources.set_total(static_cast<uint32_t>(total));
  return true;
}

// Every Event field the writer serializes (line.cc), read back by name.
bool read_event_fields(simdjson::dom::object obj, const ParsedLine& head, Event* e,
                       std::string* why) {
  e->clear();
  e->type = head.type;
  if (!parse_event_time(head.event_time, &e->time_unix_ns)) {
    *why = "\"eventTime\" is not an RFC 3339 UTC time";
    return false;
  }
  if (!read_inline(obj, "eventSource", &e->event_source, why) ||
      !read_inline(obj, "eventName", &e->event_name, why) ||
      !read_inline(obj, "awsRegion", &e->aws_region, why) ||
      !read_inline(obj, "sourceIPAddress", &e->source_ip, why) ||
      !read_inline(obj, "userAgent", &e->user_agent, why) ||
      !read_inline(obj, "cliCommand", &e->cli_command, why) ||
      !read_inline(obj, "errorCode", &e->error_code, why) ||
      !read_inline(obj, "requestID", &e->aws_request_id, why) ||
      !read_inline(obj, "proxyRequestId", &e->request_id, why) ||
      !read_inline(obj, "sessionId", &e->session_id, why) ||
      !read_inline(obj, "user", &e->user, why) || !read_inline(obj, "tokenId", &e->token_id, why) ||
      !read_inline(obj, "recordId", &e->record_id, why) ||
      !read_inline(obj, "recordName", &e->record_name, why) ||
      !read_inline(obj, "targetHost", &e->target_host, why) ||
      !read_inline(obj, "denyReason", &e->deny_reason, why) ||
      !read_inline(obj, "detail", &e->detail, why) ||
      !read_inline(obj, "awsAccount", &e->aws_account, why) || !read_resources(obj, e, why)) {
    return false;
  }
  uint64_t port = 0, status = 0;
  if (!read_uint(obj, "sourcePort", &port, why) || !read_uint(obj, "status", &status, why)) {
    return false;
  }
  // Only the types the writer gives them to (line.cc); elsewhere they are not part of the event.
  if (has_traffic_fields(e->type) && (!read_uint(obj, "bytesIn", &e->bytes_in, why) ||
                                      !read_uint(obj, "bytesOut", &e->bytes_out, why) ||
                                      !read_uint(obj, "durationUs", &e->duration_us, why))) {
    return false;
  }
  if (port > 65535 || status > 999) {
    *why = port > 65535 ? "\"sourcePort\" out of range" : "\"status\" out of range";
    return false;
  }
  e->source_port = static_cast<uint16_t>(port);
  e->status = static_cast<int32_t>(status);
  simdjson::dom::element ro;
  if (obj["readOnly"].get(ro) == simdjson::SUCCESS) {
    bool b = false;
    if (ro.get_bool().get(b) != simdjson::SUCCESS) {
      *why = "\"readOnly\" is not a boolean";
      return false;
    }
    e->read_only = b ? ReadOnly::kTrue : ReadOnly::kFalse;
  }
  return true;
}

}  // namespace

bool LineParser::parse(std::string_view line, ParsedLine* out, Event* event, std::string* why) {
  if (line.size() > kLineBytesMax) {
    *why = "line longer than " + std::to_string(kLineBytesMax) + " bytes";
    return false;
  }
  impl_->padded.assign(line);
  impl_->padded.resize(line.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  auto err = impl_->parser.parse(impl_->padded.data(), line.size(), false).get(root);
  if (err != simdjson::SUCCESS) {
    *why = std::string("not valid JSON (") + simdjson::error_message(err) + ")";
    return false;
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    *why = "not a JSON object";
    return false;
  }
  if (!get_uint(obj, "seq", &out->seq, why)) return false;
  if (out->seq == 0) {
    *why = "\"seq\" is 0 (sequence numbers start at 1)";
    return false;
  }
  if (!get_string(obj, "prev", &out->prev, why)) return false;
  if (!is_lower_hex(out->prev, kHashHexBytes)) {
    *why = "\"prev\" is not 64 lowercase hex characters";
    return false;
  }
  if (!get_string(obj, "eventTime", &out->event_time, why)) return false;
  std::string type;
  if (!get_string(obj, "eventType", &type, why)) return false;
  if (!parse_event_type(type, &out->type)) {
    *why = "unknown eventType \"" + type.substr(0, 64) + "\"";
    return false;
  }
  if (!get_string(obj, "node", &out->node, why)) return false;

  out->checkpoint_reason.clear();
  out->checkpoint_key.clear();
  out->checkpoint_sig.clear();
  out->retention_through_seq = 0;
  out->retention_last_hash.clear();
  if (out->type == EventType::kCheckpoint) {
    simdjson::dom::object cp;
    if (obj["checkpoint"].get_object().get(cp) != simdjson::SUCCESS) {
      *why = "checkpoint without its \"checkpoint\" object";
      return false;
    }
    if (!get_string(cp, "reason", &out->checkpoint_reason, why)) return false;
    if (!get_string(cp, "key", &out->checkpoint_key, why)) return false;
    if (!get_string(cp, "sig", &out->checkpoint_sig, why)) return false;
  } else if (out->type == EventType::kRetentionDeletion) {
    simdjson::dom::object r;
    if (obj["retention"].get_object().get(r) != simdjson::SUCCESS) {
      *why = "retention event without its \"retention\" object";
      return false;
    }
    if (!get_uint(r, "throughSeq", &out->retention_through_seq, why)) return false;
    if (!get_string(r, "lastHash", &out->retention_last_hash, why)) return false;
  }
  return event == nullptr || read_event_fields(obj, *out, event, why);
}

}  // namespace pamproxy::audit
