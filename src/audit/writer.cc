// The audit writer thread: drain, serialize, write, group-commit, publish durability; rotation,
// retention, checkpoints and fault handling around that. See writer.h for the policy.

#include "pamproxy/audit/writer.h"

#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/audit/line.h"
#include "pamproxy/audit/log_files.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/thread_name.h"

namespace pamproxy::audit {
namespace {

int64_t mono_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

constexpr int64_t kRetryBackoffMinMs = 100;
constexpr int64_t kRetryBackoffMaxMs = 1000;
constexpr int64_t kRetentionEveryMs = 3600 * 1000;
// How long stop() keeps retrying a failing disk before it gives up (and says so).
constexpr int64_t kStopFaultGraceMs = 10000;

}  // namespace

Writer::Writer(WriterOptions options, SigningKey key)
    : options_(std::move(options)),
      key_(std::move(key)),
      commit_interval_ms_(options_.commit_interval_ms),
      rotate_bytes_(options_.rotate_bytes),
      rotate_age_s_(options_.rotate_age_s),
      retention_days_(options_.retention_days),
      checkpoint_interval_s_(options_.checkpoint_interval_s) {
  prev_hash_.assign(kGenesisHash);
  pending_.reserve(kPendingBytesMax + (64 << 10));
}

Writer::~Writer() {
  if (started_) stop();
  cut_space_ahead();
}

int64_t Writer::now_unix_ns() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::open(WriterOptions options, SigningKey key) {
  // mkdir -p, 0700 for what we create.
  const std::string& dir = options.directory;
  if (dir.empty()) return absl::InvalidArgumentError("audit directory is empty");
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create audit directory ", part, ": ", std::strerror(errno)));
    }
  }
  std::unique_ptr<Writer> w(new Writer(std::move(options), std::move(key)));
  absl::Status st = w->recover();
  if (!st.ok()) return st;
  return w;
}

Ring* Writer::add_producer() {
  PAMPROXY_CHECK(!started_);
  rings_.push_back(std::make_unique<Ring>(options_.ring_entries, &wake_, &fault_flag_));
  serialized_index_.push_back(0);
  return rings_.back().get();
}

void Writer::start() {
  PAMPROXY_CHECK(!started_);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  name_thread(thread_, "pamproxy-audit");
}

void Writer::stop() {
  if (!started_) return;
  stop_requested_.store(true, std::memory_order_seq_cst);
  wake_.wake();
  thread_.join();
  started_ = false;
}

void Writer::set_live(const LiveOptions& live) {
  commit_interval_ms_.store(live.commit_interval_ms, std::memory_order_relaxed);
  rotate_bytes_.store(live.rotate_bytes, std::memory_order_relaxed);
  rotate_age_s_.store(live.rotate_age_s, std::memory_order_relaxed);
  retention_days_.store(live.retention_days, std::memory_order_relaxed);
  checkpoint_interval_s_.store(live.checkpoint_interval_s, std::memory_order_relaxed);
  wake_.wake();  // a shorter checkpoint interval takes effect now
}

WriterStats Writer::stats() const {
  WriterStats s;
  s.lines = lines_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.faults = faults_.load(std::memory_order_relaxed);
  s.faulted = fault_flag_.load(std::memory_order_relaxed) != 0;
  s.last_durable_seq = last_durable_seq_.load(std::memory_order_relaxed);
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.rotations = rotations_.load(std::memory_order_relaxed);
  s.retention_deletions = retention_deletions_.load(std::memory_order_relaxed);
  for (const auto& r : rings_) {
    s.holds += r->holds();
    s.refusals += r->refusals();
  }
  return s;
}

// ------------------------------------------------------------------ serialization

void Writer::note_pending() {
  if (!pending_.empty()) return;
  pending_first_seq_ = next_seq_;
  pending_since_ms_ = mono_ms();
}

void Writer::append_own(const Event& e, std::string_view extra) {
  note_pending();
  awaited_pending_ = true;
  size_t start = pending_.size();
  append_line(pending_, LineHead{next_seq_, prev_hash_, options_.node}, e, extra);
  sha256_hex(std::string_view(pending_).substr(start), prev_hash_.data());
  pending_.push_back('\n');
  ++next_seq_;
  lines_.fetch_add(1, std::memory_order_relaxed);
}

