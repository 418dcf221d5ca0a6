// Reading the audit log back in order across files (see log_reader.h).

#include "pamproxy/audit/log_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_files.h"

namespace pamproxy::audit {
namespace {

constexpr size_t kReadBytes = 64 * 1024;

}  // namespace

LogReader::LogReader(std::string directory) : directory_(std::move(directory)) {}

absl::StatusOr<size_t> LogReader::read_current(const Fn& fn, size_t max_lines, bool* stop,
                                               bool* at_eof) {
  *at_eof = false;
  const std::string path = directory_ + "/" + file_;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {  // removed by retention: nothing more here
      *at_eof = true;
      return 0;
    }
    return absl::InternalError("cannot open " + path + ": " + std::strerror(errno));
  }
  size_t lines = 0;
  std::string buf(kReadBytes, '\0');
  partial_.clear();
  uint64_t pos = offset_;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::InternalError("cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) {
      *at_eof = true;
      break;
    }
    pos += static_cast<uint64_t>(n);
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    // A line never holds a NUL, so the first one is where the log ends for now: space the
    // writer zero-filled ahead, or a page read before the writer filled it (later pages may
    // already hold newer lines; they are read on a later poll).
    const size_t nul = chunk.find('\0');
    if (nul != std::string_view::npos) chunk = chunk.substr(0, nul);
    while (!chunk.empty()) {
      size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(chunk);
        if (partial_.size() > kLineBytesMax) {
          ::close(fd);
          return absl::DataLossError(path + ": a line after seq " + std::to_string(next_seq_ - 1) +
                                     " is longer than " + std::to_string(kLineBytesMax) +
                                     " bytes");
        }
        break;
      }
      std::string_view line = chunk.substr(0, nl);
      if (!partial_.empty()) {
        partial_.append(line);
        line = partial_;
      }
      const uint64_t line_bytes = line.size() + 1;
      std::string why;
      if (line.size() > kLineBytesMax || !parser_.parse(line, &parsed_, &event_, &why)) {
        ::close(fd);
        if (why.empty()) why = "longer than " + std::to_string(kLineBytesMax) + " bytes";
        return absl::DataLossError(path + ": the line after seq " +
                                   std::to_string(next_seq_ - 1) + " does not parse: " + why);
      }
      if (parsed_.seq >= next_seq_ && parsed_.seq > seq_limit_) {  // left for a later poll
        *stop = true;
        ::close(fd);
        return lines;
      }
      offset_ += line_bytes;
      chunk.remove_prefix(nl + 1);
      if (parsed_.seq < next_seq_) {  // before the resume point
        partial_.clear();
        continue;
      }
      next_seq_ = parsed_.seq + 1;
      ++lines;
      line_ = line;
      const bool more = fn(parsed_.seq, event_);
      line_ = {};
      partial_.clear();
      if (!more || lines >= max_lines) {
        *stop = true;
        ::close(fd);
        return lines;
      }
    }
    if (nul != std::string_view::npos) {
      *at_eof = true;
      break;
    }
  }
  ::close(fd);
  return lines;
}

absl::StatusOr<size_t> LogReader::poll(const Fn& fn, size_t max_lines) {
  auto files = list_log_files(directory_);
  if (!files.ok()) return files.status();
  size_t total = 0;
  // Pick the file to start from: the last one whose first line is at or before next_seq_.
  if (file_.empty()) {
    if (files->empty()) return 0;
    size_t pick = 0;
    for (size_t i = 0; i < files->size(); ++i) {
      LogFileName name;
      if (parse_log_file_name((*files)[i], &name) && name.first_seq <= next_seq_) pick = i;
    }
    file_ = (*files)[pick];
    offset_ = 0;
  }
  for (;;) {
    bool stop = false;
    bool at_eof = false;
    auto n = read_current(fn, max_lines - total, &stop, &at_eof);
    if (!n.ok()) return n.status();
    total += *n;
    if (stop || total >= max_lines) return total;
    // At the end of this file: move on only when a later file exists. The writer opens a new
    // file only after the old one is complete, so read the old one once more after seeing it.
    auto now = list_log_files(directory_);
    if (!now.ok()) return now.status();
    std::string next;
    for (const std::string& f : *now) {
      if (f > file_) {
        next = f;
        break;
      }
    }
    if (next.empty()) return total;
    auto tail = read_current(fn, max_lines - total, &stop, &at_eof);
    if (!tail.ok()) return tail.status();
    total += *tail;
    if (stop || total >= max_lines) return total;
    file_ = next;
    offset_ = 0;
  }
}

}  // namespace pamproxy::audit
