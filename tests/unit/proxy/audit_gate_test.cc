// The audit gate with a real io_uring and a real audit writer: a before-forward waiter is
// called back from the completion path once its event is on disk (never inline); a full ring
// makes claim() fail and wait_space() calls back once the writer frees space; a cancelled
// waiter is never called.

#include "pamproxy/proxy/audit_gate.h"

#include <gtest/gtest.h>

#include "pamproxy/audit/writer.h"
#include "tests/unit/audit/writer_test_util.h"

namespace pamproxy::proxy {
namespace {

struct Flag final : AuditGate::Waiter {
  int calls = 0;
  void on_audit_ready() override { ++calls; }
};

class AuditGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = engine::Ring::create(64);
    ASSERT_TRUE(r.ok()) << r.status();
    ring_ = std::move(*r);
  }
  std::unique_ptr<audit::Writer> open_writer(size_t ring_entries) {
    audit::WriterOptions o = audit::testing::small_options(tmp_.sub("audit"));
    o.ring_entries = ring_entries;
    auto key = audit::SigningKey::load_or_create(tmp_.sub("key"));
    EXPECT_TRUE(key.ok());
    auto w = audit::Writer::open(o, std::move(*key));
    EXPECT_TRUE(w.ok()) << w.status();
    return std::move(*w);
  }
  // Runs the ring until `done()` or 5 s.
  template <typename F>
  void run_until(F done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      ring_->submit_and_wait(10);
      ring_->dispatch();
    }
  }
  audit::testing::TempDir tmp_;
  std::unique_ptr<engine::Ring> ring_;
};

TEST_F(AuditGateTest, BeforeForwardWaiterHearsDurability) {
  auto writer = open_writer(64);
  AuditGate gate(*ring_, writer->add_producer(), /*before_forward=*/true);
  writer->start();
  audit::Event* e = gate.claim();
  ASSERT_NE(e, nullptr);
  *e = audit::testing::sample_event(1);
  uint64_t ticket = gate.publish();
  Flag f;
  gate.wait_durable(ticket, &f);
  EXPECT_EQ(f.calls, 0);  // never inline
  run_until([&] { return f.calls > 0; });
  EXPECT_EQ(f.calls, 1);
  EXPECT_TRUE(gate.durable(ticket));
  EXPECT_EQ(gate.waiting(), 0u);
  writer->stop();
}

TEST_F(AuditGateTest, AlreadyDurableStillCallsBackFromDispatch) {
  auto writer = open_writer(64);
  audit::Ring* r = writer->add_producer();
  AuditGate gate(*ring_, r, true);
  writer->start();
  audit::Event* e = gate.claim();
  *e = audit::testing::sample_event(2);
  uint64_t ticket = gate.publish();
  ASSERT_TRUE(r->wait_durable(ticket, 5000));
  Flag f;
  gate.wait_durable(ticket, &f);
  EXPECT_EQ(f.calls, 0);
  run_until([&] { return f.calls > 0; });
  EXPECT_EQ(f.calls, 1);
  writer->stop();
}

TEST_F(AuditGateTest, FullRingWaitsForSpaceAndCancelledWaiterIsSilent) {
  auto writer = open_writer(2);
  AuditGate gate(*ring_, writer->add_producer(), true);
  // The writer is not running yet: the ring fills.
  int pushed = 0;
  while (audit::Event* e = gate.claim()) {
    *e = audit::testing::sample_event(static_cast<uint64_t>(pushed++));
    gate.publish();
  }
  EXPECT_EQ(pushed, 2);
  Flag space, cancelled;
  gate.wait_space(&space);
  uint64_t id = gate.wait_space(&cancelled);
  gate.cancel(id);
  writer->start();  // drains: space frees
  run_until([&] { return space.calls > 0; });
  EXPECT_EQ(space.calls, 1);
  EXPECT_EQ(cancelled.calls, 0);
  EXPECT_NE(gate.claim(), nullptr);
  writer->stop();
}

TEST(AuditGateOff, NoRingMeansDisabled) {
  auto r = engine::Ring::create(8);
  ASSERT_TRUE(r.ok());
  AuditGate gate(**r, nullptr, true);
  EXPECT_FALSE(gate.enabled());
  EXPECT_FALSE(gate.before_forward());
  EXPECT_EQ(gate.claim(), nullptr);
}

}  // namespace
}  // namespace pamproxy::proxy
