#pragma once
// The audit shipper's durable cursor: the sequence number of the first line the collector has
// not confirmed yet. It is written (temporary file, fsync, rename, fsync of the directory) only
// after the collector has the lines before it, so after a crash the shipper resends from here:
// a line may reach the collector twice, never not at all.
//
// The file is one line, "next_seq N\n"; anything else is an error naming the file (the shipper
// then refuses to guess and starts from the log's first line, which only duplicates).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pamproxy::audit {

// The saved next sequence number; 1 when the file does not exist yet.
absl::StatusOr<uint64_t> load_ship_cursor(const std::string& path);

// Replaces the file atomically and durably with `next_seq`.
absl::Status store_ship_cursor(const std::string& path, uint64_t next_seq);

}  // namespace pamproxy::audit