void Writer::append_checkpoint(std::string_view reason) {
  Event e;
  e.type = EventType::kCheckpoint;
  e.time_unix_ns = now_unix_ns();
  char time_buf[32];
  std::string_view event_time(time_buf, format_event_time(e.time_unix_ns, time_buf));
  std::string sig =
      key_.sign_hex(checkpoint_message(next_seq_, prev_hash_, event_time, options_.node));
  std::string extra = ",\"checkpoint\":{\"reason\":\"";
  extra.append(reason);
  extra += "\",\"key\":\"" + key_.public_key().key_id() + "\",\"sig\":\"" + sig + "\"}";
  append_own(e, extra);
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
}

size_t Writer::drain() {
  if (pending_.size() >= kPendingBytesMax) return 0;  // bounded memory while the disk is slow
  size_t total = 0;
  for (size_t i = 0; i < rings_.size(); ++i) {
    Ring& ring = *rings_[i];
    size_t n = std::min(ring.available(), kBatchEventsMax);
    if (n == 0) continue;
    for (size_t k = 0; k < n; ++k) {
      note_pending();
      const Event& e = ring.at(k);
      if (is_awaited(e.type)) awaited_pending_ = true;
      size_t start = pending_.size();
      append_line(pending_, LineHead{next_seq_, prev_hash_, options_.node}, e);
      sha256_hex(std::string_view(pending_).substr(start), prev_hash_.data());
      pending_.push_back('\n');
      ++next_seq_;
    }
    ring.release(n);
    serialized_index_[i] = ring.consumed();
    ring.signal_space();  // a holding producer may go on
    lines_.fetch_add(n, std::memory_order_relaxed);
    total += n;
  }
  return total;
}

bool Writer::rings_empty() {
  for (auto& r : rings_) {
    if (r->available() != 0) return false;
  }
  return true;
}

// ------------------------------------------------------------------ commit and faults

bool Writer::flush() {
  if (written_ == pending_.size()) return true;
  if (!file_.is_open() && !open_new_file()) return false;
  make_space_ahead();
  int err = file_.write_at(durable_bytes_ + written_, std::string_view(pending_).substr(written_),
                           options_.fault_hook);
  if (err != 0) {
    // Cut any partial line so the retry starts from the last durable byte.
    file_.truncate(durable_bytes_);
    zeroed_end_ = 0;
    written_ = 0;
    enter_fault("write", err);
    return false;
  }
  written_ = pending_.size();
  return true;
}

bool Writer::commit() {
  if (pending_.empty()) return true;
  if (!flush()) return false;
  int err = file_.sync(options_.fault_hook);
  if (err != 0) {
    // After a failed fdatasync the page cache may have dropped the data: write it all again.
    file_.truncate(durable_bytes_);
    zeroed_end_ = 0;
    written_ = 0;
    enter_fault("fdatasync", err);
    return false;
  }
  durable_bytes_ += pending_.size();
  bytes_.fetch_add(pending_.size(), std::memory_order_relaxed);
  commits_.fetch_add(1, std::memory_order_relaxed);
  last_durable_seq_.store(next_seq_ - 1, std::memory_order_relaxed);
  pending_.clear();
  written_ = 0;
  pending_since_ms_ = -1;
  awaited_pending_ = false;
  due_ = false;
  // Healthy again before anyone hears of durability: a producer that sees its event durable
  // must not still see the fault flag.
  if (fault_errno_ != 0) leave_fault();
  for (size_t i = 0; i < rings_.size(); ++i) rings_[i]->publish_durable(serialized_index_[i]);
  return true;
}

void Writer::make_space_ahead() {
  const int64_t chunk = options_.preallocate_bytes;
  if (chunk <= 0 || preallocate_off_) return;
  const uint64_t end = durable_bytes_ + pending_.size();
  if (zeroed_end_ >= end + static_cast<uint64_t>(chunk / 2)) return;
  // One chunk ahead, never more than a chunk past the size that rotates the file.
  const uint64_t from = std::max(zeroed_end_, durable_bytes_ + written_);
  const uint64_t to =
      std::min(end, static_cast<uint64_t>(rotate_bytes_.load())) + static_cast<uint64_t>(chunk);
  if (to <= from || to <= end) return;
  static const std::string zeros(1 << 20, '\0');
  int err = 0;
  for (uint64_t at = from; at < to && err == 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), to - at));
    err = file_.write_at(at, std::string_view(zeros).substr(0, n), options_.fault_hook);
    at += n;
  }
  // One sync pays for the new blocks and the new size; commits then sync only data.
  if (err == 0) err = file_.sync(options_.fault_hook);
  if (err == 0) {
    zeroed_end_ = to;
    return;
  }
  // Not fatal: this file grows at each commit instead, as durable as before.
  file_.truncate(durable_bytes_ + written_);
  zeroed_end_ = 0;
  preallocate_off_ = true;
  log::warn("audit.preallocate_failed")
      .kv("file", file_.path())
      .kv("error", std::strerror(err))
      .kv("action", "appending to the growing file until the next one");
}

