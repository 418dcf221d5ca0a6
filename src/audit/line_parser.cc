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

// Two ASCII digits at `s`, or -1.
int two_digits(const char* s) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (month 1-12).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The shape the writer writes, "2026-11-23T21:37:05.123456Z" with every field in range (days up
// to 28, so no month needs checking; years 1970-2200): read directly. False for anything else,
// which the general parser then reads, or refuses, as before.
bool parse_writer_time(std::string_view t, int64_t* unix_ns) {
  if (t.size() != 27 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
      t[16] != ':' || t[19] != '.' || t[26] != 'Z') {
    return false;
  }
  const int y_hi = two_digits(&t[0]), y_lo = two_digits(&t[2]), mo = two_digits(&t[5]),
            d = two_digits(&t[8]), h = two_digits(&t[11]), mi = two_digits(&t[14]),
            s = two_digits(&t[17]);
  if (y_hi < 0 || y_lo < 0 || mo < 1 || mo > 12 || d < 1 || d > 28 || h < 0 || h > 23 || mi < 0 ||
      mi > 59 || s < 0 || s > 59) {
    return false;
  }
  int64_t micros = 0;
  for (size_t i = 20; i < 26; ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
    micros = micros * 10 + (t[i] - '0');
  }
  const int year = y_hi * 100 + y_lo;
  if (year < 1970 || year > 2200) return false;  // nanoseconds since 1970 fit in 64 bits
  const int64_t days = days_from_civil(year, mo, d);
  *unix_ns = ((days * 86400 + h * 3600 + mi * 60 + s) * 1000000 + micros) * 1000;
  return true;
}

// "2026-11-23T21:37:05.123456Z" -> Unix nanoseconds; false when it is not that shape.
bool parse_event_time(std::string_view text, int64_t* unix_ns) {
  if (parse_writer_time(text, unix_ns)) return true;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::string_view(text.data(), text.size()),
                       absl::UTCTimeZone(), &t, &err)) {
    return false;
  }
  *unix_ns = absl::ToUnixNanos(t);
  return true;
}

// The members an event is read from. They are found in one walk over the object, keeping the
// first of a repeated name as object[key] would, instead of a search from the start for each.
enum Member : uint8_t {
  kEventSource,
  kEventName,
  kAwsRegion,
  kSourceIpAddress,
  kUserAgent,
  kCliCommand,
  kErrorCode,
  kRequestId,
  kProxyRequestId,
  kSessionId,
  kUser,
  kTokenId,
  kRecordId,
  kRecordName,
  kTargetHost,
  kDenyReason,
  kDetail,
  kAwsAccount,
  kResources,
  kResourcesTotal,
  kSourcePort,
  kStatus,
  kBytesIn,
  kBytesOut,
  kDurationUs,
  kReadOnly,
  kMemberCount,
};

constexpr std::string_view kMemberNames[kMemberCount] = {
    "eventSource", "eventName",      "awsRegion",      "sourceIPAddress", "userAgent", "cliCommand",
    "errorCode",   "requestID",      "proxyRequestId", "sessionId",       "user",      "tokenId",
    "recordId",    "recordName",     "targetHost",     "denyReason",      "detail",    "awsAccount",
    "resources",   "resourcesTotal", "sourcePort",     "status",          "bytesIn",   "bytesOut",
    "durationUs",  "readOnly",
};

class Members {
 public:
  explicit Members(simdjson::dom::object obj) {
    for (simdjson::dom::key_value_pair m : obj) {
      int i = index_of(m.key);
      if (i >= 0 && !found_[i]) {
        found_[i] = true;
        value_[i] = m.value;
      }
    }
  }
  // False when absent.
  bool get(Member m, simdjson::dom::element* e) const {
    if (!found_[m]) return false;
    *e = value_[m];
    return true;
  }
  static std::string name(Member m) { return std::string(kMemberNames[m]); }

 private:
  static int index_of(std::string_view key) {
    // Most keys differ in length or first letter: compare those before the bytes.
    for (int i = 0; i < kMemberCount; ++i) {
      const std::string_view& n = kMemberNames[i];
      if (n.size() == key.size() && n[0] == key[0] && n == key) return i;
    }
    return -1;
  }

