// Reading a file line by line (see file_lines.h).

#include "src/audit/file_lines.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pamproxy::audit {

std::string read_lines(const std::string& path, size_t line_bytes_max,
                       const std::function<bool(std::string_view line, bool complete)>& fn,
                       bool stop_at_nul) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::StrCat("cannot open: ", std::strerror(errno));
  std::string error;
  std::string pending;
  bool skipping = false;  // the rest of a line already handed as too long
  std::string buf(1 << 20, '\0');
  bool ok = true;
  while (ok) {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      error = absl::StrCat("read failed: ", std::strerror(errno));
      break;
    }
    if (r == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(r));
    const size_t nul = stop_at_nul ? chunk.find('\0') : std::string_view::npos;
    if (nul != std::string_view::npos) chunk = chunk.substr(0, nul);
    while (ok && !chunk.empty()) {
      const size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        if (!skipping) pending.append(chunk);
        if (pending.size() > line_bytes_max) {
          pending.resize(line_bytes_max + 1);
          ok = fn(pending, true);
          pending.clear();
          skipping = true;
        }
        break;
      }
      if (skipping) {
        skipping = false;
      } else if (pending.empty()) {
        ok = fn(chunk.substr(0, nl), true);
      } else {
        pending.append(chunk.substr(0, nl));
        ok = fn(pending, true);
        pending.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
    if (nul != std::string_view::npos) break;
  }
  ::close(fd);
  if (ok && error.empty() && !pending.empty()) fn(pending, false);
  return error;
}

}  // namespace pamproxy::audit
