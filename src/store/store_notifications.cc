// The queue of notifications about access requests: rows written with the request's creation or
// decision, then taken, retried and finished by the notifier (src/notify) from its own thread.

#include <algorithm>

#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"

namespace pamproxy::store {

using policy::cat;

namespace {

constexpr std::string_view kColumns =
    "id, event, request_id, channel, recipient, facts_json, state, attempts, next_attempt_ms, "
    "last_error, created_at";

Notification read_notification(const sql::Stmt& r) {
  Notification n;
  n.id = r.text(0);
  n.event = r.text(1);
  n.request_id = r.text(2);
  n.channel = r.text(3);
  n.recipient = r.text(4);
  n.facts_json = r.text(5);
  n.state = r.text(6);
  n.attempts = r.integer(7);
  n.next_attempt_ms = r.integer(8);
  n.last_error = r.text(9);
  n.created_at = from_unix(r.integer(10));
  return n;
}

std::string name_of(const std::vector<policy::User>& users, std::string_view id) {
  for (const policy::User& u : users) {
    if (u.id == id) return u.name;
  }
  return std::string(id);
}

// What a message says, flat: the notifier's renderer reads these keys (notify/message.h). The
// request's own text (reason, note) is the requester's and approver's words; nothing sealed is
// ever read here.
std::string facts_json(std::string_view event, const policy::AccessRequest& r,
                       std::string_view record_name, const std::vector<policy::User>& users) {
  JsonWriter w;
  w.begin_object().key("event").value(event).key("request_id").value(r.id);
  w.key("record_id").value(r.record_id).key("record_name").value(record_name);
  w.key("requester_id").value(r.user_id).key("requester_name").value(name_of(users, r.user_id));
  w.key("reason").value(r.reason);
  w.key("start_at").value(format_time(r.start_at)).key("end_at").value(format_time(r.end_at));
  w.key("state").value(policy::request_state_name(r.state));
  if (!r.decided_by.empty()) {
    w.key("decided_by_id").value(r.decided_by);
    w.key("decided_by_name").value(name_of(users, r.decided_by));
    w.key("decision_note").value(r.decision_note);
  }
  w.end_object();
  return w.take();
}

}  // namespace

absl::Status Store::Impl::queue_request_notifications(std::string_view event,
                                                      const policy::AccessRequest& request,
                                                      absl::Time at) {
  if (!notify_channels.webhook && !notify_channels.email) return absl::OkStatus();
  auto users = load_users();
  if (!users.ok()) return users.status();
  auto record = one(load_records(request.record_id), "record", request.record_id);
  if (!record.ok()) return record.status();

  // A new request goes to the approver role's members (not the requester, who may be one); a
  // decision to the requester. Users without an e-mail address are not written to.
  std::vector<std::string> to;
  if (notify_channels.email) {
    std::vector<std::string> ids;
    if (event == "request.created") {
      auto pol = load_policies(request.record_id);
      if (!pol.ok()) return pol.status();
      if (!pol->empty() && !pol->front().approver_role_id.empty()) {
        auto role =
            one(load_roles(pol->front().approver_role_id), "role", pol->front().approver_role_id);
        if (role.ok()) ids = role->member_user_ids;
      }
    } else {
      ids.push_back(request.user_id);
    }
    for (const policy::User& u : *users) {
      if (u.email.empty() || u.id == (event == "request.created" ? request.user_id : "")) continue;
      if (std::find(ids.begin(), ids.end(), u.id) != ids.end()) to.push_back(u.email);
    }
  }

  const std::string facts = facts_json(event, request, record->name, *users);
  const int64_t now_ms = absl::ToUnixMillis(at);
  auto queue = [&](std::string_view channel, std::string_view recipient) {
    return sql::run(db,
                    "INSERT INTO notifications (id, event, request_id, channel, recipient, "
                    "facts_json, state, attempts, next_attempt_ms, last_error, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, '', ?8)",
                    random_id("ntf-", 16), event, request.id, channel, recipient, facts, now_ms,
                    to_unix(at));
  };
  if (notify_channels.webhook) {
    if (absl::Status s = queue("webhook", ""); !s.ok()) return s;
  }
  for (const std::string& address : to) {
    if (absl::Status s = queue("email", address); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void Store::set_notify_channels(NotifyChannels channels) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->notify_channels = channels;
}

std::vector<Notification> Store::due_notifications(int64_t now_ms, size_t max) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = sql::load_rows<Notification>(
      impl_->db,
      cat("SELECT ", kColumns,
          " FROM notifications WHERE state = 'pending' AND next_attempt_ms <= ?1 "
          "ORDER BY next_attempt_ms, id LIMIT ?2"),
      read_notification, now_ms, static_cast<int64_t>(max));
  return rows.ok() ? std::move(*rows) : std::vector<Notification>{};
}

std::optional<int64_t> Store::next_notification_ms() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  absl::StatusOr<int64_t> n =
      impl_->db.query_int("SELECT count(*) FROM notifications WHERE state = 'pending'");
  if (!n.ok() || *n == 0) return std::nullopt;
  absl::StatusOr<int64_t> next =
      impl_->db.query_int("SELECT min(next_attempt_ms) FROM notifications WHERE state = 'pending'");
  if (!next.ok()) return std::nullopt;
  return *next;
}

absl::StatusOr<bool> Store::claim_notification(const Notification& n, int64_t lease_until_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  absl::Status s =
      sql::run(impl_->db,
               "UPDATE notifications SET attempts = attempts + 1, next_attempt_ms = ?3 "
               "WHERE id = ?1 AND state = 'pending' AND attempts = ?2",
               n.id, n.attempts, lease_until_ms);
  if (!s.ok()) return s;
  return impl_->db.changes() == 1;
}

absl::Status Store::notification_failed(std::string_view id, std::string_view error,
                                        int64_t next_attempt_ms, bool final) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::run(impl_->db,
                  "UPDATE notifications SET state = ?2, last_error = ?3, next_attempt_ms = ?4, "
                  "finished_at = ?5 WHERE id = ?1",
                  id, final ? "failed" : "pending", error, next_attempt_ms,
                  final ? std::optional<int64_t>(to_unix(impl_->now())) : std::nullopt);
}

absl::Status Store::notification_delivered(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sql::run(impl_->db,
                  "UPDATE notifications SET state = 'delivered', last_error = '', finished_at = ?2 "
                  "WHERE id = ?1",
                  id, to_unix(impl_->now()));
}

std::vector<Notification> Store::list_notifications(std::string_view request_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows =
      sql::load_rows<Notification>(impl_->db,
                                   cat("SELECT ", kColumns,
                                       " FROM notifications WHERE ?1 = '' OR request_id = ?1 "
                                       "ORDER BY created_at, event, channel DESC, recipient, id"),
                                   read_notification, request_id);
  return rows.ok() ? std::move(*rows) : std::vector<Notification>{};
}

}  // namespace pamproxy::store
