// Fuzz target: reading one audit line back into an Event (search and sessions read lines this
// way). Whatever the bytes, the parser must accept or give a reason, never crash; and a line it
// accepts must survive a round trip: serialized again by the writer's own line format and read
// back, every field is the same.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pamproxy/audit/line.h"
#include "pamproxy/audit/line_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::audit;
  static LineParser parser;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  ParsedLine head;
  Event e;
  std::string why;
  if (!parser.parse(line, &head, &e, &why)) {
    if (why.empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (head.type == EventType::kCheckpoint || head.type == EventType::kRetentionDeletion) return 0;
  std::string again;
  append_line(again, LineHead{head.seq, head.prev, head.node}, e);
  ParsedLine head2;
  Event e2;
  if (!parser.parse(again, &head2, &e2, &why)) std::abort();
  if (head2.seq != head.seq || e2.type != e.type || e2.status != e.status ||
      e2.bytes_in != e.bytes_in || e2.bytes_out != e.bytes_out ||
      e2.duration_us != e.duration_us || e2.source_port != e.source_port ||
      e2.read_only != e.read_only || e2.time_unix_ns / 1000 != e.time_unix_ns / 1000 ||
      e2.user.view() != e.user.view() || e2.record_name.view() != e.record_name.view() ||
      e2.detail.view() != e.detail.view() || e2.event_name.view() != e.event_name.view() ||
      e2.deny_reason.view() != e.deny_reason.view() ||
      e2.aws_account.view() != e.aws_account.view() ||
      e2.resources.total() != e.resources.total() ||
      e2.resources.listed() != e.resources.listed()) {
    std::abort();
  }
  std::string first, second;
  e.resources.for_each([&](std::string_view arn) { first.append(arn).push_back('\0'); });
  e2.resources.for_each([&](std::string_view arn) { second.append(arn).push_back('\0'); });
  if (first != second) std::abort();
  return 0;
}
