// The per-worker cache of relay mappings: reuse without a new mapping, resident pages bounded.

#include "pamproxy/proxy/relay_memory.h"

#include <gtest/gtest.h>

#include <cstring>

namespace pamproxy::proxy {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kKeep = 4 * kPage;
constexpr size_t kBytes = 64 * kPage;

TEST(RelayMemoryCache, AClosedTunnelsMappingIsTakenAsItIsByTheNext) {
  RelayMemoryCache cache(2, kKeep);
  uint8_t* first = nullptr;
  {
    RelayMemory m(cache);
    ASSERT_TRUE(m.map(kBytes));
    first = m.base;
    std::memset(m.base, 0xab, kKeep);
  }
  EXPECT_EQ(cache.size(), 1u);
  RelayMemory next(cache);
  ASSERT_TRUE(next.map(kBytes));
  EXPECT_EQ(next.base, first);
  EXPECT_EQ(cache.mapped(), 1u);  // one mmap for two tunnels
  EXPECT_EQ(next.base[kKeep - 1], 0xab);  // its pages stayed resident: nothing was zeroed
}

TEST(RelayMemoryCache, ABufferedBodysPagesAreGivenBackBeforeCaching) {
  RelayMemoryCache cache(2, kKeep);
  {
    RelayMemory m(cache);
    ASSERT_TRUE(m.map(kBytes));
    std::memset(m.base, 0xcd, kBytes);
    m.tail_touched = true;
  }
  RelayMemory next(cache);
  ASSERT_TRUE(next.map(kBytes));
  EXPECT_EQ(next.base[0], 0xcd);
  EXPECT_EQ(next.base[kKeep], 0);  // past keep_bytes: fresh zero pages again
  EXPECT_EQ(next.base[kBytes - 1], 0);
}

TEST(RelayMemoryCache, KeepsAtMostItsEntriesAndOnlyTheSizeAskedFor) {
  RelayMemoryCache cache(2, kKeep);
  {
    RelayMemory a(cache), b(cache), c(cache);
    ASSERT_TRUE(a.map(kBytes) && b.map(kBytes) && c.map(kBytes));
  }
  EXPECT_EQ(cache.size(), 2u);  // the third was unmapped
  EXPECT_EQ(cache.mapped(), 3u);
  {
    RelayMemory old_size(cache);
    ASSERT_TRUE(old_size.map(kBytes));
    RelayMemory bigger(cache);  // the body cap grew on reload
    ASSERT_TRUE(bigger.map(2 * kBytes));
    EXPECT_EQ(cache.size(), 0u);  // mappings of the old size are not kept for it
    EXPECT_EQ(cache.mapped(), 4u);
  }
  EXPECT_EQ(cache.size(), 1u);  // the new size only; the old-size one was unmapped
}

TEST(RelayMemory, QuietReleaseGivesEveryPageBack) {
  RelayMemoryCache cache(1, kKeep);
  RelayMemory m(cache);
  ASSERT_TRUE(m.map(kBytes));
  std::memset(m.base, 0xef, kBytes);
  m.tail_touched = true;
  m.release();
  EXPECT_FALSE(m.tail_touched);
  EXPECT_EQ(m.base[0], 0);
  EXPECT_EQ(m.base[kBytes - 1], 0);
}

}  // namespace
}  // namespace pamproxy::proxy
