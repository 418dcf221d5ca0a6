// The writer's start-up recovery and its file maintenance: cutting a torn tail after a crash,
// resuming the chain, and deleting expired files (each deletion recorded first).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/line_parser.h"
#include "pamproxy/audit/log_files.h"
#include "pamproxy/audit/writer.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/base/log.h"

namespace pamproxy::audit {
namespace {

// Recovery looks at most this far back from the end of the last file for a good line: lines are
// at most kLineBytesMax, so a longer bad tail is not a torn write but damage to look at by hand.
constexpr uint64_t kTailBytes = 4 << 20;

bool read_range(int fd, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

// Within `tail`, finds the last line that parses; returns its [start, end) (end excludes the
// newline) or false. `good_end` receives the offset just after that line's newline.
bool last_good_line(std::string_view tail, bool tail_starts_file, LineParser& parser,
                    ParsedLine* parsed, size_t* start, size_t* end, uint64_t* lines_cut) {
  size_t limit = tail.rfind('\n');
  if (limit == std::string_view::npos) return false;
  for (;;) {
    size_t prev_nl = limit == 0 ? std::string_view::npos : tail.rfind('\n', limit - 1);
    size_t s = prev_nl == std::string_view::npos ? 0 : prev_nl + 1;
    if (prev_nl == std::string_view::npos && !tail_starts_file) return false;  // partial line
    std::string why;
    if (parser.parse(tail.substr(s, limit - s), parsed, &why)) {
      *start = s;
      *end = limit;
      return true;
    }
    ++*lines_cut;
    if (prev_nl == std::string_view::npos) return false;
    limit = prev_nl;
  }
}

// The log's end in a file `size` bytes long: just after its last byte that is not NUL. A line
// never holds a NUL, so trailing zeros are space made ready ahead of the writer, not log.
bool logical_end(int fd, uint64_t size, uint64_t* end) {
  constexpr uint64_t kBlock = 64 * 1024;
  std::string block;
  uint64_t at = size;
  while (at > 0) {
    uint64_t from = at > kBlock ? at - kBlock : 0;
    if (!read_range(fd, from, static_cast<size_t>(at - from), &block)) return false;
    size_t last = block.find_last_not_of('\0');
    if (last != std::string::npos) {
      *end = from + last + 1;
      return true;
    }
    at = from;
  }
  *end = 0;
  return true;
}

}  // namespace

absl::Status Writer::recover() {
  auto listed = list_log_files(options_.directory);
  if (!listed.ok()) return listed.status();
  std::vector<std::string> files = std::move(*listed);
  LineParser parser;
  ParsedLine parsed;
  while (!files.empty()) {
    std::string name = files.back();
    std::string path = options_.directory + "/" + name;
    uint64_t size = 0;
    if (int err = file_.open_existing(path, &size)) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot open audit file ", path, ": ", std::strerror(err)));
    }
    recovery_.fresh = false;
    recovery_.file = name;
    // The window for the torn-tail search ends at the log's end, before any zeros after it.
    uint64_t log_end = 0;
    uint64_t offset = 0;
    std::string tail;
    {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      bool ok = fd >= 0 && logical_end(fd, size, &log_end);
      offset = log_end > kTailBytes ? log_end - kTailBytes : 0;
      if (!ok || !read_range(fd, offset, static_cast<size_t>(log_end - offset), &tail)) {
        if (fd >= 0) ::close(fd);
        return absl::InternalError(absl::StrCat("cannot read audit file ", path));
      }
      ::close(fd);
    }
    size_t start = 0, end = 0;
    uint64_t lines_cut = 0;
    bool found =
        log_end > 0 && last_good_line(tail, offset == 0, parser, &parsed, &start, &end, &lines_cut);
    if (!found && offset > 0) {
      return absl::DataLossError(
          absl::StrCat("audit file ", path, " has no valid line in its last ", kTailBytes,
                       " bytes: not a torn write; move the file aside after examining it"));
    }
    uint64_t good_size = found ? offset + end + 1 : 0;
    if (good_size < size) {
      // A torn fragment after the last newline counts as one cut line too.
      if (tail.size() > 0 && tail.back() != '\n') ++lines_cut;
      // Torn bytes are those written; the zeros after them were never log.
      const uint64_t torn = log_end > good_size ? log_end - good_size : 0;
      recovery_.bytes_cut += torn;
      recovery_.lines_cut += lines_cut;
      if (int err = file_.truncate(good_size); err != 0 || file_.sync(nullptr) != 0) {
        return absl::InternalError(absl::StrCat("cannot cut the torn tail of ", path));
      }
      // Zeros alone after the last line are the writer's space ahead, not a torn write.
      if (torn > 0 || lines_cut > 0) {
        log::warn("audit.torn_tail_cut").kv("file", name).kv("bytes", torn).kv("lines", lines_cut);
      }
    }
    if (!found) {
      // Nothing usable (a file created just before a crash): remove it, look at the one before.
      file_.close();
      ::unlink(path.c_str());
      sync_directory(options_.directory);
      recovery_.removed_empty_file = true;
      files.pop_back();
      continue;
    }
    std::string_view line = std::string_view(tail).substr(start, end - start);
    prev_hash_.resize(kHashHexBytes);
    sha256_hex(line, prev_hash_.data());
    next_seq_ = parsed.seq + 1;
    durable_bytes_ = good_size;
    file_name_ = name;
    LogFileName fn;
    parse_log_file_name(name, &fn);
    file_opened_s_ = fn.opened_unix_s;
    recovery_.resumed_after_seq = parsed.seq;
    recovery_.clean_shutdown = recovery_.bytes_cut == 0 && !recovery_.removed_empty_file &&
                               parsed.type == EventType::kCheckpoint &&
                               parsed.checkpoint_reason == "shutdown";
    break;
  }

