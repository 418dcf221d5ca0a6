// The replay cache from several threads at once, as the workers use it (run under
// ThreadSanitizer in suite "tsan"): every thread records its own signatures and replays the
// others', in the same shards, while the window changes under them.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "pamproxy/proxy/replay_cache.h"

namespace pamproxy::proxy {
namespace {

// splitmix64's finalizer: a bijection that spreads the bits.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A distinct signature per (thread, i). Byte 0 picks the shard: i % 256 spreads them evenly, so
// the rounded-up shard capacity holds them all. Bytes 8-15 place a key in its shard's index: as
// uniform as the HMACs the cache takes (patterned ones would pile into one probe run).
std::string sig(int thread, int i) {
  const uint64_t v = uint64_t{static_cast<uint32_t>(thread)} << 32 | static_cast<uint32_t>(i);
  char buf[65];
  std::snprintf(buf, sizeof buf, "%02x%014llx%016llx%016llx%016llx", i % 256,
                static_cast<unsigned long long>(mix(v) >> 8),
                static_cast<unsigned long long>(mix(~v)),
                static_cast<unsigned long long>(mix(v ^ 0x5555555555555555ull)),
                static_cast<unsigned long long>(mix(v ^ 0xaaaaaaaaaaaaaaaaull)));
  return buf;
}

TEST(ReplayCacheThreads, ReplaysAcrossThreadsAreRefused) {
  constexpr int kThreads = 4;
  constexpr int kSignatures = 20000;
  ReplayCache cache(size_t{kThreads} * kSignatures, 900);
  // Each thread records its own, then waits for all before replaying a neighbour's.
  std::atomic<int> recorded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t client = 100 + t;
      for (int i = 0; i < kSignatures; ++i) {
        EXPECT_FALSE(cache.seen_elsewhere(sig(t, i), client, 1000));
        EXPECT_FALSE(cache.seen_elsewhere(sig(t, i), client, 1000));  // a retry
      }
      recorded.fetch_add(1);
      while (recorded.load() < kThreads) std::this_thread::yield();
      const int other = (t + 1) % kThreads;
      int n = 0;
      for (int i = 0; i < kSignatures; ++i) n += cache.seen_elsewhere(sig(other, i), client, 1001);
      refused.fetch_add(n);
    });
  }
  for (std::thread& th : threads) th.join();
  // Rounded-up shard capacity holds them all: every replay from another client is refused.
  EXPECT_EQ(refused.load(), kThreads * kSignatures);
  EXPECT_EQ(cache.size(), size_t{kThreads} * kSignatures);
}

TEST(ReplayCacheThreads, StaysBoundedUnderChurnAndWindowChanges) {
  constexpr int kThreads = 4;
  ReplayCache cache(1024, 900);
  std::atomic<bool> stop{false};
  std::thread reloader([&] {
    for (int i = 0; !stop.load(); ++i) {
      cache.set_window_s(i % 2 == 0 ? 5 : 900);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50000; ++i) {
        // Clocks a little apart per thread, moving on; replays of the previous thread's.
        const int64_t now_s = 1000 + i / 1000 + t;
        cache.seen_elsewhere(sig(t, i), 100 + t, now_s);
        cache.seen_elsewhere(sig((t + 1) % kThreads, i), 100 + t, now_s);
        if (i % 1000 == 0) {
          EXPECT_LE(cache.size(), cache.capacity());
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  stop.store(true);
  reloader.join();
  EXPECT_LE(cache.size(), cache.capacity());
}

}  // namespace
}  // namespace pamproxy::proxy