  bool found_[kMemberCount] = {};
  simdjson::dom::element value_[kMemberCount];
};

template <size_t N>
bool read_inline(const Members& obj, Member key, InlineString<N>* out, std::string* why) {
  simdjson::dom::element e;
  if (!obj.get(key, &e)) {
    out->clear();
    return true;  // absent: empty
  }
  std::string_view v;
  if (e.get_string().get(v) != simdjson::SUCCESS) {
    *why = std::string("\"") + Members::name(key) + "\" is not a string";
    return false;
  }
  out->assign(v);
  return true;
}

bool read_uint(const Members& obj, Member key, uint64_t* out, std::string* why) {
  simdjson::dom::element e;
  *out = 0;
  if (!obj.get(key, &e)) return true;
  if (e.get_uint64().get(*out) != simdjson::SUCCESS) {
    *why = std::string("\"") + Members::name(key) + "\" is not a non-negative integer";
    return false;
  }
  return true;
}

// "resources": an array of strings, and "resourcesTotal" when it lists only the first ones.
bool read_resources(const Members& obj, Event* e, std::string* why) {
  simdjson::dom::element member;
  if (!obj.get(kResources, &member)) return true;
  simdjson::dom::array list;
  if (member.get_array().get(list) != simdjson::SUCCESS) {
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
  if (!read_uint(obj, kResourcesTotal, &total, why)) return false;
  if (total > UINT32_MAX) {
    *why = "\"resourcesTotal\" out of range";
    return false;
  }
  if (total != 0) e->resources.set_total(static_cast<uint32_t>(total));
  return true;
}

// Every Event field the writer serializes (line.cc), read back by name.
bool read_event_fields(simdjson::dom::object object, const ParsedLine& head, Event* e,
                       std::string* why) {
  const Members obj(object);
  e->clear();
  e->type = head.type;
  if (!parse_event_time(head.event_time, &e->time_unix_ns)) {
    *why = "\"eventTime\" is not an RFC 3339 UTC time";
    return false;
  }
  if (!read_inline(obj, kEventSource, &e->event_source, why) ||
      !read_inline(obj, kEventName, &e->event_name, why) ||
      !read_inline(obj, kAwsRegion, &e->aws_region, why) ||
      !read_inline(obj, kSourceIpAddress, &e->source_ip, why) ||
      !read_inline(obj, kUserAgent, &e->user_agent, why) ||
      !read_inline(obj, kCliCommand, &e->cli_command, why) ||
      !read_inline(obj, kErrorCode, &e->error_code, why) ||
      !read_inline(obj, kRequestId, &e->aws_request_id, why) ||
      !read_inline(obj, kProxyRequestId, &e->request_id, why) ||
      !read_inline(obj, kSessionId, &e->session_id, why) ||
      !read_inline(obj, kUser, &e->user, why) || !read_inline(obj, kTokenId, &e->token_id, why) ||
      !read_inline(obj, kRecordId, &e->record_id, why) ||
      !read_inline(obj, kRecordName, &e->record_name, why) ||
      !read_inline(obj, kTargetHost, &e->target_host, why) ||
      !read_inline(obj, kDenyReason, &e->deny_reason, why) ||
      !read_inline(obj, kDetail, &e->detail, why) ||
      !read_inline(obj, kAwsAccount, &e->aws_account, why) || !read_resources(obj, e, why)) {
    return false;
  }
  uint64_t port = 0, status = 0;
  if (!read_uint(obj, kSourcePort, &port, why) || !read_uint(obj, kStatus, &status, why)) {
    return false;
  }
  // Only the types the writer gives them to (line.cc); elsewhere they are not part of the event.
  if (has_traffic_fields(e->type) && (!read_uint(obj, kBytesIn, &e->bytes_in, why) ||
                                      !read_uint(obj, kBytesOut, &e->bytes_out, why) ||
                                      !read_uint(obj, kDurationUs, &e->duration_us, why))) {
    return false;
  }
  if (port > 65535 || status > 999) {
    *why = port > 65535 ? "\"sourcePort\" out of range" : "\"status\" out of range";
    return false;
  }
  e->source_port = static_cast<uint16_t>(port);
  e->status = static_cast<int32_t>(status);
  simdjson::dom::element ro;
  if (obj.get(kReadOnly, &ro)) {
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
