// Plain POSIX file I/O for the audit writer; every failure is returned as an errno.

#include "pamproxy/audit/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace pamproxy::audit {

LogFile::~LogFile() {
  close();
}

void LogFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int LogFile::open_existing(const std::string& path, uint64_t* size) {
  close();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  fd_ = fd;
  path_ = path;
  *size = static_cast<uint64_t>(st.st_size);
  return 0;
}

int LogFile::create(const std::string& dir, const std::string& name, FaultHook* hook) {
  if (hook != nullptr) {
    if (int e = hook->create_errno.load(std::memory_order_relaxed)) return e;
  }
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  if (int e = sync_directory(dir)) {
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  }
  close();
  fd_ = fd;
  path_ = path;
  return 0;
}

int LogFile::write_at(uint64_t offset, std::string_view bytes, FaultHook* hook) {
  int injected = hook != nullptr ? hook->write_errno.load(std::memory_order_relaxed) : 0;
  if (injected != 0) bytes = bytes.substr(0, bytes.size() / 2);  // a partial write, then fail
  while (!bytes.empty()) {
    ssize_t w = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    bytes.remove_prefix(static_cast<size_t>(w));
    offset += static_cast<uint64_t>(w);
  }
  return injected;
}

int LogFile::sync(FaultHook* hook) {
  if (hook != nullptr) {
    if (int e = hook->sync_errno.load(std::memory_order_relaxed)) return e;
  }
  return ::fdatasync(fd_) == 0 ? 0 : errno;
}

int LogFile::truncate(uint64_t size) {
  return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? 0 : errno;
}

int sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int r = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return r;
}

}  // namespace pamproxy::audit
