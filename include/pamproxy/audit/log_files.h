#pragma once
// Names of the audit log files and how to list them. A file is named after the sequence number
// of its first line and the UTC time it was opened:
//
//   audit-00000000000000000001-20261123T213705Z.jsonl
//
// so sorting the names sorts the files in log order; other names in the directory are ignored.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pamproxy::audit {

std::string log_file_name(uint64_t first_seq, int64_t opened_unix_s);

struct LogFileName {
  uint64_t first_seq = 0;
  int64_t opened_unix_s = 0;
};
// False when `name` is not an audit log file name.
bool parse_log_file_name(std::string_view name, LogFileName* out);

// The audit files of `dir` in log order (names only).
absl::StatusOr<std::vector<std::string>> list_log_files(const std::string& dir);

}  // namespace pamproxy::audit
