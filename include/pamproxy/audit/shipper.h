#pragma once
// The audit shipper: a thread that sends the local audit log, line by line and in order, to a
// syslog collector over TLS (RFC 5424 messages, RFC 5425 framing: syslog_frame.h), so that the
// evidence of several nodes ends up in one place.
//
// The local log stays the source of truth; the shipper only reads it (LogReader), never holds
// the writer or a request up. Delivery is at least once:
//
//   log files --LogReader--> batch --send--> collector's TCP acknowledged --hold--> cursor file
//                            (only lines the writer made durable)            (fsync, rename)
//
// A batch moves the cursor only once the collector's TCP acknowledged all of it and the
// connection stayed established for kConfirmHoldMs after that (ship_connection.h says why).
// Until then it stays in the unconfirmed window and is resent, in order, on the next connection.
// After a crash the shipper resends from the cursor: a line may reach the collector twice
// (`pamctl audit verify --from-syslog` skips exact repeats), never not at all. A line that
// retention deleted before it was shipped is a gap the shipper cannot fill: it says so in the
// log (audit.ship_gap).
//
// A collector that is down or slow: the shipper reconnects with a backoff from kBackoffMinMs
// doubling to kBackoffMaxMs and logs each change of state once (audit.ship_connected,
// audit.ship_disconnected).
//
// Bounds: a batch holds at most batch_lines_max lines; the unconfirmed window at most
// kWindowBytesMax bytes of frames (plus one batch); every network wait io_timeout_ms.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "pamproxy/audit/log_reader.h"
#include "pamproxy/audit/ship_connection.h"

namespace pamproxy::audit {

struct ShipperOptions {
  std::string audit_directory;
  std::string cursor_file;
  std::string address;  // collector host:port
  ShipTlsOptions tls;
  std::string app_name = "pamproxy";
  std::string node;  // HOSTNAME of every message
  size_t batch_lines_max = 512;
  int io_timeout_ms = 10000;
  int poll_interval_ms = 100;
  // The writer's last durable sequence number; lines after it are not shipped yet. Empty = no
  // limit (tests).
  std::function<uint64_t()> durable_seq;
};

struct ShipperStats {
  bool connected = false;
  uint64_t confirmed_seq = 0;  // every line up to this one is confirmed (cursor - 1)
  uint64_t lag_events = 0;     // durable lines not confirmed yet
  uint64_t lines_sent = 0;     // resends included
  uint64_t connects = 0;
};

class Shipper {
 public:
  static constexpr int kBackoffMinMs = 100;
  static constexpr int kBackoffMaxMs = 5000;
  static constexpr int kConfirmHoldMs = 250;
  static constexpr size_t kWindowBytesMax = 8u << 20;

  // Checks the address, loads the TLS files and the cursor; nothing runs yet.
  static absl::StatusOr<std::unique_ptr<Shipper>> create(ShipperOptions options);
  ~Shipper();
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  void start();
  // Joins the thread; unconfirmed lines are resent after the next start. While connected, first
  // waits up to `drain_ms` for every durable line to be confirmed (the writer's last checkpoint,
  // when the writer has stopped).
  void stop(int drain_ms = 0);

  ShipperStats stats() const;
  // pamproxy_audit_ship_connected and pamproxy_audit_ship_lag_events, Prometheus text.
  std::string render_prometheus() const;

 private:
  struct Batch {
    std::string frames;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    bool acknowledged = false;
    std::chrono::steady_clock::time_point acknowledged_at;
  };

  explicit Shipper(ShipperOptions options);
  void loop();
  bool connect();
  void disconnect(const absl::Status& why);
  bool read_batch(Batch* batch);
  bool send_batch(Batch& batch);
  void confirm_held();
  void wait_ms(int ms);

  ShipperOptions options_;
  std::string host_;
  uint16_t port_ = 0;
  std::string hostname_;
  std::shared_ptr<ShipTlsContext> tls_;
  LogReader reader_;
  uint64_t expected_seq_ = 1;  // the next line the reader should hand over
  std::unique_ptr<ShipConnection> conn_;
  std::deque<Batch> window_;  // sent (or to resend), not confirmed yet, in log order
  size_t window_bytes_ = 0;
  int backoff_ms_ = kBackoffMinMs;
  std::string last_read_error_;  // logged once until it changes
  int state_ = -1;  // -1 not known yet, 0 disconnected, 1 connected: logged once per change

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> confirmed_seq_{0};
  std::atomic<uint64_t> lines_sent_{0};
  std::atomic<uint64_t> connects_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace pamproxy::audit
