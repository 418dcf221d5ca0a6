#pragma once
// Reads back one audit log line (for the verifier and for crash recovery). The input is
// untrusted: anything may be in a file given to `pamctl audit verify`. Every failure is a short
// reason, never a crash; a line is at most kLineBytesMax bytes.

#include <cstdint>
#include <string>
#include <string_view>

#include "pamproxy/audit/event.h"

namespace pamproxy::audit {

struct ParsedLine {
  uint64_t seq = 0;
  std::string prev;        // 64 lowercase hex characters
  std::string event_time;  // as written
  EventType type = EventType::kRequestForwarded;
  std::string node;
  // audit.checkpoint: "checkpoint":{"reason":...,"key":...,"sig":...}
  std::string checkpoint_reason;
  std::string checkpoint_key;
  std::string checkpoint_sig;
  // audit.retention: "retention":{"file":...,"firstSeq":N,"throughSeq":N,"lastHash":...}
  uint64_t retention_through_seq = 0;
  std::string retention_last_hash;
};

class LineParser {
 public:
  LineParser();
  ~LineParser();
  LineParser(const LineParser&) = delete;
  LineParser& operator=(const LineParser&) = delete;

  // True when `line` (no newline) is a well-formed audit line; otherwise `why` says what is wrong.
  bool parse(std::string_view line, ParsedLine* out, std::string* why);
  // The same, and also reads every event field back into `event` (for search and sessions).
  // Strings longer than their Event field are cut as the writer would have cut them.
  bool parse(std::string_view line, ParsedLine* out, Event* event, std::string* why);

 private:
  struct Impl;
  Impl* impl_;
};

bool is_lower_hex(std::string_view s, size_t length);

}  // namespace pamproxy::audit
