#pragma once
// The audit writer: one thread that owns the log files. It drains every producer's Ring in
// batches, serializes each event into a chained JSON line, appends, and commits with fdatasync in
// groups; then it tells each ring how far it is durable. It also rotates files by size and age,
// deletes expired files (writing an audit.retention event first), writes a signed checkpoint
// every checkpoint_interval_s even when idle, and seals each closed file with a checkpoint.
//
// Commit policy (bounded latency): one pwrite and one fdatasync per group. An event someone may
// wait for (is_awaited: a request's decision, the control plane's, the writer's own) is synced as
// soon as the rings run dry, so a lone one waits for one write + one fdatasync; under sustained
// load, when the rings never run dry, the writer syncs at least every commit_interval_ms. The
// data plane's other events (tunnels, denials, outcomes) get no sync of their own: they ride the
// next one, at most commit_interval_ms after the writer takes them, and while the writer is in a
// timed sleep they do not wake it. Each sync covers everything pending.
//
// Faults: when a write, fdatasync or file creation fails (full disk, read-only directory, I/O
// error), the file is cut back to its last durable size, the bytes stay in memory, the rings'
// fault flag is raised and one clear error line is logged; the writer retries with a bounded
// backoff (100 ms doubling up to 1 s) and logs audit.disk_recovered when it succeeds. It stops
// draining the rings once kPendingBytesMax is buffered, so producers see full rings and apply
// [audit] on_full. Nothing is ever dropped.
//
// It never parses traffic, never blocks a producer, and never holds a lock a producer takes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/audit/log_file.h"
#include "pamproxy/audit/ring.h"
#include "pamproxy/audit/signing_key.h"

namespace pamproxy::audit {

struct WriterOptions {
  std::string directory;
  std::string node;
  size_t ring_entries = 8192;
  // Live: may be changed while running with set_live().
  int64_t commit_interval_ms = 5;
  int64_t rotate_bytes = 256ll << 20;
  int64_t rotate_age_s = 86400;
  int64_t retention_days = 365;  // 0 = keep everything
  int64_t checkpoint_interval_s = 60;
  // Zero-filled, synced space kept ahead of the log's end so a commit's fdatasync finds its
  // blocks allocated and the file's size unchanged; 0 = off (the file grows at every commit).
  int64_t preallocate_bytes = 4 << 20;
  FaultHook* fault_hook = nullptr;  // tests only
};

struct LiveOptions {
  int64_t commit_interval_ms;
  int64_t rotate_bytes;
  int64_t rotate_age_s;
  int64_t retention_days;
  int64_t checkpoint_interval_s;
};

struct WriterStats {
  uint64_t lines = 0;    // lines written (events + the writer's own)
  uint64_t commits = 0;  // successful fdatasync calls
  uint64_t bytes = 0;    // bytes made durable
  uint64_t faults = 0;   // distinct fault episodes
  bool faulted = false;  // a fault is ongoing
  uint64_t last_durable_seq = 0;
  uint64_t checkpoints = 0;
  uint64_t rotations = 0;
  uint64_t retention_deletions = 0;
  uint64_t holds = 0;  // summed over rings
  uint64_t refusals = 0;
};

// What recovery found when the writer opened the directory.
struct RecoveryReport {
  bool fresh = true;            // no log existed
  bool clean_shutdown = false;  // the last line was a shutdown checkpoint
  std::string file;             // the file recovered
  uint64_t bytes_cut = 0;       // torn or unparseable tail bytes removed
  uint64_t lines_cut = 0;       // unparseable tail lines removed (a torn fragment counts as one)
  bool removed_empty_file = false;
  uint64_t resumed_after_seq = 0;
};

class Writer {
 public:
  static constexpr size_t kPendingBytesMax = 8 << 20;
  static constexpr size_t kBatchEventsMax = 4096;  // per ring per pass

