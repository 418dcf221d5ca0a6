// The audit shipper's thread: read, frame, send, confirm, move the cursor (see shipper.h).

#include "pamproxy/audit/shipper.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pamproxy/audit/ship_cursor.h"
#include "pamproxy/audit/syslog_frame.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/thread_name.h"

namespace pamproxy::audit {

using Clock = std::chrono::steady_clock;

absl::StatusOr<std::unique_ptr<Shipper>> Shipper::create(ShipperOptions options) {
  std::unique_ptr<Shipper> s(new Shipper(std::move(options)));
  if (!split_host_port(s->options_.address, &s->host_, &s->port_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("collector address \"", s->options_.address, "\" is not host:port"));
  }
  if (std::string why = check_syslog_app_name(s->options_.app_name); !why.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("app name: ", why));
  }
  auto tls = ShipTlsContext::create(s->options_.tls);
  if (!tls.ok()) return tls.status();
  s->tls_ = std::move(*tls);
  auto cursor = load_ship_cursor(s->options_.cursor_file);
  if (!cursor.ok()) {
    // Starting over only duplicates; guessing could skip lines.
    log::warn("audit.ship_cursor_unreadable")
        .kv("file", s->options_.cursor_file)
        .kv("error", std::string(cursor.status().message()))
        .kv("detail", "shipping again from the first line of the log");
    cursor = 1;
  }
  s->reader_.resume_at(*cursor);
  s->expected_seq_ = *cursor;
  s->confirmed_seq_.store(*cursor - 1);
  s->options_.batch_lines_max = std::max<size_t>(s->options_.batch_lines_max, 1);
  return s;
}

Shipper::Shipper(ShipperOptions options)
    : options_(std::move(options)),
      hostname_(syslog_hostname(options_.node)),
      reader_(options_.audit_directory) {}

Shipper::~Shipper() {
  stop();
}

void Shipper::start() {
  thread_ = std::thread([this] { loop(); });
  name_thread(thread_, "pamproxy-ship");
}

