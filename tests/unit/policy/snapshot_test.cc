#include "pamproxy/policy/snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "pamproxy/policy/decision.h"
#include "tests/unit/policy/policy_fixture.h"

namespace pamproxy::policy {
namespace {

using testing::fixture_data;

TEST(Snapshot, IndexesAndPermissions) {
  auto s = Snapshot::build(fixture_data(), 7);
  EXPECT_EQ(s->generation(), 7u);
  ASSERT_NE(s->find_token("TALICE"), nullptr);
  EXPECT_EQ(s->find_token("TALICE")->token.secret.reveal(), "tok-secret-TALICE");
  EXPECT_EQ(s->find_token("nope"), nullptr);
  int32_t open = s->record_index_by_name("open");
  ASSERT_GE(open, 0);
  EXPECT_EQ(s->record_index_by_id("r-open"), open);
  const UserEntry* alice = s->find_user("u-alice");
  const UserEntry* bob = s->find_user("u-bob");
  const UserEntry* dave = s->find_user("u-dave");
  ASSERT_TRUE(alice && bob && dave);
  auto index = [&](const UserEntry* u) { return static_cast<uint32_t>(u - s->users().data()); };
  EXPECT_EQ(s->permissions(index(alice), open), kView | kConnect);
  EXPECT_EQ(s->permissions(index(bob), open), kView | kConnect);  // role ops, tag prod
  EXPECT_EQ(s->permissions(index(dave), open), 0);
}

TEST(Snapshot, DropsDanglingReferences) {
  SnapshotData d = fixture_data();
  d.tokens.push_back(testing::make_token("TGHOST", "u-deleted"));
  d.grants.push_back(testing::grant_user("u-dave", "r-deleted", kConnect));
  auto s = Snapshot::build(std::move(d), 1);
  EXPECT_EQ(s->find_token("TGHOST"), nullptr);
  for (uint32_t r = 0; r < s->records().size(); ++r) {
    EXPECT_EQ(s->permissions(static_cast<uint32_t>(s->find_user("u-dave") - s->users().data()), r),
              0);
  }
}

TEST(SnapshotPublisher, ReaderSeesNewGenerationOnNextGet) {
  SnapshotPublisher pub(Snapshot::build(fixture_data(), 1));
  SnapshotReader reader(pub);
  const Snapshot* first = &reader.get();
  EXPECT_EQ(first->generation(), 1u);
  EXPECT_EQ(&reader.get(), first);  // unchanged: same object, no lock taken
  SnapshotData d = fixture_data();
  d.settings.proxy_enabled = false;
  pub.publish(Snapshot::build(std::move(d), 2));
  EXPECT_EQ(reader.get().generation(), 2u);
  EXPECT_FALSE(reader.get().settings().proxy_enabled);
}

TEST(SnapshotPublisher, WorkersPickUpChangesWithin100ms) {
  SnapshotPublisher pub(Snapshot::build(fixture_data(), 1));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> seen{1};
  std::atomic<int64_t> seen_at_ns{0};
  const auto start = std::chrono::steady_clock::now();
  std::thread worker([&] {
    SnapshotReader reader(pub);
    const net::IpAddress client = *net::IpAddress::parse("10.0.0.1");
    while (!stop.load(std::memory_order_relaxed)) {
      const Snapshot& s = reader.get();
      Decision d = decide(s, "TALICE", "open", "s3:GetObject", client, testing::fixture_now());
      if (s.generation() == 2 && seen.load() == 1) {
        // Generation 2 disables the proxy: the decision must already follow it.
        EXPECT_EQ(d.deny, DenyKind::kProxyDisabled);
        seen_at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
        seen = 2;
      }
    }
  });
  SnapshotData d = fixture_data();
  d.settings.proxy_enabled = false;
  auto next = Snapshot::build(std::move(d), 2);
  const int64_t published_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  pub.publish(std::move(next));
  while (seen.load() != 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::yield();
  }
  stop = true;
  worker.join();
  ASSERT_EQ(seen.load(), 2u);
  EXPECT_LT(seen_at_ns.load() - published_ns, 100'000'000);
}

}  // namespace
}  // namespace pamproxy::policy
