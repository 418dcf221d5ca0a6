#pragma once
// The control plane's audit producer: admin changes (from the store's ChangeSink), settings
// changes and configuration reloads become audit events on one ring. Several control threads
// (the signal loop, the admin API) may report, so pushes are serialized by a mutex; these events
// are rare, and the workers' rings never see this lock.
//
// A change is already committed when it is reported. If the writer cannot take the event within
// [audit] hold_timeout_ms (disk fault, full ring), the loss is logged loudly and counted; it is
// never silent.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "pamproxy/audit/ring.h"
#include "pamproxy/notify/notifier.h"
#include "pamproxy/store/change.h"

namespace pamproxy::daemon {

class ControlEvents final : public store::ChangeSink {
 public:
  // `ring` may be null (audit off): events are then only logged.
  ControlEvents(audit::Ring* ring, int64_t hold_timeout_ms)
      : ring_(ring), hold_timeout_ms_(hold_timeout_ms) {}

  void on_admin_change(const store::AdminChange& change) override;
  void config_reloaded(std::string_view file, std::string_view changed,
                       std::string_view restart_required);
  // From the notifier's thread: a delivery is logged; a failed attempt and a final failure are
  // also audited, with their cause.
  void notification(const notify::Outcome& outcome);
  // Woken when a request is created or decided (its notifications are queued); null: none.
  void set_notifier(notify::Notifier* notifier) {
    notifier_.store(notifier, std::memory_order_release);
  }

  uint64_t lost() const { return lost_.load(std::memory_order_relaxed); }
  // [audit] hold_timeout_ms changed on reload.
  void set_hold_timeout_ms(int64_t ms) { hold_timeout_ms_.store(ms, std::memory_order_relaxed); }

 private:
  void push(const audit::Event& event, std::string_view what);

  std::mutex mu_;
  audit::Ring* ring_;
  std::atomic<int64_t> hold_timeout_ms_;
  std::atomic<uint64_t> lost_{0};
  std::atomic<notify::Notifier*> notifier_{nullptr};
};

}  // namespace pamproxy::daemon
