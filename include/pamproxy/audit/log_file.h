#pragma once
// The audit writer's file layer: one open log file written at known offsets, synced with
// fdatasync, and rolled back with ftruncate to the last durable size after a failure, so that a
// retry never leaves a half-written line behind a good one.
//
// FaultHook lets tests make the next writes, syncs or file creations fail with a given errno
// (a real full disk is also tested, with RLIMIT_FSIZE). Production passes none.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace pamproxy::audit {

struct FaultHook {
  std::atomic<int> write_errno{0};   // pwrite writes half, then fails with this
  std::atomic<int> sync_errno{0};    // fdatasync fails with this
  std::atomic<int> create_errno{0};  // creating a new file fails with this
};

class LogFile {
 public:
  LogFile() = default;
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Opens an existing file for appending at its current end (`size` receives it).
  int open_existing(const std::string& path, uint64_t* size);
  // Creates a new file (O_EXCL, 0600) and syncs its directory entry. Returns 0 or an errno.
  int create(const std::string& dir, const std::string& name, FaultHook* hook);
  void close();
  bool is_open() const { return fd_ >= 0; }

  // Writes all of `bytes` at `offset`. Returns 0 or an errno (some bytes may have been written).
  int write_at(uint64_t offset, std::string_view bytes, FaultHook* hook);
  int sync(FaultHook* hook);
  int truncate(uint64_t size);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// fsync of a directory, so a created, renamed or removed entry is durable.
int sync_directory(const std::string& dir);

}  // namespace pamproxy::audit
