#pragma once
// One line of the audit log: the JSON serialization of an Event, prefixed by its place in the
// hash chain. Written by the audit writer only (producers never serialize).
//
//   {"seq":42,"prev":"<64 hex>","eventTime":"2026-11-23T21:37:05.123456Z",
//    "eventType":"request.forwarded","node":"pam-1", ...fields present..., <extra>}
//
// "prev" is the SHA-256 (hex) of the previous line's bytes without its newline, or kGenesisHash
// for the very first line; the chain runs on across files. Field names follow CloudTrail where
// they overlap; docs/audit.md lists them all.

#include <cstdint>
#include <string>
#include <string_view>

#include "pamproxy/audit/event.h"

namespace pamproxy::audit {

inline constexpr size_t kHashHexBytes = 64;
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
// A line longer than this is not a line this writer produced (the verifier rejects it).
inline constexpr size_t kLineBytesMax = 32768;

// SHA-256 of `bytes` as 64 lowercase hex characters written to `out`.
void sha256_hex(std::string_view bytes, char out[kHashHexBytes]);

// "2026-11-23T21:37:05.123456Z" (27 characters) into `out`; returns the length.
size_t format_event_time(int64_t unix_ns, char out[32]);

// Whether lines of this type carry bytesIn, bytesOut and durationUs (requests, tunnel closed).
bool has_traffic_fields(EventType t);

struct LineHead {
  uint64_t seq = 0;
  std::string_view prev_hex;  // kHashHexBytes characters
  std::string_view node;
};

// Appends the line for `event` (no newline). `extra` is already-serialized JSON members, each
// starting with a comma (`,"checkpoint":{...}`), inserted before the closing brace.
void append_line(std::string& out, const LineHead& head, const Event& event,
                 std::string_view extra = {});

// The bytes an audit checkpoint signs: its own sequence number, the hash of the line before it
// (its "prev"), its eventTime and node. A signature therefore seals every line before it.
std::string checkpoint_message(uint64_t seq, std::string_view prev_hex, std::string_view event_time,
                               std::string_view node);

}  // namespace pamproxy::audit
