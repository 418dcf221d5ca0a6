// The session indexer over a real audit log (written by the real writer) and a real store:
// sessions appear while open, grow, close after the idle timeout, and a restart in the middle of
// an open session neither loses nor double-counts its requests.

#include "pamproxy/store/session_indexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/audit/writer_test_util.h"
#include "tests/unit/store/temp_dir.h"

namespace pamproxy::store {
namespace {

constexpr int64_t kT0 = 1795000000000000000ll;  // sample_event(0)'s time

class SessionIndexerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open_store() {
    auto s = Store::open(
        {.database_file = dir_.file("pamproxy.db"), .master_key_file = dir_.file("master.key")});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  SessionIndexerOptions options() {
    return {.audit_directory = dir_.file("audit"),
            .idle_timeout_s = 900,
            .poll_interval_ms = 10,
            .now_unix_ns = [this] { return now_ns_; }};
  }
  void write(uint64_t n, uint64_t first) {
    audit::testing::write_events(audit::testing::small_options(dir_.file("audit")),
                                 dir_.file("audit.key"), n, first);
  }
  testing::TempDir dir_;
  int64_t now_ns_ = kT0 + 1000000000;  // one second after the first event
};

TEST_F(SessionIndexerTest, OpenGrowCloseAndSurviveRestart) {
  auto store = open_store();
  ASSERT_TRUE(store);
  write(3, 0);
  {
    SessionIndexer ix(*store, options());
    auto n = ix.run_once();
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_GT(*n, 3u);  // the events and the writer's own lines
    auto rows = store->list_sessions({});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(rows[0].open);
    EXPECT_EQ(rows[0].requests, 3u);
    EXPECT_EQ(rows[0].user, "alice");
    EXPECT_EQ(rows[0].record_id, "rec-1");
    EXPECT_EQ(rows[0].source_ip, "192.0.2.10");
    auto n2 = ix.run_once();
    ASSERT_TRUE(n2.ok());
    EXPECT_EQ(*n2, 0u);  // nothing new
  }
  // Restart while the session is open; more requests arrive meanwhile.
  write(2, 3);
  SessionIndexer ix(*store, options());
  ASSERT_TRUE(ix.run_once().ok());
  auto rows = store->list_sessions({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].requests, 5u);  // 3 + 2, not 2 and not 8
  EXPECT_TRUE(rows[0].open);

  // Idle past the timeout: closed, with its report.
  now_ns_ = kT0 + 2000ll * 1000000000;
  ASSERT_TRUE(ix.run_once().ok());
  auto got = store->get_session(rows[0].id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->open);
  EXPECT_EQ(got->requests, 5u);
  EXPECT_NE(got->report_json.find("GetObject"), std::string::npos) << got->report_json;
  EXPECT_NE(got->report_text.find("aws s3 cp"), std::string::npos) << got->report_text;
}

TEST_F(SessionIndexerTest, ThreadIndexesAsTheLogGrows) {
  auto store = open_store();
  ASSERT_TRUE(store);
  write(2, 0);
  SessionIndexer ix(*store, options());
  ix.start();
  // Await the row (bounded), not a fixed sleep.
  for (int i = 0; i < 500 && store->list_sessions({}).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ix.stop();
  auto rows = store->list_sessions({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].requests, 2u);
}

// A large session that keeps growing is saved at most every kBusySaveIntervalS, and as soon as a
// pass brings it nothing new; what is held back is never lost.
TEST_F(SessionIndexerTest, BusyLargeSessionIsSavedByIntervalAndWhenQuiet) {
  auto store = open_store();
  ASSERT_TRUE(store);
  const auto log = audit::testing::small_options(dir_.file("audit"));
  const uint64_t big = SessionIndexer::kFreshRequestsMax + 1;
  audit::testing::write_events(log, dir_.file("audit.key"), big, 0, false);
  SessionIndexer ix(*store, options());
  auto requests = [&] {
    auto rows = store->list_sessions({});
    return rows.size() == 1 ? rows[0].requests : 0;
  };
  ASSERT_TRUE(ix.run_once().ok());
  EXPECT_EQ(requests(), big);  // first seen: saved at once

  audit::testing::write_events(log, dir_.file("audit.key"), 2, big, false);
  ASSERT_TRUE(ix.run_once().ok());
  EXPECT_EQ(requests(), big);  // busy and saved just now: held back
  ASSERT_TRUE(ix.run_once().ok());
  EXPECT_EQ(requests(), big + 2);  // a pass with nothing new: saved

  audit::testing::write_events(log, dir_.file("audit.key"), 3, big + 2, false);
  now_ns_ += SessionIndexer::kBusySaveIntervalS * 1000000000;
  ASSERT_TRUE(ix.run_once().ok());
  EXPECT_EQ(requests(), big + 5);  // busy, but the interval has passed
}

// Writes `events` through the real writer, as the daemon's producers do.
void write_these(const std::string& dir, const std::string& key_path,
                 const std::vector<audit::Event>& events) {
  auto key = audit::SigningKey::load_or_create(key_path);
  ASSERT_TRUE(key.ok()) << key.status();
  auto w = audit::Writer::open(audit::testing::small_options(dir), std::move(*key));
  ASSERT_TRUE(w.ok()) << w.status();
  audit::Ring* ring = (*w)->add_producer();
  (*w)->start();
  for (const audit::Event& e : events) {
    uint64_t ticket;
    ASSERT_TRUE(ring->push_wait(e, &ticket, 5000));
    ASSERT_TRUE(ring->wait_durable(ticket, 5000));
  }
  (*w)->stop();
}

audit::Event use_of(std::string_view token_id, int64_t time_unix_ns,
                    audit::EventType type = audit::EventType::kRequestForwarded) {
  audit::Event e = audit::testing::sample_event(0);
  e.type = type;
  e.token_id.assign(token_id);
  e.time_unix_ns = time_unix_ns;
  return e;
}

TEST_F(SessionIndexerTest, TokensLastUseIsTheLatestForwardedRequestOfEachPass) {
  auto store = open_store();
  ASSERT_TRUE(store);
  Actor admin{"", "", "test"};
  std::string user = store->create_user(admin, {"u", false})->object_id;
  std::string a = store->create_token(admin, {user, "a", std::nullopt, {}})->token.id;
  std::string b = store->create_token(admin, {user, "b", std::nullopt, {}})->token.id;
  std::string unused = store->create_token(admin, {user, "c", std::nullopt, {}})->token.id;
  constexpr int64_t kS = 1000000000;
  // Token a: many uses, not in time order; b: one forwarded use, then a later denial (an id
  // anyone may write) that must not count; an unknown id changes nothing.
  write_these(dir_.file("audit"), dir_.file("audit.key"),
              {use_of(a, kT0 + 5 * kS), use_of(a, kT0 + 9 * kS), use_of(b, kT0 + 3 * kS),
               use_of(a, kT0 + 7 * kS), use_of("no-such-token", kT0 + 8 * kS),
               use_of(b, kT0 + 60 * kS, audit::EventType::kRequestDenied)});
  {
    SessionIndexer ix(*store, options());
    ASSERT_TRUE(ix.run_once().ok());
  }
  EXPECT_EQ(store->get_token(a)->last_used_at, absl::FromUnixNanos(kT0 + 9 * kS));
  EXPECT_EQ(store->get_token(b)->last_used_at, absl::FromUnixNanos(kT0 + 3 * kS));
  EXPECT_EQ(store->get_token(unused)->last_used_at, std::nullopt);

  // A restart reads the open session's events again: an older use never lowers the time, and
  // a new one raises it.
  write_these(dir_.file("audit"), dir_.file("audit.key"), {use_of(b, kT0 + 20 * kS)});
  SessionIndexer ix(*store, options());
  ASSERT_TRUE(ix.run_once().ok());
  EXPECT_EQ(store->get_token(a)->last_used_at, absl::FromUnixNanos(kT0 + 9 * kS));
  EXPECT_EQ(store->get_token(b)->last_used_at, absl::FromUnixNanos(kT0 + 20 * kS));
}

}  // namespace
}  // namespace pamproxy::store
