#include "control_events.h"

#include <string>

#include "absl/time/clock.h"
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
