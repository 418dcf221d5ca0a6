// The shared LRU of minted leaves: hits, eviction order, normalization, refusal of bad names,
// and concurrent use from several threads.

#include "pamproxy/tls/leaf_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pamproxy::tls {
namespace {

std::shared_ptr<LeafCache> make_cache(size_t capacity) {
  auto ca = CertificateAuthority::generate("test CA");
  EXPECT_TRUE(ca.ok());
  auto cache = LeafCache::create(std::move(*ca), capacity, 30);
  EXPECT_TRUE(cache.ok());
  return *cache;
}

TEST(LeafCache, MintsOnceThenHits) {
  auto cache = make_cache(8);
  auto a = cache->get("s3.amazonaws.com");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = cache->get("S3.AMAZONAWS.COM.");  // same host, other spelling
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  auto s = cache->stats();
  EXPECT_EQ(s.mints, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.entries, 1u);
  // The leaf carries the shared key.
  EXPECT_EQ(X509_check_private_key((*a)->cert.get(), cache->key()), 1);
}

TEST(LeafCache, EvictsLeastRecentlyUsed) {
  auto cache = make_cache(2);
  auto a = cache->get("a.example");
  ASSERT_TRUE(cache->get("b.example").ok());
  ASSERT_TRUE(cache->get("a.example").ok());  // a is now most recent
  ASSERT_TRUE(cache->get("c.example").ok());  // evicts b
  auto s = cache->stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 2u);
  auto a2 = cache->get("a.example");
  EXPECT_EQ(a->get(), a2->get());
  EXPECT_EQ(cache->stats().mints, 3u);
  ASSERT_TRUE(cache->get("b.example").ok());  // minted again
  EXPECT_EQ(cache->stats().mints, 4u);
  // The evicted leaf stays valid for whoever still holds it.
  EXPECT_NE((*a)->cert.get(), nullptr);
}

TEST(LeafCache, RefusesInvalidHosts) {
  auto cache = make_cache(2);
  auto bad = cache->get("evil.com,DNS:*.example");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->stats().mint_failures, 1u);
  EXPECT_EQ(cache->stats().entries, 0u);
}

TEST(LeafCache, SharedByThreads) {
  auto cache = make_cache(16);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string host = "h" + std::to_string((i + t) % 8) + ".example";
        auto leaf = cache->get(host);
        if (!leaf.ok() || (*leaf)->cert == nullptr) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto s = cache->stats();
  EXPECT_EQ(s.entries, 8u);
  EXPECT_EQ(s.hits + s.mints, 800u);
  // Concurrent first misses may mint twice; never per connection.
  EXPECT_LE(s.mints, 8u * 4u);
  EXPECT_GE(s.hits, 800u - 32u);
}

}  // namespace
}  // namespace pamproxy::tls
