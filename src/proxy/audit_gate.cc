// The worker's audit gate (see audit_gate.h).

#include "pamproxy/proxy/audit_gate.h"

#include <unistd.h>

#include <algorithm>

#include "pamproxy/base/check.h"

namespace pamproxy::proxy {

AuditGate::AuditGate(engine::Ring& ring, audit::Ring* audit, bool before_forward)
    : ring_(ring), audit_(audit), before_forward_(before_forward && audit != nullptr) {}

uint64_t AuditGate::publish() {
  uint64_t ticket = 0;
  audit_->publish(&ticket);
  return ticket;
}

uint64_t AuditGate::add(Pending p) {
  PAMPROXY_CHECK(audit_ != nullptr);
  const uint64_t id = next_id_++;
  pending_.emplace(id, p);
  // Settle from the completion path only: the caller is not ready for a callback yet. If the
  // condition already holds, ask the writer anyway and make sure a read is armed; a stale
  // signal costs one empty pass.
  if (p.for_space) {
    audit_->request_space();
  } else if (!audit_->request_wakeup(p.ticket)) {
    // Durable meanwhile: no signal may come. Nudge our own read with a signal of the same fd
    // so the callback still arrives from dispatch.
    uint64_t one = 1;
    ssize_t r = ::write(audit_->notify_fd(), &one, sizeof one);
    (void)r;
  }
  arm();
  return id;
}

uint64_t AuditGate::wait_durable(uint64_t ticket, Waiter* waiter) {
  return add({waiter, ticket, false});
}

uint64_t AuditGate::wait_space(Waiter* waiter) {
  return add({waiter, 0, true});
}

void AuditGate::arm() {
  if (armed_ || audit_ == nullptr) return;
  io_uring_sqe* s = ring_.sqe();
  io_uring_prep_read(s, audit_->notify_fd(), &notify_value_, sizeof(notify_value_), 0);
  io_uring_sqe_set_data64(s, engine::pack_user_data(this, 0));
  armed_ = true;
}

void AuditGate::on_cqe(uint8_t, int32_t, uint32_t) {
  armed_ = false;
  settle();
}

void AuditGate::settle() {
  for (;;) {
    ready_.clear();
    bool space = audit_->try_claim() != nullptr;
    uint64_t min_ticket = UINT64_MAX;
    bool want_space = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      const Pending& p = it->second;
      bool ok = p.for_space ? space : audit_->is_durable(p.ticket);
      if (ok) {
        ready_.push_back(p.waiter);
        pending_.erase(it++);
        continue;
      }
      if (p.for_space) {
        want_space = true;
      } else {
        min_ticket = std::min(min_ticket, p.ticket);
      }
      ++it;
    }
    // Callbacks may add or cancel waiters: they run after the table walk.
    for (Waiter* w : ready_) w->on_audit_ready();
    if (pending_.empty()) return;
    if (!ready_.empty()) continue;  // the table changed: look again
    bool again = false;
    if (min_ticket != UINT64_MAX && !audit_->request_wakeup(min_ticket)) again = true;
    if (want_space) {
      audit_->request_space();
      if (audit_->try_claim() != nullptr) again = true;
    }
    if (again) continue;
    arm();
    return;
  }
}

}  // namespace pamproxy::proxy
