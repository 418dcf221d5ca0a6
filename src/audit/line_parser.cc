// Audit line parsing with simdjson's DOM parser; the parser and its padded buffer are reused
// from line to line.

#include "pamproxy/audit/line_parser.h"

#include <simdjson.h>

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
  return true;
}

}  // namespace pamproxy::audit
