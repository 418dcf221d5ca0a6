#pragma once
// How a node learns that another node changed the shared PostgreSQL store: its own libpq
// connection that LISTENs on the store's channel, on its own thread. Every change transaction
// bumps the database's change generation and NOTIFYs the channel (delivered on commit); the
// listener then asks the store to compare generations and rebuild its snapshot. A notification
// lost with a broken connection is caught by the periodic check, and by the check made on every
// reconnect. Internal to src/store.
//
// The thread also owns the node's view of whether the database is reachable: the listener's
// connection is the one that is always open, so it is the first to see the server go (the socket
// closes) and come back (a reconnect succeeds).
//
// Bounds: every wait is a poll() with a timeout (the check interval, the reconnect backoff, the
// connect timeout); the backoff doubles from 100 ms to 2 s; stop() wakes the thread through an
// eventfd and joins it without waiting for any of them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace pamproxy::store {

// The channel every node LISTENs on; the payload is the new generation (decimal).
inline constexpr std::string_view kChangeChannel = "pamproxy_changes";

struct ChangeListenerOptions {
  std::string conninfo;
  int64_t connect_timeout_ms = 5000;
  // The safety net: compare generations this often even without a notification.
  int64_t check_interval_ms = 5000;
  // A change may have been made (a notification came, the check is due, or the connection came
  // back): compare generations and rebuild when they differ. Runs on the listener's thread.
  // False when the store's own connection did not answer: the listener then reconnects too.
  std::function<bool()> check;
  // Whether the database answered: false (with libpq's reason) after each failed reconnect,
  // true after each connect and check that answered. Called again with the same state; the
  // callee tells the changes apart (the store's own connection reports false too).
  std::function<void(bool reachable, const std::string& error)> reachability;
};

class ChangeListener {
 public:
  explicit ChangeListener(ChangeListenerOptions options);
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;
  ~ChangeListener();  // stop()

  void start();
  void stop();

 private:
  void run();
  // Waits up to `ms` for the stop eventfd; true when asked to stop.
  bool wait_for_stop(int64_t ms);

  ChangeListenerOptions options_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace pamproxy::store
