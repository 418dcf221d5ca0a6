// The dashboard's requests and denials per minute, counted from a real audit log.

#include "src/admin/activity.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/audit/writer_test_util.h"

namespace pamproxy::admin {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;
// 2026-11-18T... at the start of a minute, as sample_event's times are.
constexpr int64_t kT0 = 1795000000000000000ll / kMinuteNs * kMinuteNs;

// Writes forwarded and denied requests and a tunnel event at the given minutes after kT0.
void write_log(const std::string& dir, const std::string& key_path,
               const std::vector<std::pair<int64_t, audit::EventType>>& events) {
  auto key = audit::SigningKey::load_or_create(key_path);
  ASSERT_TRUE(key.ok()) << key.status();
  auto w = audit::Writer::open(audit::testing::small_options(dir), std::move(*key));
  ASSERT_TRUE(w.ok()) << w.status();
  audit::Ring* ring = (*w)->add_producer();
  (*w)->start();
  uint64_t i = 0;
  for (const auto& [minute, type] : events) {
    audit::Event e = audit::testing::sample_event(i++);
    e.type = type;
    e.time_unix_ns = kT0 + minute * kMinuteNs + 1000;
    uint64_t ticket;
    ASSERT_TRUE(ring->push_wait(e, &ticket, 5000));
    ASSERT_TRUE(ring->wait_durable(ticket, 5000));
  }
  (*w)->stop();
}

TEST(Activity, CountsRequestsAndDenialsPerMinuteOfTheLastFifteen) {
  audit::testing::TempDir root;
  using T = audit::EventType;
  write_log(root.sub("log"), root.sub("key"),
            {{0, T::kRequestForwarded},
             {0, T::kRequestDenied},
             {0, T::kTunnelOpened},
             {2, T::kRequestForwarded},
             {2, T::kRequestCompleted},
             {2, T::kRequestForwarded},
             {20, T::kRequestDenied}});
  Activity a(root.sub("log"));
  const int64_t now = kT0 + 14 * kMinuteNs + 5;  // minute 0 is the oldest one kept
  a.catch_up(now);
  EXPECT_EQ(a.requests(now), 4u);  // denials are requests too; minute 20 is ahead of `now`
  EXPECT_EQ(a.denied(now), 1u);
  JsonWriter w;
  a.write_json(w, now);
  const std::string json = w.take();
  EXPECT_EQ(json.find(R"({"minute":)"), 1u) << json;
  EXPECT_NE(json.find(R"(","requests":2,"denied":1},)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"(","requests":2,"denied":0},)"), std::string::npos) << json;
  EXPECT_EQ(std::count(json.begin(), json.end(), '{'), 15) << json;

  // Later, minute 0 has left the window and minute 20 is in it.
  const int64_t later = kT0 + 20 * kMinuteNs + 5;
  a.catch_up(later);
  EXPECT_EQ(a.requests(later), 1u);
  EXPECT_EQ(a.denied(later), 1u);
}

TEST(Activity, NoLogCountsNothing) {
  audit::testing::TempDir root;
  Activity a(root.sub("missing"));
  a.catch_up(kT0);
  EXPECT_EQ(a.requests(kT0), 0u);
  Activity none("");
  none.catch_up(kT0);
  EXPECT_EQ(none.requests(kT0), 0u);
}

}  // namespace
}  // namespace pamproxy::admin
