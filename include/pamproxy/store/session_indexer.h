#pragma once
// The session indexer: a control-plane thread that reads the audit log as it grows (never the
// rings: the log is the record, so sessions can always be rebuilt from it), feeds the session
// aggregator, and keeps the store's session rows current: closed sessions once, open ones while
// they change. After a restart it resumes from the first event of the oldest session that was
// still open, so nothing is counted twice (rows are upserted by id) and nothing is missed.
//
// It also keeps each token's last use (tokens.last_used_at) without a store write per request:
// a pass keeps the latest request.forwarded time per token id it reads and saves them with the
// pass's session rows, one transaction per pass. Only a forwarded request counts: a denial may
// carry the id of a token whose secret the client never proved it holds.
//
// Rewriting a session's row costs in proportion to its report (every command, as JSON and as
// text), so a large session that keeps growing is not rewritten every pass: once it lists more
// than kFreshRequestsMax requests, its row is saved at most every kBusySaveIntervalS while
// requests keep arriving, and in the first pass that brings it nothing new (so a session that
// pauses is current one poll later), and at once when it closes. A small session's row is
// current after every pass. Without this, a client that keeps one session busy costs a whole
// report render and store write per pass, however few requests that pass read.
//
// It never blocks a producer or the writer; a pass reads at most kLinesPerPass lines, so a long
// backlog is caught up over several passes. A log it cannot read is logged once per distinct
// error and retried on the next pass.
//
// Bounds: the rows held back are one per open session (forgotten when it closes). The token
// uses held between saves are one per token that signed a forwarded request
// since the last successful save; only a token that existed can get a request forwarded, so
// however long saves fail, they never outnumber the tokens.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "pamproxy/audit/log_reader.h"
#include "pamproxy/audit/session.h"
#include "pamproxy/store/store.h"

namespace pamproxy::store {

struct SessionIndexerOptions {
  std::string audit_directory;
  // This node's name ([audit] node_name): its sessions are saved as its pieces, which join the
  // sessions other nodes on the same store saw of the same user, record and client address
  // (Store::save_sessions). "" saves them as they are.
  std::string node;
  int64_t idle_timeout_s = 900;
  int64_t poll_interval_ms = 500;
  std::function<int64_t()> now_unix_ns;  // default: the wall clock
};

class SessionIndexer {
 public:
  static constexpr size_t kLinesPerPass = 50000;
  static constexpr uint64_t kFreshRequestsMax = 256;
  static constexpr int64_t kBusySaveIntervalS = 10;

  SessionIndexer(Store& store, SessionIndexerOptions options);
  ~SessionIndexer();  // stops

  // One pass: read what is new, close idle sessions, save. Returns lines read. For the thread,
  // and for tests that drive it step by step.
  absl::StatusOr<size_t> run_once();

  void start();
  void stop();
  // Any thread: [session] idle_timeout_s changed on reload; applies from the next pass.
  void set_idle_timeout_s(int64_t s) { idle_timeout_s_.store(s, std::memory_order_relaxed); }

 private:
  void loop();
  void note_token_use(std::string_view token_id, int64_t time_unix_ns);

  Store& store_;
  SessionIndexerOptions options_;
  std::atomic<int64_t> idle_timeout_s_;
  audit::LogReader reader_;
  audit::SessionAggregator aggregator_;
  std::set<uint64_t> open_first_seqs_;  // the open sessions, by their first event
  // Open sessions: when each row was last saved (unix ns), and those changed since.
  absl::flat_hash_map<std::string, int64_t> saved_at_ns_;
  absl::flat_hash_set<std::string> unsaved_;
  // Token id -> its latest forwarded request read and not yet saved (unix ns).
  absl::flat_hash_map<std::string, int64_t> token_last_use_ns_;
  std::string last_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  std::thread thread_;
};

}  // namespace pamproxy::store
