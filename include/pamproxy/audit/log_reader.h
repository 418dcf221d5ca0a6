#pragma once
// Reads the audit log back in order, event by event, across its files: for `pamctl audit
// search` (a whole directory, once) and for the session indexer (incrementally: poll() again
// later for the lines written since, and resume after a restart from a sequence number).
//
// Only whole lines (ending in '\n') are read; a torn tail stays unread until it is completed or
// cut by the writer's recovery. A line never holds a NUL: the first NUL is the log's end for
// now (zero-filled space ahead of the writer, or a page not filled yet), like a torn tail. A line
// that does not parse is an error naming the file and the sequence number before it: the chain
// itself is `pamctl audit verify`'s job, this reader only trusts the format. Files deleted by
// retention while reading are skipped.
//
// Bounded: lines longer than kLineBytesMax are errors; reads go through a 64 KiB buffer.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "pamproxy/audit/event.h"
#include "pamproxy/audit/line_parser.h"

namespace pamproxy::audit {

class LogReader {
 public:
  explicit LogReader(std::string directory);

  // Read from the line with sequence number `seq` on (earlier lines are skipped).
  void resume_at(uint64_t seq) { next_seq_ = seq; }

  // Calls `fn(seq, event)` for each whole line not read yet, in log order, at most `max_lines`
  // lines; `fn` returns false to stop early (that line counts as read). Returns the number of
  // lines handed to `fn`. A missing directory is NotFound.
  using Fn = std::function<bool(uint64_t seq, const Event& event)>;
  absl::StatusOr<size_t> poll(const Fn& fn, size_t max_lines = SIZE_MAX);

  // The sequence number the next line will have (1 before anything was read).
  uint64_t next_seq() const { return next_seq_; }

  // Lines after `seq` stay unread (poll() stops before them) until the limit is raised: the
  // shipper reads only what the writer has made durable.
  void set_seq_limit(uint64_t seq) { seq_limit_ = seq; }

  // The bytes of the line being handed to `fn` (without its newline); valid only inside `fn`.
  std::string_view line() const { return line_; }

 private:
  // Reads whole lines of file_ from offset_; returns lines read or an error. `*at_eof` is set
  // when the file holds nothing more right now.
  absl::StatusOr<size_t> read_current(const Fn& fn, size_t max_lines, bool* stop, bool* at_eof);

  std::string directory_;
  std::string file_;     // the file being read ("" = choose from the listing)
  uint64_t offset_ = 0;  // byte offset of the next unread line in file_
  uint64_t next_seq_ = 1;
  uint64_t seq_limit_ = UINT64_MAX;
  std::string_view line_;
  LineParser parser_;
  ParsedLine parsed_;
  Event event_;
  std::string partial_;
};

}  // namespace pamproxy::audit
