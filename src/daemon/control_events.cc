#include "control_events.h"

#include <string>

#include "absl/time/clock.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/base/log.h"

namespace pamproxy::daemon {

void ControlEvents::push(const audit::Event& event, std::string_view what) {
  if (ring_ == nullptr) return;
  std::lock_guard lock(mu_);
  uint64_t ticket = 0;
  if (ring_->push_wait(event, &ticket, hold_timeout_ms_.load(std::memory_order_relaxed))) return;
  ring_->note_refusal();
  lost_.fetch_add(1, std::memory_order_relaxed);
  log::error("audit.control_event_lost")
      .kv("event", what)
      .kv("detail", "the audit writer did not take the event within [audit] hold_timeout_ms; "
                    "the change itself is committed");
}

void ControlEvents::on_admin_change(const store::AdminChange& change) {
  audit::Event e;
  e.type = change.action.starts_with("settings.") ? audit::EventType::kSettingsChange
                                                  : audit::EventType::kAdminChange;
  e.time_unix_ns = absl::ToUnixNanos(change.at);
  e.event_source.assign("pamproxy.admin");
  e.event_name.assign(change.action);
  e.user.assign(change.actor.user_id);
  e.token_id.assign(change.actor.token_id);
  e.source_ip.assign(change.actor.source);
  if (change.object_type == "record") {
    e.record_id.assign(change.object_id);
  }
  // Before/after are JSON without secrets (the store guarantees it); the event keeps as much as
  // fits and marks the field truncated.
  std::string detail = "{\"object\":\"" + change.object_type + "/" + change.object_id +
                       "\",\"generation\":" + std::to_string(change.generation) +
                       ",\"before\":" + (change.before_json.empty() ? "null" : change.before_json) +
                       ",\"after\":" + (change.after_json.empty() ? "null" : change.after_json) +
                       "}";
  e.detail.assign(detail);
  log::info("admin.change")
      .kv("action", change.action)
      .kv("object", change.object_type + "/" + change.object_id)
      .kv("user", change.actor.user_id)
      .kv("token_id", change.actor.token_id)
      .kv("source", change.actor.source)
      .kv("generation", static_cast<int64_t>(change.generation));
  push(e, change.action);
  if (change.action.starts_with("request.")) {
    if (notify::Notifier* n = notifier_.load(std::memory_order_acquire)) n->wake();
  }
}

void ControlEvents::notification(const notify::Outcome& o) {
  const store::Notification& n = o.notification;
  const bool final = o.kind == notify::Outcome::Kind::kFailed;
  if (o.kind == notify::Outcome::Kind::kDelivered) {
    log::info("notify.delivered")
        .kv("notification", n.id)
        .kv("about", n.event)
        .kv("request", n.request_id)
        .kv("channel", n.channel)
        .kv("recipient", n.recipient)
        .kv("attempt", n.attempts);
    return;
  }
  const char* name = final ? "notification.failed" : "notification.attempt_failed";
  const char* log_name = final ? "notify.failed" : "notify.attempt_failed";
  // The cause's kind, for searching: timeout, http_<status>, smtp_<reply> or error.
  std::string cause = "error";
  if (o.timed_out) {
    cause = "timeout";
  } else if (o.error.starts_with("HTTP ")) {
    cause = "http_" + o.error.substr(5, 3);
  } else if (o.error.starts_with("SMTP ")) {
    cause = "smtp_" + o.error.substr(5, 3);
  }
  auto fill = [&](log::Line&& line) {
    line.kv("notification", n.id)
        .kv("about", n.event)
        .kv("request", n.request_id)
        .kv("channel", n.channel)
        .kv("recipient", n.recipient)
        .kv("attempt", n.attempts)
        .kv("cause", cause)
        .kv("error", o.error);
  };
  if (final) {
    fill(log::error(log_name));
  } else {
    fill(log::warn(log_name));
  }
  audit::Event e;
  e.type = audit::EventType::kNotification;
  e.time_unix_ns = absl::ToUnixNanos(absl::Now());
  e.event_source.assign("pamproxy.notify");
  e.event_name.assign(name);
  e.error_code.assign(cause);
  JsonWriter w;
  w.begin_object().key("notification").value(n.id).key("request").value(n.request_id);
  w.key("event").value(n.event).key("channel").value(n.channel);
  w.key("recipient").value(n.recipient).key("attempt").value(n.attempts);
  if (!final) w.key("next_attempt_ms").value(o.next_attempt_ms);
  w.key("error").value(o.error).end_object();
  e.detail.assign(w.str());
  push(e, name);
}

void ControlEvents::config_reloaded(std::string_view file, std::string_view changed,
                                    std::string_view restart_required) {
  audit::Event e;
  e.type = audit::EventType::kConfigReload;
  e.time_unix_ns = absl::ToUnixNanos(absl::Now());
  e.event_source.assign("pamproxy.daemon");
  e.event_name.assign("config.reload");
  std::string detail = "file=" + std::string(file) + " changed=" + std::string(changed) +
                       " restart_required=" + std::string(restart_required);
  e.detail.assign(detail);
  push(e, "config.reload");
}

}  // namespace pamproxy::daemon