void Shipper::stop(int drain_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(drain_ms);
  while (thread_.joinable() && options_.durable_seq && connected_.load() &&
         confirmed_seq_.load() < options_.durable_seq() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Shipper::wait_ms(int ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
}

ShipperStats Shipper::stats() const {
  ShipperStats s;
  s.connected = connected_.load();
  s.confirmed_seq = confirmed_seq_.load();
  uint64_t durable = options_.durable_seq ? options_.durable_seq() : s.confirmed_seq;
  s.lag_events = durable > s.confirmed_seq ? durable - s.confirmed_seq : 0;
  s.lines_sent = lines_sent_.load();
  s.connects = connects_.load();
  return s;
}

std::string Shipper::render_prometheus() const {
  ShipperStats s = stats();
  return absl::StrCat(
      "# HELP pamproxy_audit_ship_connected 1 while the audit shipper is connected to its "
      "collector\n# TYPE pamproxy_audit_ship_connected gauge\npamproxy_audit_ship_connected ",
      s.connected ? 1 : 0,
      "\n# HELP pamproxy_audit_ship_lag_events durable audit lines the collector has not "
      "confirmed yet\n# TYPE pamproxy_audit_ship_lag_events gauge\n"
      "pamproxy_audit_ship_lag_events ",
      s.lag_events, "\n");
}

bool Shipper::connect() {
  auto c = ShipConnection::open(tls_, host_, port_, options_.io_timeout_ms, stop_);
  if (!c.ok()) {
    if (state_ != 0 && !stop_.load()) {
      log::warn("audit.ship_disconnected")
          .kv("collector", options_.address)
          .kv("error", std::string(c.status().message()))
          .kv("detail", "retrying with backoff; the local log keeps everything");
    }
    state_ = 0;
    return false;
  }
  conn_ = std::move(*c);
  connected_.store(true);
  connects_.fetch_add(1);
  backoff_ms_ = kBackoffMinMs;
  if (state_ != 1) {
    log::info("audit.ship_connected")
        .kv("collector", options_.address)
        .kv("from_seq", window_.empty() ? expected_seq_ : window_.front().first_seq);
  }
  state_ = 1;
  return true;
}

void Shipper::disconnect(const absl::Status& why) {
  conn_.reset();
  connected_.store(false);
  // An acknowledged batch that is not confirmed yet may have been dropped by the collector.
  for (Batch& b : window_) b.acknowledged = false;
  if (state_ != 0 && !stop_.load()) {
    log::warn("audit.ship_disconnected")
        .kv("collector", options_.address)
        .kv("error", std::string(why.message()))
        .kv("detail", "retrying with backoff; the local log keeps everything");
  }
  state_ = 0;
}

bool Shipper::send_batch(Batch& batch) {
  absl::Status st = conn_->send(batch.frames, options_.io_timeout_ms, stop_);
  if (!st.ok()) {
    disconnect(st);
    return false;
  }
  batch.acknowledged = true;
  batch.acknowledged_at = Clock::now();
  lines_sent_.fetch_add(batch.last_seq - batch.first_seq + 1);
  return true;
}

bool Shipper::read_batch(Batch* batch) {
  if (options_.durable_seq) reader_.set_seq_limit(options_.durable_seq());
  const SyslogHeader header{hostname_, options_.app_name};
  const int64_t now_ns = absl::ToUnixNanos(absl::Now());
  auto n = reader_.poll(
      [&](uint64_t seq, const Event&) {
        if (seq != expected_seq_) {
          log::warn("audit.ship_gap")
              .kv("from_seq", expected_seq_)
              .kv("through_seq", seq - 1)
              .kv("detail", "these lines left the log (retention) before they were shipped");
        }
        expected_seq_ = seq + 1;
        if (batch->first_seq == 0) batch->first_seq = seq;
        batch->last_seq = seq;
        append_syslog_frame(batch->frames, header, now_ns, reader_.line());
        return true;
      },
      options_.batch_lines_max);
  if (!n.ok()) {
    std::string error(n.status().message());
    if (error != last_read_error_) {
      log::warn("audit.ship_read_failed").kv("dir", options_.audit_directory).kv("error", error);
      last_read_error_ = error;
    }
    return false;
  }
  last_read_error_.clear();
  return *n > 0;
}

void Shipper::confirm_held() {
  const auto now = Clock::now();
  uint64_t next_seq = 0;
  while (!window_.empty() && window_.front().acknowledged &&
         now - window_.front().acknowledged_at >= std::chrono::milliseconds(kConfirmHoldMs)) {
    next_seq = window_.front().last_seq + 1;
    window_bytes_ -= window_.front().frames.size();
    window_.pop_front();
  }
  if (next_seq == 0) return;
  if (absl::Status st = store_ship_cursor(options_.cursor_file, next_seq); !st.ok()) {
    // Not fatal: the next confirmation writes it again; until then a restart resends more.
    log::warn("audit.ship_cursor_failed")
        .kv("file", options_.cursor_file)
        .kv("error", std::string(st.message()));
  }
  confirmed_seq_.store(next_seq - 1);
}

void Shipper::loop() {
  while (!stop_.load()) {
    if (!conn_ && !connect()) {
      wait_ms(backoff_ms_);
      backoff_ms_ = std::min(backoff_ms_ * 2, kBackoffMaxMs);
      continue;
    }
    // A new connection first resends, in order, what the last one did not get confirmed.
    bool up = true;
    for (Batch& b : window_) {
      if (!b.acknowledged && !(up = send_batch(b))) break;
    }
    if (!up) continue;
    if (conn_->peer_closed()) {
      disconnect(absl::UnavailableError("the collector closed the connection"));
      continue;
    }
    confirm_held();
    if (window_bytes_ < kWindowBytesMax) {
      Batch b;
      if (read_batch(&b)) {
        window_bytes_ += b.frames.size();
        window_.push_back(std::move(b));
        send_batch(window_.back());  // a failure reconnects and resends it
        continue;
      }
    }
    wait_ms(window_.empty() ? options_.poll_interval_ms
                            : std::min(options_.poll_interval_ms, kConfirmHoldMs / 5));
  }
  conn_.reset();
  connected_.store(false);
}

}  // namespace pamproxy::audit
