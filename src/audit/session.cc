// Session aggregation (pure); the report's forms are in session_report.cc.

#include "pamproxy/audit/session.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pamproxy::audit {
namespace {

std::string key_of(const Event& e) {
  std::string k(e.user.view());
  k.push_back('\0');
  k.append(e.record_id.view());
  k.push_back('\0');
  k.append(e.source_ip.view());
  return k;
}

}  // namespace

SessionAggregator::SessionAggregator(int64_t idle_timeout_s, size_t commands_max, size_t open_max)
    : idle_timeout_ns_(idle_timeout_s * 1000000000),
      commands_max_(commands_max),
      open_max_(std::max<size_t>(1, open_max)) {}

// How far back a request.completed looks for its command (responses arrive in order, soon).
constexpr size_t kOutcomeLookback = 64;

std::string SessionAggregator::add(const Event& e, uint64_t seq, std::vector<Session>* closed) {
  if (e.type == EventType::kRequestCompleted) return merge_outcome(e);
  bool request = e.type == EventType::kRequestForwarded || e.type == EventType::kRequestDenied;
  if (!request || e.user.empty() || e.record_id.empty()) return {};
  std::string key = key_of(e);
  auto it = open_.find(key);
  if (it != open_.end() && e.time_unix_ns - it->second.last_unix_ns > idle_timeout_ns_) {
    closed->push_back(std::move(it->second));
    closed->back().open = false;
    open_.erase(it);
    it = open_.end();
  }
  if (it == open_.end()) {
    if (open_.size() >= open_max_) {
      auto oldest = std::min_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
        return a.second.last_unix_ns < b.second.last_unix_ns;
      });
      closed->push_back(std::move(oldest->second));
      closed->back().open = false;
      open_.erase(oldest);
    }
    Session s;
    s.id = "s-" + std::to_string(seq);
    s.first_seq = seq;
    s.open = true;
    s.user = e.user.view();
    s.token_id = e.token_id.view();
    s.record_id = e.record_id.view();
    s.record_name = e.record_name.view();
    s.source_ip = e.source_ip.view();
    s.started_unix_ns = e.time_unix_ns;
    it = open_.emplace(std::move(key), std::move(s)).first;
  }
  Session& s = it->second;
  s.last_unix_ns = std::max(s.last_unix_ns, e.time_unix_ns);
  ++s.requests;
  bool denied = e.type == EventType::kRequestDenied;
  if (denied) ++s.denied;
  s.bytes_in += e.bytes_in;
  s.bytes_out += e.bytes_out;
  if (s.commands.size() >= commands_max_) {
    ++s.commands_dropped;
  } else {
    SessionCommand c;
    c.time_unix_ns = e.time_unix_ns;
    c.seq = seq;
    c.cli_command = e.cli_command.view();
    c.event_source = e.event_source.view();
    c.event_name = e.event_name.view();
    c.target_host = e.target_host.view();
    c.status = e.status;
    c.denied = denied;
    c.deny_reason = e.deny_reason.view();
    c.error_code = e.error_code.view();
    c.request_id = e.request_id.view();
    c.bytes_in = e.bytes_in;
    c.bytes_out = e.bytes_out;
    c.duration_us = e.duration_us;
    c.resources.reserve(e.resources.listed());
    e.resources.for_each([&](std::string_view arn) { c.resources.emplace_back(arn); });
    c.resources_total = e.resources.total();
    s.commands.push_back(std::move(c));
  }
  return s.id;
}

std::string SessionAggregator::merge_outcome(const Event& e) {
  if (e.user.empty() || e.record_id.empty() || e.request_id.empty()) return {};
  auto it = open_.find(key_of(e));
  if (it == open_.end()) return {};  // closed meanwhile: its report is already written
  Session& s = it->second;
  const size_t n = s.commands.size();
  for (size_t i = 0; i < n && i < kOutcomeLookback; ++i) {
    SessionCommand& c = s.commands[n - 1 - i];
    if (c.request_id != e.request_id.view() || c.completed) continue;
    c.completed = true;
    c.status = e.status;
    if (!e.error_code.empty()) c.error_code = e.error_code.view();
    c.aws_request_id = e.aws_request_id.view();
    // A streamed upload is counted as it passes, so its request.forwarded event says 0 bytes in
    // and the completed one has the size; a body known at both is counted once.
    if (e.bytes_in > c.bytes_in) {
      s.bytes_in += e.bytes_in - c.bytes_in;
      c.bytes_in = e.bytes_in;
    }
    c.bytes_out = e.bytes_out;
    c.duration_us = e.duration_us;
    s.bytes_out += e.bytes_out;
    s.last_unix_ns = std::max(s.last_unix_ns, e.time_unix_ns);
    return s.id;
  }
  return {};
}

std::vector<Session> SessionAggregator::expire(int64_t now_unix_ns) {
  std::vector<Session> out;
  for (auto it = open_.begin(); it != open_.end();) {
    if (now_unix_ns - it->second.last_unix_ns > idle_timeout_ns_) {
      out.push_back(std::move(it->second));
      out.back().open = false;
      open_.erase(it++);
    } else {
      ++it;
    }
  }
  std::sort(out.begin(), out.end(), [](const Session& a, const Session& b) {
    return a.started_unix_ns < b.started_unix_ns;
  });
  return out;
}

std::vector<Session> SessionAggregator::close_all() {
  return expire(INT64_MAX);
}

const Session* SessionAggregator::find_open(std::string_view id) const {
  for (const auto& [key, s] : open_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// The position as base64url text: "<started_unix_ns>:<id>". Opaque to clients, which only hand
// it back, so its form may change with the order.
std::string session_cursor(const SessionReport& last) {
  std::string out;
  absl::WebSafeBase64Escape(absl::StrCat(last.started_unix_ns, ":", last.id), &out);
  return out;
}

std::optional<SessionPosition> parse_session_cursor(std::string_view cursor) {
  // A session id is short; anything longer is not a cursor this API gave.
  constexpr size_t kCursorBytesMax = 512;
  std::string text;
  if (cursor.empty() || cursor.size() > kCursorBytesMax ||
      !absl::WebSafeBase64Unescape(absl::string_view(cursor.data(), cursor.size()), &text)) {
    return std::nullopt;
  }
  const size_t colon = text.find(':');
  SessionPosition p;
  if (colon == std::string::npos || colon + 1 == text.size() ||
      !absl::SimpleAtoi(absl::string_view(text.data(), colon), &p.started_unix_ns)) {
    return std::nullopt;
  }
  p.id = text.substr(colon + 1);
  return p;
}

}  // namespace pamproxy::audit
