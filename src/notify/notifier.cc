// The notifier's thread (see notifier.h): take due rows from the store, attempt each, record the
// outcome in the store, then tell the daemon (audit, log).

#include "pamproxy/notify/notifier.h"

#include <algorithm>
#include <fstream>
#include <optional>

#include "absl/time/clock.h"
#include "pamproxy/base/log.h"
#include "pamproxy/notify/deliver.h"
#include "pamproxy/notify/message.h"

namespace pamproxy::notify {
namespace {

// A claimed row is left alone this long past the attempt's timeout: a node that died in the
// middle of an attempt leaves the row to be tried again then.
constexpr int64_t kLeaseSlackMs = 5000;

int channel_index(std::string_view channel) {
  return channel == "email" ? 1 : 0;
}

// A secret file's first line (the key or password), without its line end.
bool read_secret(const std::string& file, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::getline(in, *out);
  while (!out->empty() && (out->back() == '\r' || out->back() == '\n')) out->pop_back();
  return !out->empty();
}

Attempt deliver(const config::NotifySection& c, const store::Notification& n, const Facts& facts) {
  const std::string link = request_link(c.console_url, facts.request_id);
  if (n.channel == "webhook") {
    if (c.webhook_url.empty()) return {.error = "no webhook: [notify] webhook_url is not set"};
    std::string key;
    if (!read_secret(c.webhook_secret_file, &key)) {
      return {.error = "cannot read [notify] webhook_secret_file"};
    }
    WebhookPost post;
    post.url = c.webhook_url;
    post.ca_file = c.webhook_ca_file;
    post.body = webhook_body(facts, link, c.webhook_format);
    const int64_t now_s = absl::ToUnixSeconds(absl::Now());
    post.headers = {"Content-Type: application/json",
                    "X-Pamproxy-Event: " + facts.event,
                    "X-Pamproxy-Delivery: " + n.id,
                    "X-Pamproxy-Timestamp: " + std::to_string(now_s),
                    "X-Pamproxy-Signature: " + webhook_signature(key, now_s, post.body),
                    "Expect:"};
    post.timeout_ms = c.timeout_ms;
    return post_webhook(post);
  }
  if (c.smtp_address.empty()) return {.error = "no e-mail: [notify] smtp_address is not set"};
  MailSend mail;
  mail.address = c.smtp_address;
  mail.starttls = c.smtp_starttls;
  mail.ca_file = c.smtp_ca_file;
  mail.username = c.smtp_username;
  if (!c.smtp_username.empty() && !read_secret(c.smtp_password_file, &mail.password)) {
    return {.error = "cannot read [notify] smtp_password_file"};
  }
  mail.from = c.smtp_from;
  mail.to = n.recipient;
  std::string domain = c.smtp_from.substr(c.smtp_from.find('@') + 1);
  mail.message = mail_message(facts, link, c.smtp_from, n.recipient, absl::Now(),
                              n.id + "." + std::to_string(n.attempts) + "@" + domain);
  mail.timeout_ms = c.timeout_ms;
  return send_mail(mail);
}

}  // namespace

int64_t retry_delay_s(int64_t attempts, int64_t initial_s, int64_t max_s) {
  int64_t delay = initial_s;
  for (int64_t i = 1; i < attempts && delay < max_s; ++i) delay *= 2;
  return std::min(delay, max_s);
}

store::NotifyChannels channels_of(const config::NotifySection& c) {
  return {.webhook = !c.webhook_url.empty(), .email = !c.smtp_address.empty()};
}

Notifier::Notifier(store::Store& store, config::NotifySection config, Report report)
    : store_(store), report_(std::move(report)), config_(std::move(config)) {}

Notifier::~Notifier() {
  stop();
}

void Notifier::start() {
  thread_ = std::thread([this] { run(); });
}

void Notifier::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Notifier::set_config(const config::NotifySection& config) {
  {
    std::lock_guard lock(mu_);
    config_ = config;
    woken_ = true;
  }
  cv_.notify_all();
}

// Each pass: the due rows, one attempt each, then sleep until the next row is due (or a wake, or
// kPollMs for rows queued by another node). Config is copied per pass, so a reload applies from
// the next attempt on.
void Notifier::run() {
  for (;;) {
    config::NotifySection c;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      woken_ = false;
      c = config_;
    }
    const int64_t now_ms = absl::ToUnixMillis(absl::Now());
    for (store::Notification& n : store_.due_notifications(now_ms, kBatchMax)) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      attempt(c, std::move(n));
    }
    int64_t wait_ms = kPollMs;
    if (std::optional<int64_t> next = store_.next_notification_ms()) {
      wait_ms = std::clamp<int64_t>(*next - absl::ToUnixMillis(absl::Now()), 0, kPollMs);
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_ || woken_; });
  }
}