void Writer::cut_space_ahead() {
  if (!file_.is_open() || zeroed_end_ <= durable_bytes_) return;
  // A closed file ends at its last line, so it reads as any other file at rest.
  int err = file_.truncate(durable_bytes_);
  if (err == 0) err = file_.sync(nullptr);
  if (err != 0) {
    log::error("audit.preallocate_cut_failed")
        .kv("file", file_.path())
        .kv("error", std::strerror(err))
        .kv("detail", "the file keeps zeros after its last line; recovery cuts them");
  }
  zeroed_end_ = 0;
}

void Writer::enter_fault(const char* op, int err) {
  int64_t now = mono_ms();
  if (fault_errno_ == 0) {
    fault_since_ms_ = now;
    retry_backoff_ms_ = kRetryBackoffMinMs;
    faults_.fetch_add(1, std::memory_order_relaxed);
    fault_flag_.store(1, std::memory_order_release);
    log::error("audit.disk_fault")
        .kv("op", op)
        .kv("file", file_.is_open() ? file_.path() : options_.directory)
        .kv("error", std::strerror(err))
        .kv("pending_bytes", static_cast<uint64_t>(pending_.size()))
        .kv("action",
            "holding audit events in memory and retrying; requests wait or are "
            "refused per [audit] on_full until the disk recovers");
  } else {
    retry_backoff_ms_ = std::min(retry_backoff_ms_ * 2, kRetryBackoffMaxMs);
  }
  fault_errno_ = err;
  retry_at_ms_ = now + retry_backoff_ms_;
}

void Writer::leave_fault() {
  log::info("audit.disk_recovered")
      .kv("after_ms", mono_ms() - fault_since_ms_)
      .kv("last_error", std::strerror(fault_errno_))
      .kv("file", file_.path());
  fault_errno_ = 0;
  fault_flag_.store(0, std::memory_order_release);
}

// ------------------------------------------------------------------ files

bool Writer::open_new_file() {
  uint64_t first = pending_.empty() ? next_seq_ : pending_first_seq_;
  int64_t now_s = now_unix_ns() / 1000000000;
  std::string name = log_file_name(first, now_s);
  int err = file_.create(options_.directory, name, options_.fault_hook);
  if (err != 0) {
    enter_fault("create", err);
    return false;
  }
  file_name_ = name;
  file_opened_s_ = now_s;
  durable_bytes_ = 0;
  written_ = 0;
  zeroed_end_ = 0;
  preallocate_off_ = false;
  rotate_pending_ = false;
  return true;
}

void Writer::maybe_rotate(int64_t now_s) {
  if (!file_.is_open() || durable_bytes_ == 0) return;
  bool too_big = static_cast<int64_t>(durable_bytes_) >= rotate_bytes_.load();
  bool too_old = now_s - file_opened_s_ >= rotate_age_s_.load();
  if (!too_big && !too_old) return;
  // Seal the file with a signed checkpoint, then start the next one. If the new file cannot be
  // created, the writer is in a fault and flush() retries the creation.
  append_checkpoint("rotate");
  if (!commit()) return;
  cut_space_ahead();
  file_.close();
  rotations_.fetch_add(1, std::memory_order_relaxed);
  rotate_pending_ = true;
  if (open_new_file()) apply_retention(now_s);
}

// ------------------------------------------------------------------ the loop

