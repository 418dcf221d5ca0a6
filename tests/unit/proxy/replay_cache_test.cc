// The replay cache: the same signature from another client within the window is a replay; from
// the same client it is not; entries leave after the window and beyond the size bound.

#include "pamproxy/proxy/replay_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::proxy {
namespace {

std::string sig(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i);
  return buf;
}

TEST(ReplayCache, AnotherClientWithinTheWindowIsAReplay) {
  ReplayCache c(16, 900);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 7, 1000));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 7, 1001));  // the same client again
  EXPECT_TRUE(c.seen_elsewhere(sig(1), 8, 1002));   // someone else
  EXPECT_FALSE(c.seen_elsewhere(sig(2), 8, 1002));  // another request
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 8, 1000 + 901));  // past the window: forgotten
}

TEST(ReplayCache, BoundedByEntries) {
  ReplayCache c(4, 900);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(c.seen_elsewhere(sig(i), 1, 100));
  EXPECT_LE(c.size(), 4u);
  EXPECT_FALSE(c.seen_elsewhere(sig(0), 2, 100));  // the oldest were forgotten
  EXPECT_TRUE(c.seen_elsewhere(sig(9), 2, 100));   // the newest are kept
}

TEST(ReplayCache, ZeroEntriesDisablesIt) {
  ReplayCache c(0, 900);
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 1, 100));
  EXPECT_FALSE(c.seen_elsewhere(sig(1), 2, 100));
}

}  // namespace
}  // namespace pamproxy::proxy
