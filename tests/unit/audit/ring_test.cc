#include "pamproxy/audit/ring.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "audit_test_util.h"

namespace pamproxy::audit {
namespace {

TEST(Ring, CapacityIsAPowerOfTwo) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  EXPECT_EQ(Ring(100, &wake, &fault).capacity(), 128u);
  EXPECT_EQ(Ring(64, &wake, &fault).capacity(), 64u);
  EXPECT_EQ(Ring(1, &wake, &fault).capacity(), 2u);
}

TEST(Ring, FullIsReportedAndCountedNeverOverwritten) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(4, &wake, &fault);
  uint64_t ticket = 99;
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_push(testing::sample_event(i), &ticket));
    EXPECT_EQ(ticket, i);
  }
  EXPECT_FALSE(ring.try_push(testing::sample_event(4), &ticket));
  ring.note_refusal();
  ring.note_hold();
  EXPECT_EQ(ring.refusals(), 1u);
  EXPECT_EQ(ring.holds(), 1u);
  ASSERT_EQ(ring.available(), 4u);
  EXPECT_EQ(ring.at(0).request_id.view(), "req-0");
  EXPECT_EQ(ring.at(3).request_id.view(), "req-3");
  ring.release(2);
  EXPECT_TRUE(ring.try_push(testing::sample_event(4), &ticket));
  EXPECT_EQ(ticket, 4u);
  EXPECT_EQ(ring.available(), 3u);
  EXPECT_EQ(ring.at(2).request_id.view(), "req-4");
}

TEST(Ring, DurabilityFollowsThePublishedIndexAndWakesOnlyWhenAsked) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(8, &wake, &fault);
  uint64_t t0, t1;
  ASSERT_TRUE(ring.try_push(testing::sample_event(0), &t0));
  ASSERT_TRUE(ring.try_push(testing::sample_event(1), &t1));
  ring.release(ring.available());
  ring.publish_durable(1);  // nobody asked: no signal
  pollfd p = {ring.notify_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  EXPECT_TRUE(ring.is_durable(t0));
  EXPECT_FALSE(ring.is_durable(t1));
  EXPECT_TRUE(ring.request_wakeup(t1));
  ring.publish_durable(2);
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  ring.consume_notification();
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  EXPECT_TRUE(ring.is_durable(t1));
  EXPECT_FALSE(ring.request_wakeup(t1));  // already durable: do not wait
}

TEST(Ring, WaitsAreBounded) {
  WriterWake wake;
  std::atomic<uint32_t> fault{1};
  Ring ring(2, &wake, &fault);
  EXPECT_TRUE(ring.writer_faulted());
  uint64_t t;
  ASSERT_TRUE(ring.try_push(testing::sample_event(0), &t));
  ASSERT_TRUE(ring.try_push(testing::sample_event(1), &t));
  EXPECT_FALSE(ring.push_wait(testing::sample_event(2), &t, 20));
  EXPECT_FALSE(ring.wait_durable(0, 20));
}

}  // namespace
}  // namespace pamproxy::audit

namespace pamproxy::audit {
namespace {

TEST(Ring, ClaimAndPublishFillSlotsInPlace) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(2, &wake, &fault);
  for (uint64_t i = 0; i < 2; ++i) {
    Event* slot = ring.try_claim();
    ASSERT_NE(slot, nullptr);
    slot->clear();
    slot->request_id.assign("claimed-" + std::to_string(i));
    uint64_t ticket;
    ring.publish(&ticket);
    EXPECT_EQ(ticket, i);
  }
  EXPECT_EQ(ring.try_claim(), nullptr);
  ASSERT_EQ(ring.available(), 2u);
  EXPECT_EQ(ring.at(1).request_id.view(), "claimed-1");
  EXPECT_TRUE(ring.at(1).user.empty());
  ring.release(1);
  Event* slot = ring.try_claim();
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(slot->request_id.view(), "claimed-0");  // the old event until cleared
  slot->clear();
  EXPECT_TRUE(slot->request_id.empty());
}

}  // namespace
}  // namespace pamproxy::audit