void Writer::sleep_until(int64_t deadline_ms, bool wake_on_events, bool timed) {
  int64_t wait_ms = deadline_ms - mono_ms();
  if (wait_ms <= 0) return;
  timespec ts{static_cast<time_t>(wait_ms / 1000), static_cast<long>((wait_ms % 1000) * 1000000)};
  if (!wake_on_events) {
    // During a fault new events cannot be written anyway: wait for the retry time (or stop()).
    uint32_t word = wake_.futex_word.load(std::memory_order_acquire);
    if (stop_requested_.load(std::memory_order_seq_cst)) return;
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_.futex_word), FUTEX_WAIT_PRIVATE, word,
            &ts, nullptr, 0);
    return;
  }
  // Announce the sleep, then look at the rings once more: a producer publishes its event, then
  // reads `sleeping` (both with seq_cst fences), so either we see its event or it sees us asleep
  // and wakes us. The futex word read before the check closes the remaining window.
  wake_.sleeping.store(timed ? WriterWake::kSleepingTimed : WriterWake::kSleepingUntilWoken,
                       std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint32_t word = wake_.futex_word.load(std::memory_order_acquire);
  if (rings_empty() && !stop_requested_.load(std::memory_order_seq_cst)) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_.futex_word), FUTEX_WAIT_PRIVATE, word,
            &ts, nullptr, 0);
  }
  wake_.sleeping.store(WriterWake::kAwake, std::memory_order_relaxed);
}

void Writer::run() {
  int64_t now = mono_ms();
  next_checkpoint_ms_ = now + checkpoint_interval_s_.load() * 1000;
  next_retention_ms_ = now;
  int64_t stop_seen_ms = -1;
  for (;;) {
    now = mono_ms();
    bool stopping = stop_requested_.load(std::memory_order_seq_cst);
    if (stopping && stop_seen_ms < 0) stop_seen_ms = now;
    bool faulted = fault_errno_ != 0;
    size_t drained = 0;

    if (!faulted || now >= retry_at_ms_) {
      if (!file_.is_open() && open_new_file() && fault_errno_ != 0 && pending_.empty()) {
        leave_fault();  // the file that could not be created now exists
      }
      drained = drain();
      drained_since_sleep_ += drained;
      if (now >= next_checkpoint_ms_) {
        append_checkpoint("interval");
        next_checkpoint_ms_ = now + checkpoint_interval_s_.load() * 1000;
      }
      if (!pending_.empty()) {
        // Group commit: one write and one sync for everything pending, when the rings ran dry
        // (nobody to batch with) and someone waits (an awaited event, a timed sleep's end, a
        // retry, shutdown); or when the oldest pending line has waited commit_interval_ms; or
        // when the buffer is full. Events nobody waits for never cause a sync of their own.
        bool dry = drained == 0 || rings_empty();
        bool wanted = awaited_pending_ || due_ || fault_errno_ != 0 || stopping;
        bool overdue = mono_ms() - pending_since_ms_ >= commit_interval_ms_.load();
        if ((wanted && dry) || overdue || pending_.size() >= kPendingBytesMax) commit();
      }
      if (fault_errno_ == 0 && pending_.empty()) {
        int64_t now_s = now_unix_ns() / 1000000000;
        maybe_rotate(now_s);
        if (now >= next_retention_ms_) {
          apply_retention(now_s);
          next_retention_ms_ = now + kRetentionEveryMs;
        }
      }
    }

    if (stopping && rings_empty()) {
      if (fault_errno_ == 0 && pending_.empty()) {
        append_checkpoint("shutdown");
        if (commit()) break;
      }
      if (now - stop_seen_ms >= kStopFaultGraceMs) {
        log::error("audit.shutdown_unwritten")
            .kv("pending_bytes", static_cast<uint64_t>(pending_.size()))
            .kv("first_seq", pending_first_seq_)
            .kv("last_seq", next_seq_ - 1)
            .kv("error", std::strerror(fault_errno_))
            .kv("detail", "the disk did not recover before shutdown; these events are lost");
        break;
      }
    }

    if (drained == 0 || fault_errno_ != 0) {
      // A timed sleep ends within commit_interval_ms, so events nobody waits for need not wake
      // it: it is taken while lines are pending or events came since the last sleep (requests
      // are arriving); an idle writer sleeps until woken, or until its next checkpoint.
      int64_t deadline = next_checkpoint_ms_;
      bool timed = false;
      if (fault_errno_ != 0) {
        deadline = std::min(deadline, retry_at_ms_);
      } else if (!pending_.empty()) {
        deadline = std::min(deadline, pending_since_ms_ + commit_interval_ms_.load());
        timed = true;
      } else if (drained_since_sleep_ > 0) {
        deadline = std::min(deadline, now + commit_interval_ms_.load());
        timed = true;
      }
      if (stopping) deadline = std::min(deadline, now + 10);
      drained_since_sleep_ = 0;
      sleep_until(deadline, fault_errno_ == 0, timed);
      // Whatever a timed sleep let gather is synced at once (it may be waiting since the sleep
      // began).
      due_ = timed;
    }
  }
  cut_space_ahead();
}

}  // namespace pamproxy::audit
