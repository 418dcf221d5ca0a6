// The session indexer (see session_indexer.h).

#include "pamproxy/store/session_indexer.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/thread_name.h"

namespace pamproxy::store {
namespace {

uint64_t first_seq_of(std::string_view id) {
  uint64_t seq = 0;
  if (id.starts_with("s-")) {
    (void)absl::SimpleAtoi(absl::string_view(id.data() + 2, id.size() - 2), &seq);
  }
  return seq;
}

}  // namespace

SessionIndexer::SessionIndexer(Store& store, SessionIndexerOptions options)
    : store_(store),
      options_(std::move(options)),
      idle_timeout_s_(options_.idle_timeout_s),
      reader_(options_.audit_directory),
      aggregator_(options_.idle_timeout_s) {
  if (!options_.now_unix_ns) {
    options_.now_unix_ns = [] { return absl::ToUnixNanos(absl::Now()); };
  }
  reader_.resume_at(store_.session_resume_seq(options_.node));
}

SessionIndexer::~SessionIndexer() {
  stop();
}

absl::StatusOr<size_t> SessionIndexer::run_once() {
  absl::flat_hash_set<std::string> touched;
  std::vector<audit::Session> closed;
  auto n = reader_.poll(
      [&](uint64_t seq, const audit::Event& e) {
        if (e.type == audit::EventType::kRequestForwarded && !e.token_id.empty()) {
          note_token_use(e.token_id.view(), e.time_unix_ns);
        }
        std::string id = aggregator_.add(e, seq, &closed);
        if (!id.empty()) {
          open_first_seqs_.insert(first_seq_of(id));
          touched.insert(std::move(id));
        }
        return true;
      },
      kLinesPerPass);
  if (!n.ok()) return n.status();
  aggregator_.set_idle_timeout_s(idle_timeout_s_.load(std::memory_order_relaxed));
  const int64_t now_ns = options_.now_unix_ns();
  std::vector<audit::Session> expired = aggregator_.expire(now_ns);
  closed.insert(closed.end(), std::make_move_iterator(expired.begin()),
                std::make_move_iterator(expired.end()));

  std::vector<audit::SessionReport> rows;
  for (const audit::Session& s : closed) {
    open_first_seqs_.erase(s.first_seq);
    touched.erase(s.id);
    saved_at_ns_.erase(s.id);
    unsaved_.erase(s.id);
    rows.push_back(audit::stored_report(s));
  }
  for (const std::string& id : touched) unsaved_.insert(id);
  std::vector<std::string> saving;
  for (auto it = unsaved_.begin(); it != unsaved_.end();) {
    const std::string& id = *it;
    const audit::Session* s = aggregator_.find_open(id);
    if (s == nullptr) {  // closed: its row went with `closed`
      saved_at_ns_.erase(id);
      unsaved_.erase(it++);
      continue;
    }
    ++it;
    auto saved = saved_at_ns_.find(id);
    const bool held = s->requests > kFreshRequestsMax && touched.contains(id) &&
                      saved != saved_at_ns_.end() && now_ns >= saved->second &&
                      now_ns - saved->second < kBusySaveIntervalS * 1000000000;
    if (held) continue;
    rows.push_back(audit::stored_report(*s));
    saving.push_back(id);
  }
  if (rows.empty() && token_last_use_ns_.empty() && *n == 0) return 0;
  // After a restart, read again from the oldest open session's first event.
  uint64_t resume = open_first_seqs_.empty() ? reader_.next_seq() : *open_first_seqs_.begin();
  std::vector<Store::TokenUse> uses;
  uses.reserve(token_last_use_ns_.size());
  for (const auto& [id, ns] : token_last_use_ns_) uses.emplace_back(id, absl::FromUnixNanos(ns));
  const SessionSave save{
      .node = options_.node,
      .join_gap_ns = idle_timeout_s_.load(std::memory_order_relaxed) * 1000000000};
  if (absl::Status s = store_.save_sessions(rows, resume, uses, save); !s.ok()) return s;
  for (std::string& id : saving) {
    unsaved_.erase(id);
    saved_at_ns_[std::move(id)] = now_ns;
  }
  // Kept until saved: a failed save is retried with the next pass's uses folded in.
  token_last_use_ns_.clear();
  return *n;
}

void SessionIndexer::note_token_use(std::string_view token_id, int64_t time_unix_ns) {
  // This absl's string hash takes its own string_view type, not std::string_view.
  auto [it, inserted] = token_last_use_ns_.try_emplace(
      absl::string_view(token_id.data(), token_id.size()), time_unix_ns);
  if (!inserted) it->second = std::max(it->second, time_unix_ns);
}

void SessionIndexer::start() {
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "pamproxy-index");
}

void SessionIndexer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SessionIndexer::loop() {
  std::unique_lock lock(mu_);
  while (!stop_requested_) {
    lock.unlock();
    absl::StatusOr<size_t> n = run_once();
    if (!n.ok()) {
      std::string err(n.status().message());
      if (err != last_error_) {
        log::error("sessions.index_failed").kv("dir", options_.audit_directory).kv("error", err);
        last_error_ = err;
      }
    } else if (!last_error_.empty()) {
      log::info("sessions.index_resumed").kv("dir", options_.audit_directory);
      last_error_.clear();
    }
    lock.lock();
    // A full pass means a backlog: go on at once.
    if (n.ok() && *n == kLinesPerPass) continue;
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                 [this] { return stop_requested_; });
  }
}

}  // namespace pamproxy::store
