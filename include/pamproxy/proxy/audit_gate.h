#pragma once
// The worker's side of the audit trail: it puts events on the worker's audit ring and, in
// [audit] durability = "before-forward", tells a waiting request when its event is on disk, so
// the request goes upstream only then. One per worker; never blocks and takes no lock: waiting is
// an io_uring read of the ring's notify eventfd, which the writer signals after a commit (or
// after freeing space, for a producer that found the ring full).
//
//   if (audit::Event* e = gate.claim()) { fill *e; uint64_t t = gate.publish(); ... }
//   else  -> [audit] on_full: "hold" = gate.wait_space(waiter) (bounded by the caller's timer,
//            hold_timeout_ms), "refuse" = 503 (gate.note_refusal())
//   before-forward: if (!gate.durable(t)) id = gate.wait_durable(t, waiter) -> on_audit_ready()
//
// Callers own their timeouts: a waiter that gives up calls cancel(id) (also required before the
// waiter is destroyed). Callbacks run from the worker's completion dispatch, never inline.

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "pamproxy/audit/ring.h"
#include "pamproxy/engine/ring.h"

namespace pamproxy::proxy {

class AuditGate final : private engine::IoHandler {
 public:
  class Waiter {
   public:
    virtual void on_audit_ready() = 0;

   protected:
    ~Waiter() = default;
  };

  // `audit` may be null (audit off): claim() then always returns null and enabled() is false.
  AuditGate(engine::Ring& ring, audit::Ring* audit, bool before_forward);
  AuditGate(const AuditGate&) = delete;
  AuditGate& operator=(const AuditGate&) = delete;

  bool enabled() const { return audit_ != nullptr; }
  bool before_forward() const { return before_forward_; }
  // [audit] durability changed on reload; applies from the next request.
  void set_before_forward(bool on) { before_forward_ = on && audit_ != nullptr; }

  // The next free slot (holding an old event: clear() it or set every field), or null when the
  // ring is full. Then publish() it.
  audit::Event* claim() { return audit_ != nullptr ? audit_->try_claim() : nullptr; }
  uint64_t publish();
  bool durable(uint64_t ticket) const { return audit_->is_durable(ticket); }
  // True while the writer cannot write or sync (disk full, read-only, I/O error).
  bool faulted() const { return audit_ != nullptr && audit_->writer_faulted(); }

  // on_audit_ready() once `ticket` is durable / once the ring has space. Returns an id for
  // cancel(); never calls back before returning.
  uint64_t wait_durable(uint64_t ticket, Waiter* waiter);
  uint64_t wait_space(Waiter* waiter);
  void cancel(uint64_t id) { pending_.erase(id); }
  size_t waiting() const { return pending_.size(); }

  void note_hold() { audit_->note_hold(); }
  void note_refusal() { audit_->note_refusal(); }

 private:
  struct Pending {
    Waiter* waiter;
    uint64_t ticket;
    bool for_space;
  };
  uint64_t add(Pending p);
  void on_cqe(uint8_t tag, int32_t res, uint32_t flags) override;
  // Calls back every waiter whose condition holds, asks the writer for the next signal, and
  // keeps the read armed while anyone waits.
  void settle();
  void arm();

  engine::Ring& ring_;
  audit::Ring* audit_;
  bool before_forward_;
  absl::flat_hash_map<uint64_t, Pending> pending_;
  std::vector<Waiter*> ready_;  // scratch for settle()
  uint64_t next_id_ = 1;
  uint64_t notify_value_ = 0;
  bool armed_ = false;
};

}  // namespace pamproxy::proxy
