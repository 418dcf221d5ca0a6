// The replay cache: the same signature from another client within the window is a replay; from
// the same client it is not; entries leave after the window and beyond the size bound, the
// oldest first; a new window applies at once.

#include "pamproxy/proxy/replay_cache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace pamproxy::proxy {
namespace {

// A signature whose first byte (the shard) is `shard_byte` and whose other bytes come from `i`.
std::string sig(int i, int shard_byte = 0) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%02x%062x", shard_byte, i);
  return buf;
}

TEST(ReplayCache, AnotherClientWithinTheWindowIsAReplay) {
  ReplayCache c(16, 900, 1);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 7, 1000));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 7, 1001));        // the same client again
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 8, 1002));         // someone else
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 9, 1900));         // to the last second of the window
  EXPECT_FALSE(c.seen_elsewhere(sig(2), 8, 1002));        // another request
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 8, 1000 + 901));  // past the window: forgotten
}

TEST(ReplayCache, TheSameClientMayRetryAnyNumberOfTimes) {
  ReplayCache c(16, 900, 1);
  for (int64_t t = 1000; t < 1010; ++t) EXPECT_FALSE(c.seen_elsewhere(sig(3), 7, t));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(c.seen_elsewhere(sig(3), 8, 1010));
}

TEST(ReplayCache, AnEntryPastTheWindowIsRecordedAnewForItsNewClient) {
  ReplayCache c(16, 10, 1);
  // Two workers read the clock a little apart: the older time is recorded second, behind a
  // younger front.
  EXPECT_FALSE(c.seen_elsewhere(sig(2), 7, 105));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 7, 100));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 8, 111));  // past its window, though not at the front
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 7, 112));   // now 8's: 7 is the other client
  EXPECT_TRUE(c.seen_elsewhere(sig(2), 8, 112));
  // sig(2) and the old sig(1) leave the front; the new sig(1) stays.
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 7, 116));
  EXPECT_EQ(c.size(), 1u);
}

TEST(ReplayCache, ExpiredEntriesLeave) {
  ReplayCache c(16, 10, 1);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(c.seen_elsewhere(sig(i), 1, 100));
  EXPECT_EQ(c.size(), 5u);
  EXPECT_FALSE(c.seen_elsewhere(sig(99), 1, 111));
  EXPECT_EQ(c.size(), 1u);  // the five dropped as they reached the front
}

TEST(ReplayCache, FullShardForgetsItsOldestFirst) {
  ReplayCache c(4, 900, 1);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(c.seen_elsewhere(sig(i), 1, 100 + i));
  EXPECT_EQ(c.size(), 4u);
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(c.seen_elsewhere(sig(i), 2, 200)) << i;
  // The six above pushed out 6..9 in turn (the oldest first); the newest four remain.
  for (int i = 2; i < 6; ++i) EXPECT_TRUE(c.seen_elsewhere(sig(i), 1, 200)) << i;
  EXPECT_FALSE(c.seen_elsewhere(sig(9), 2, 200));
}

TEST(ReplayCache, OldestGoesEvenWhenARetryTouchedIt) {
  ReplayCache c(3, 900, 1);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 1, 100));
  EXPECT_FALSE(c.seen_elsewhere(sig(2), 1, 101));
  EXPECT_FALSE(c.seen_elsewhere(sig(3), 1, 102));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 1, 103));  // a retry does not make it younger
  EXPECT_FALSE(c.seen_elsewhere(sig(4), 1, 104));  // pushes out sig(1)
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 2, 105));
  EXPECT_TRUE(c.seen_elsewhere(sig(3), 2, 105));
}

TEST(ReplayCache, BoundedInAllShards) {
  ReplayCache c(64, 900, 16);
  EXPECT_EQ(c.shard_count(), 16u);
  EXPECT_EQ(c.capacity(), 64u);
  for (int i = 0; i < 2000; ++i) c.seen_elsewhere(sig(i, i % 256), 1, 100);
  EXPECT_EQ(c.size(), 64u);
  // Each shard keeps its own newest four: the last 64 signatures, as they spread evenly here.
  for (int i = 2000 - 64; i < 2000; ++i) EXPECT_TRUE(c.seen_elsewhere(sig(i, i % 256), 2, 100));
  for (int i = 0; i < 64; ++i) EXPECT_FALSE(c.seen_elsewhere(sig(i, i % 256), 2, 100));
}

TEST(ReplayCache, ShardsNeverExceedEntries) {
  ReplayCache c(3, 900, 16);
  EXPECT_EQ(c.shard_count(), 2u);
  EXPECT_EQ(c.capacity(), 4u);  // 3 rounded up over 2 shards
  ReplayCache one(1, 900);
  EXPECT_EQ(one.shard_count(), 1u);
  EXPECT_EQ(one.capacity(), 1u);
}

TEST(ReplayCache, ManyEntriesAcrossOneIndexStayReachable) {
  // Signatures that share their hash bytes collide in the index: erasing from the middle of a
  // probe run must keep the rest reachable.
  ReplayCache c(8, 900, 1);
  auto colliding = [](int i) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "00%014x%016x%032x", i, 0, i);
    return std::string(buf);
  };
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(c.seen_elsewhere(colliding(i), 1, 100));
  for (int i = 12; i < 20; ++i) EXPECT_TRUE(c.seen_elsewhere(colliding(i), 2, 100)) << i;
  EXPECT_FALSE(c.seen_elsewhere(colliding(11), 2, 100));
}

TEST(ReplayCache, ANewWindowAppliesToKeptEntries) {
  ReplayCache c(16, 900, 1);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 1, 1000));
  c.set_window_s(60);
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 2, 1060));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 2, 1061));
  c.set_window_s(900);
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 3, 1800));  // now 2's, from 1061
}

TEST(ReplayCache, ZeroEntriesDisablesIt) {
  ReplayCache c(0, 900);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 1, 100));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 2, 100));
  EXPECT_EQ(c.capacity(), 0u);
}

}  // namespace
}  // namespace pamproxy::proxy
