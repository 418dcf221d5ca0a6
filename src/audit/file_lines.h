#pragma once
// Reading a file line by line through a bounded buffer: what verifying a log directory and
// verifying a collector's file share. Internal.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pamproxy::audit {

// Reads `path` to its end through a 1 MiB buffer and hands each line, without its newline, to
// `fn(line, complete)`; `complete` is false only for a last line that has no newline. Bounded: a
// line longer than `line_bytes_max` is handed as soon as line_bytes_max + 1 of its bytes have
// come, as those bytes, and the rest of it up to its newline is skipped. Stops when `fn` returns
// false. With `stop_at_nul`, the file ends at its first NUL byte (a line never holds one: what
// follows is space zero-filled ahead of a live log's writer). Returns "" or why the file could
// not be read ("cannot open: ...", "read failed: ...").
std::string read_lines(const std::string& path, size_t line_bytes_max,
                       const std::function<bool(std::string_view line, bool complete)>& fn,
                       bool stop_at_nul = false);

}  // namespace pamproxy::audit