  // Creates the directory (0700) if needed, recovers the last file (cuts a torn tail, resumes
  // the chain) and writes the recovery as an event. Does not start the thread.
  static absl::StatusOr<std::unique_ptr<Writer>> open(WriterOptions options, SigningKey key);
  ~Writer();  // stops if running

  // Before start(): one ring per producer thread. The writer owns it; the pointer stays valid
  // for the writer's life.
  Ring* add_producer();
  void start();
  // Drains every ring, writes a shutdown checkpoint, syncs and joins. Producers must have stopped.
  void stop();

  void set_live(const LiveOptions& live);
  WriterStats stats() const;
  const RecoveryReport& recovery() const { return recovery_; }
  const PublicKey& public_key() const { return key_.public_key(); }

 private:
  Writer(WriterOptions options, SigningKey key);
  absl::Status recover();
  void run();
  size_t drain();
  void note_pending();  // before appending a line: starts the pending group's clock
  void append_own(const Event& e, std::string_view extra);
  void append_checkpoint(std::string_view reason);
  bool flush();  // write pending bytes; false on a fault
  // Keeps zeroed space ahead of what flush() writes; on failure the file just grows.
  void make_space_ahead();
  // Cuts the file to the log's end (its zeroed space ahead) before it is closed.
  void cut_space_ahead();
  bool commit();  // flush + fdatasync + publish durability; false on a fault
  void enter_fault(const char* op, int err);
  void leave_fault();
  bool open_new_file();
  void maybe_rotate(int64_t now_s);
  void apply_retention(int64_t now_s);
  bool read_last_line(const std::string& path, uint64_t* seq, std::string* hash);
  bool rings_empty();
  // `timed`: events nobody waits for need not wake the writer before `deadline_ms`.
  void sleep_until(int64_t deadline_ms, bool wake_on_events, bool timed);
  int64_t now_unix_ns() const;

  WriterOptions options_;
  SigningKey key_;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<uint64_t> serialized_index_;  // per ring: consumed into pending_
  WriterWake wake_;
  std::atomic<uint32_t> fault_flag_{0};
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
  bool started_ = false;

  // Live options.
  std::atomic<int64_t> commit_interval_ms_;
  std::atomic<int64_t> rotate_bytes_;
  std::atomic<int64_t> rotate_age_s_;
  std::atomic<int64_t> retention_days_;
  std::atomic<int64_t> checkpoint_interval_s_;

  // Writer-thread state (and open()).
  LogFile file_;
  std::string file_name_;
  int64_t file_opened_s_ = 0;
  uint64_t durable_bytes_ = 0;    // file size known durable
  std::string pending_;           // lines not yet durable (written or not)
  size_t written_ = 0;            // prefix of pending_ already written at durable_bytes_
  uint64_t zeroed_end_ = 0;       // the file holds synced zeros up to here past the log's end
  bool preallocate_off_ = false;  // zero-filling failed in this file: it grows instead
  uint64_t pending_first_seq_ = 0;
  uint64_t next_seq_ = 1;
  std::string prev_hash_;          // hash of the last serialized line
  int64_t pending_since_ms_ = -1;  // when pending_ became non-empty
  bool awaited_pending_ = false;   // pending_ holds an event someone may wait for
  bool due_ = false;               // a timed sleep ended: sync what is pending when dry
  uint64_t drained_since_sleep_ = 0;
  int64_t next_checkpoint_ms_ = 0;
  int64_t next_retention_ms_ = 0;
  int fault_errno_ = 0;
  int64_t fault_since_ms_ = 0;
  int64_t retry_at_ms_ = 0;
  int64_t retry_backoff_ms_ = 0;
  bool rotate_pending_ = false;
  RecoveryReport recovery_;

  // Stats (read by other threads).
  std::atomic<uint64_t> lines_{0}, commits_{0}, bytes_{0}, faults_{0}, last_durable_seq_{0},
      checkpoints_{0}, rotations_{0}, retention_deletions_{0};
};

}  // namespace pamproxy::audit
