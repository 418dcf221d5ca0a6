// The shipper's cursor file (see ship_cursor.h).

#include "pamproxy/audit/ship_cursor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "pamproxy/audit/log_file.h"

namespace pamproxy::audit {
namespace {

constexpr std::string_view kPrefix = "next_seq ";
constexpr size_t kFileBytesMax = 64;

absl::Status io_error(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(
      absl::StrCat("cannot ", std::string(what), " ", path, ": ", std::strerror(err)));
}

std::string parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::StatusOr<uint64_t> load_ship_cursor(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 1;
    return io_error("open", path, errno);
  }
  char buf[kFileBytesMax + 1];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_error("read", path, err);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string_view text(buf, got);
  uint64_t seq = 0;
  bool ok = got <= kFileBytesMax && text.starts_with(kPrefix) && text.ends_with('\n');
  if (ok) {
    std::string_view digits = text.substr(kPrefix.size(), text.size() - kPrefix.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    ok = ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && seq >= 1;
  }
  if (!ok) return absl::DataLossError(path + ": not a cursor file (\"next_seq N\")");
  return seq;
}

absl::Status store_ship_cursor(const std::string& path, uint64_t next_seq) {
  const std::string tmp = path + ".tmp";
  const std::string text = absl::StrCat(std::string(kPrefix), next_seq, "\n");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("create", tmp, errno);
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return io_error("write", tmp, err);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return io_error("sync", tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename to", path, errno);
  if (int err = sync_directory(parent_directory(path))) return io_error("sync", path, err);
  return absl::OkStatus();
}

}  // namespace pamproxy::audit
