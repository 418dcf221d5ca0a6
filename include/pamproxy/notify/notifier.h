#pragma once
// The notifier: one thread that delivers the store's queued notifications (webhook, e-mail),
// retries a failed one with exponential backoff and marks it delivered or, after
// [notify] retry_max_attempts, failed. It owns no queue of its own: the rows are in the store,
// written with the request they are about, so a restart resumes what was pending and several
// nodes of a shared database never send one row twice at once (each attempt claims its row).
//
// It must never run on the data plane or on the admin API's request path: delivery blocks on
// the network for up to [notify] timeout_ms.
//
//   Notifier n(store, config.notify, [&](const Outcome& o) { audit it });
//   n.start();  ...  n.wake();  // a request was created or decided
//   n.set_config(next.notify);  // reload
//   n.stop();
//
// Bounds: at most kBatchMax rows per pass; one attempt at a time; the store is polled at least
// every kPollMs for rows another node queued.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "pamproxy/config/config.h"
#include "pamproxy/store/store.h"

namespace pamproxy::notify {

// The wait before attempt `attempts` + 1, after `attempts` (>= 1) failed: initial, doubled each
// time, at most max.
int64_t retry_delay_s(int64_t attempts, int64_t initial_s, int64_t max_s);

// The channels [notify] turns on.
store::NotifyChannels channels_of(const config::NotifySection& c);

struct Outcome {
  enum class Kind { kDelivered, kAttemptFailed, kFailed };
  Kind kind = Kind::kDelivered;
  store::Notification notification;  // as claimed (attempts counts this one)
  std::string error;
  bool timed_out = false;
  int64_t next_attempt_ms = 0;  // kAttemptFailed
};

class Notifier {
 public:
  static constexpr size_t kBatchMax = 16;
  static constexpr int64_t kPollMs = 1000;

  using Report = std::function<void(const Outcome&)>;
  // `report` hears each outcome on the notifier's thread (audit, log).
  Notifier(store::Store& store, config::NotifySection config, Report report);
  ~Notifier();

  void start();
  // Ends the attempt under way (bounded by timeout_ms) and joins.
  void stop();
  void wake();
  void set_config(const config::NotifySection& config);

  // Prometheus text: attempts, deliveries and final failures by channel.
  std::string render_prometheus() const;

 private:
  void run();
  void attempt(const config::NotifySection& c, store::Notification n);

  store::Store& store_;
  Report report_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  config::NotifySection config_;  // guarded by mu_
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;

  // [0] webhook, [1] email.
  std::atomic<uint64_t> delivered_[2] = {};
  std::atomic<uint64_t> attempts_failed_[2] = {};
  std::atomic<uint64_t> failed_[2] = {};
};

}  // namespace pamproxy::notify