void Notifier::attempt(const config::NotifySection& c, store::Notification n) {
  const int64_t start_ms = absl::ToUnixMillis(absl::Now());
  absl::StatusOr<bool> claimed =
      store_.claim_notification(n, start_ms + c.timeout_ms + kLeaseSlackMs);
  if (!claimed.ok()) {
    log::warn("notify.claim_failed")
        .kv("notification", n.id)
        .kv("error", std::string(claimed.status().message()));
    return;
  }
  if (!*claimed) return;  // another node took it
  ++n.attempts;

  Outcome o;
  Attempt a;
  absl::StatusOr<Facts> facts = parse_facts(n.facts_json);
  if (!facts.ok()) {
    a.error = std::string(facts.status().message());
  } else {
    a = deliver(c, n, *facts);
  }
  const int i = channel_index(n.channel);
  absl::Status saved;
  if (a.ok) {
    o.kind = Outcome::Kind::kDelivered;
    delivered_[i].fetch_add(1, std::memory_order_relaxed);
    saved = store_.notification_delivered(n.id);
  } else {
    const bool final = n.attempts >= c.retry_max_attempts || !facts.ok();
    o.kind = final ? Outcome::Kind::kFailed : Outcome::Kind::kAttemptFailed;
    attempts_failed_[i].fetch_add(1, std::memory_order_relaxed);
    if (final) failed_[i].fetch_add(1, std::memory_order_relaxed);
    o.next_attempt_ms = absl::ToUnixMillis(absl::Now()) +
                        1000 * retry_delay_s(n.attempts, c.retry_initial_s, c.retry_max_s);
    saved = store_.notification_failed(n.id, a.error, o.next_attempt_ms, final);
  }
  if (!saved.ok()) {
    // The row keeps its lease: it is tried again after it, which may send it twice; a receiver
    // tells repeats apart by X-Pamproxy-Delivery (or the Message-ID's notification id).
    log::warn("notify.save_failed")
        .kv("notification", n.id)
        .kv("error", std::string(saved.message()));
  }
  o.error = std::move(a.error);
  o.timed_out = a.timed_out;
  o.notification = std::move(n);
  if (report_) report_(o);
}

std::string Notifier::render_prometheus() const {
  std::string out;
  auto counter = [&](const std::string& name, const std::string& help,
                     const std::atomic<uint64_t>(&v)[2]) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
    out += name + "{channel=\"webhook\"} " + std::to_string(v[0].load(std::memory_order_relaxed));
    out += "\n" + name + "{channel=\"email\"} " +
           std::to_string(v[1].load(std::memory_order_relaxed)) + "\n";
  };
  counter("pamproxy_notify_delivered_total", "notifications delivered", delivered_);
  counter("pamproxy_notify_attempts_failed_total",
          "notification delivery attempts that failed (each is audited)", attempts_failed_);
  counter("pamproxy_notify_failed_total",
          "notifications given up after the last attempt (each is audited)", failed_);
  return out;
}

}  // namespace pamproxy::notify
