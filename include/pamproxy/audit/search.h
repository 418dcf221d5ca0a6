#pragma once
// Searching the audit log: a filter over events (user, record, operation, event type, time
// range, resource) and the JSON view of one event as search answers print it. Pure; used by `pamctl
// audit search` (offline, over a directory) and by the admin API.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pamproxy/audit/event.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::audit {

struct EventFilter {
  std::string user;    // exact user id
  std::string record;  // exact record id or record name
  // An operation name ("PutObject") or service:operation ("s3:PutObject", the service being the
  // first label of eventSource). Exact, case-sensitive, as AWS names them.
  std::string operation;
  std::string event_type;  // "request.denied", ... ("" = any)
  // An ARN pattern ("arn:aws:s3:::billing/*", '*' and '?' as IAM reads them): events that name
  // a matching resource. An event that lists only its first resources matches on those.
  std::string resource;
  std::optional<int64_t> since_unix_ns;  // inclusive
  std::optional<int64_t> until_unix_ns;  // exclusive

  bool matches(const Event& e) const;
};

// {"seq":N,"eventTime":...,"eventType":...,<every non-empty field by its log name>}.
void write_event_json(JsonWriter& w, uint64_t seq, const Event& e);

}  // namespace pamproxy::audit