  if (files.empty()) {
    // Nothing to resume: the genesis line comes next, in a new file.
    prev_hash_.assign(kGenesisHash);
    next_seq_ = 1;
    if (!open_new_file()) {
      return absl::PermissionDeniedError(absl::StrCat("cannot create an audit file in ",
                                                      options_.directory, ": ",
                                                      std::strerror(fault_errno_)));
    }
    if (!recovery_.removed_empty_file) return absl::OkStatus();
  } else if (recovery_.clean_shutdown) {
    return absl::OkStatus();
  }

  // Record the recovery itself, durably, before anything else is written.
  Event e;
  e.type = EventType::kAuditRecovery;
  e.time_unix_ns = now_unix_ns();
  std::string detail =
      absl::StrCat("audit log recovered after an unclean stop: ", recovery_.bytes_cut,
                   " torn byte(s) in ", recovery_.lines_cut, " line(s) cut",
                   recovery_.removed_empty_file ? ", an empty file removed" : "",
                   "; the chain resumes after seq ", recovery_.resumed_after_seq);
  e.detail.assign(detail);
  std::string extra = ",\"recovery\":{\"file\":";
  JsonWriter::append_escaped(extra, recovery_.file);
  absl::StrAppend(&extra, ",\"bytesCut\":", recovery_.bytes_cut,
                  ",\"linesCut\":", recovery_.lines_cut,
                  ",\"removedEmptyFile\":", recovery_.removed_empty_file ? "true" : "false",
                  ",\"resumedAfterSeq\":", recovery_.resumed_after_seq, "}");
  append_own(e, extra);
  if (!commit()) {
    return absl::InternalError(absl::StrCat("cannot write to the audit log in ", options_.directory,
                                            ": ", std::strerror(fault_errno_)));
  }
  log::warn("audit.recovered")
      .kv("file", recovery_.file)
      .kv("bytes_cut", recovery_.bytes_cut)
      .kv("lines_cut", recovery_.lines_cut)
      .kv("resumed_after_seq", recovery_.resumed_after_seq);
  return absl::OkStatus();
}

bool Writer::read_last_line(const std::string& path, uint64_t* seq, std::string* hash) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0;
  uint64_t size = ok ? static_cast<uint64_t>(st.st_size) : 0;
  uint64_t want = std::min<uint64_t>(size, 2 * kLineBytesMax + 2);
  std::string tail;
  ok = ok && size > 0 && read_range(fd, size - want, static_cast<size_t>(want), &tail);
  ::close(fd);
  if (!ok || tail.back() != '\n') return false;
  size_t prev_nl = tail.size() >= 2 ? tail.rfind('\n', tail.size() - 2) : std::string::npos;
  if (prev_nl == std::string::npos && want < size) return false;
  size_t start = prev_nl == std::string::npos ? 0 : prev_nl + 1;
  std::string_view line = std::string_view(tail).substr(start, tail.size() - 1 - start);
  LineParser parser;
  ParsedLine parsed;
  std::string why;
  if (!parser.parse(line, &parsed, &why)) return false;
  *seq = parsed.seq;
  hash->resize(kHashHexBytes);
  sha256_hex(line, hash->data());
  return true;
}

void Writer::apply_retention(int64_t now_s) {
  int64_t days = retention_days_.load();
  if (days <= 0) return;
  auto files = list_log_files(options_.directory);
  if (!files.ok()) return;
  int64_t cutoff_s = now_s - days * 86400;
  // Only a prefix of the log is ever deleted (oldest first), never the current file, so the
  // remaining files stay one unbroken chain.
  for (const std::string& name : *files) {
    if (name == file_name_) break;
    std::string path = options_.directory + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || st.st_mtime >= cutoff_s) break;
    uint64_t through = 0;
    std::string hash;
    if (!read_last_line(path, &through, &hash)) {
      log::error("audit.retention_skipped")
          .kv("file", name)
          .kv("reason", "its last line cannot be read; not deleting what may be evidence");
      break;
    }
    LogFileName fn;
    parse_log_file_name(name, &fn);
    Event e;
    e.type = EventType::kRetentionDeletion;
    e.time_unix_ns = now_unix_ns();
    e.detail.assign(absl::StrCat("deleted ", name, ": older than retention_days=", days));
    std::string extra = ",\"retention\":{\"file\":";
    JsonWriter::append_escaped(extra, name);
    absl::StrAppend(&extra, ",\"firstSeq\":", fn.first_seq, ",\"throughSeq\":", through,
                    ",\"lastHash\":\"", hash, "\"}");
    // The event is durable before the file goes: a crash in between leaves an extra file, never
    // an unexplained gap.
    append_own(e, extra);
    if (!commit()) return;
    if (::unlink(path.c_str()) != 0) {
      log::error("audit.retention_failed").kv("file", name).kv("error", std::strerror(errno));
      return;
    }
    sync_directory(options_.directory);
    retention_deletions_.fetch_add(1, std::memory_order_relaxed);
    log::info("audit.retention_deleted").kv("file", name).kv("through_seq", through);
  }
}

}  // namespace pamproxy::audit
