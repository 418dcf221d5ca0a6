// The event filter and the JSON view of an event for search answers (see search.h).

#include "pamproxy/audit/search.h"

#include "pamproxy/audit/line.h"
#include "pamproxy/base/arn_pattern.h"

namespace pamproxy::audit {
namespace {

bool operation_matches(std::string_view want, const Event& e) {
  std::string_view name = e.event_name.view();
  size_t colon = want.find(':');
  if (colon == std::string_view::npos) return name == want;
  std::string_view service = e.event_source.view();
  service = service.substr(0, service.find('.'));
  return service == want.substr(0, colon) && name == want.substr(colon + 1);
}

}  // namespace

bool EventFilter::matches(const Event& e) const {
  if (!user.empty() && e.user.view() != user) return false;
  if (!record.empty() && e.record_id.view() != record && e.record_name.view() != record) {
    return false;
  }
  if (!operation.empty() && !operation_matches(operation, e)) return false;
  if (!event_type.empty() && event_type_name(e.type) != event_type) return false;
  if (since_unix_ns && e.time_unix_ns < *since_unix_ns) return false;
  if (until_unix_ns && e.time_unix_ns >= *until_unix_ns) return false;
  if (!resource.empty()) {
    bool any = false;
    e.resources.for_each([&](std::string_view arn) { any = any || arn_match(resource, arn); });
    if (!any) return false;
  }
  return true;
}

void write_event_json(JsonWriter& w, uint64_t seq, const Event& e) {
  char time_buf[32];
  w.begin_object();
  w.key("seq").value(seq);
  w.key("eventTime").value(std::string_view(time_buf, format_event_time(e.time_unix_ns, time_buf)));
  w.key("eventType").value(event_type_name(e.type));
  auto str = [&](std::string_view name, std::string_view v) {
    if (!v.empty()) w.key(name).value(v);
  };
  str("eventSource", e.event_source.view());
  str("eventName", e.event_name.view());
  str("awsRegion", e.aws_region.view());
  str("sourceIPAddress", e.source_ip.view());
  if (e.source_port != 0) w.key("sourcePort").value(static_cast<uint64_t>(e.source_port));
  str("userAgent", e.user_agent.view());
  str("cliCommand", e.cli_command.view());
  str("errorCode", e.error_code.view());
  str("requestID", e.aws_request_id.view());
  str("proxyRequestId", e.request_id.view());
  if (e.read_only != ReadOnly::kUnknown) w.key("readOnly").value(e.read_only == ReadOnly::kTrue);
  str("sessionId", e.session_id.view());
  str("user", e.user.view());
  str("tokenId", e.token_id.view());
  str("recordId", e.record_id.view());
  str("recordName", e.record_name.view());
  str("targetHost", e.target_host.view());
  str("denyReason", e.deny_reason.view());
  str("detail", e.detail.view());
  str("awsAccount", e.aws_account.view());
  if (!e.resources.empty()) {
    w.key("resources").begin_array();
    e.resources.for_each([&](std::string_view arn) { w.value(arn); });
    w.end_array();
    if (e.resources.truncated()) w.key("resourcesTotal").value(uint64_t{e.resources.total()});
  }
  if (e.status != 0) w.key("status").value(static_cast<int64_t>(e.status));
  if (e.bytes_in || e.bytes_out || e.duration_us) {
    w.key("bytesIn").value(e.bytes_in);
    w.key("bytesOut").value(e.bytes_out);
    w.key("durationUs").value(e.duration_us);
  }
  w.end_object();
}

}  // namespace pamproxy::audit
