// Concurrency tests of the rings and the writer, built into their own binary so the "tsan" suite
// can run them under ThreadSanitizer (scripts/test).

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "pamproxy/audit/ring.h"
#include "pamproxy/audit/verifier.h"
#include "writer_test_util.h"

namespace pamproxy::audit {
namespace {

// One producer, one consumer, a tiny ring: every event arrives once, in order.
TEST(RingConcurrency, SpscDeliversEveryEventInOrder) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(8, &wake, &fault);
  constexpr uint64_t kEvents = 20000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kEvents; ++i) {
      Event e;
      e.bytes_in = i;
      while (!ring.try_push(e, nullptr)) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  while (expected < kEvents) {
    size_t n = ring.available();
    for (size_t k = 0; k < n; ++k) ASSERT_EQ(ring.at(k).bytes_in, expected++);
    ring.release(n);
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT_EQ(ring.available(), 0u);
}

// Several producers (as engine workers) through the real writer, each waiting for durability
// ("before-forward"): every event is in the log once and the chain verifies.
TEST(WriterConcurrency, ManyProducersNothingLostChainValid) {
  testing::TempDir root;
  WriterOptions o = testing::small_options(root.sub("log"));
  o.ring_entries = 16;
  o.rotate_bytes = 64 << 10;
  auto key = SigningKey::load_or_create(root.sub("k"));
  ASSERT_TRUE(key.ok());
  auto w = Writer::open(o, std::move(*key));
  ASSERT_TRUE(w.ok());
  constexpr int kProducers = 3;
  constexpr uint64_t kPerProducer = 400;
  std::vector<Ring*> rings;
  for (int p = 0; p < kProducers; ++p) rings.push_back((*w)->add_producer());
  (*w)->start();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        Event e = testing::sample_event(i);
        e.request_id.assign("p" + std::to_string(p) + "-" + std::to_string(i));
        uint64_t ticket;
        if (!rings[p]->push_wait(e, &ticket, 10000)) {
          ++failures;
          return;
        }
        // Every fourth event waits, as a request that is forwarded only once durable.
        if (i % 4 == 0 && !rings[p]->wait_durable(ticket, 10000)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  (*w)->stop();
  EXPECT_EQ(failures.load(), 0);
  for (Ring* r : rings) EXPECT_EQ(r->durable(), kPerProducer);

  auto pub = PublicKey::from_pem((*w)->public_key().pem());
  VerifyOptions vo;
  vo.key = &*pub;
  VerifyResult r = verify_directory(o.directory, vo);
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  std::string all;
  for (const auto& f : testing::log_files(o.directory)) {
    all += testing::read_file(o.directory + "/" + f);
  }
  for (int p = 0; p < kProducers; ++p) {
    for (uint64_t i = 0; i < kPerProducer; i += 37) {
      std::string id =
          "\"proxyRequestId\":\"p" + std::to_string(p) + "-" + std::to_string(i) + "\"";
      size_t first = all.find(id);
      ASSERT_NE(first, std::string::npos) << id;
      EXPECT_EQ(all.find(id, first + 1), std::string::npos) << id << " twice";
    }
  }
}

}  // namespace
}  // namespace pamproxy::audit
