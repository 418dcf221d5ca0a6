#include "pamproxy/admin/console_sessions.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include "pamproxy/store/store.h"
#include "tests/unit/audit/audit_test_util.h"

namespace pamproxy::admin {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
const absl::Duration kIdle = absl::Minutes(30);
const absl::Duration kAbsolute = absl::Hours(12);
constexpr std::string_view kSecret = "the-token-secret";

class ConsoleSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store_.reset();
    auto s = store::Store::open(
        {.database_file = dir_.sub("p.db"), .master_key_file = dir_.sub("master.key")});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    if (user_id_.empty()) {
      auto user = store_->create_user({"", "", "test"}, {"ana", false});
      ASSERT_TRUE(user.ok()) << user.status();
      user_id_ = user->object_id;
    }
  }
  ConsoleSession who() const { return {.user_id = user_id_, .token_id = "PAMTOKEN"}; }
  std::string create(ConsoleSessions& sessions, absl::Time at = kT0) {
    auto s = sessions.create(who(), kSecret, at, kIdle, kAbsolute);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id : "";
  }
  bool live(ConsoleSessions& sessions, std::string_view id, absl::Time at) {
    auto found = sessions.find(id, at, kIdle, kAbsolute);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() && found->has_value();
  }

  audit::testing::TempDir dir_;  // outlives the store
  std::unique_ptr<store::Store> store_;
  std::string user_id_;
};

TEST_F(ConsoleSessionsTest, IdsAndCsrfTokensAre256RandomBits) {
  ConsoleSessions sessions(store_.get(), 64);
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    auto s = sessions.create(who(), kSecret, kT0, kIdle, kAbsolute);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->id.size(), 43u);
    EXPECT_EQ(s->session.csrf.size(), 43u);
    EXPECT_EQ(
        s->id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_TRUE(seen.insert(s->id).second);
    EXPECT_TRUE(seen.insert(s->session.csrf).second);
  }
}

TEST_F(ConsoleSessionsTest, FoundByIdOnlyAndTouched) {
  ConsoleSessions sessions(store_.get(), 4);
  auto s = sessions.create(who(), kSecret, kT0, kIdle, kAbsolute);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(live(sessions, s->id.substr(1), kT0));
  EXPECT_FALSE(live(sessions, s->id + "x", kT0));
  EXPECT_FALSE(live(sessions, "", kT0));
  // Used every 20 minutes, it outlives the 30-minute idle timeout.
  for (int i = 1; i <= 5; ++i) {
    auto found = sessions.find(s->id, kT0 + absl::Minutes(20 * i), kIdle, kAbsolute);
    ASSERT_TRUE(found.ok() && found->has_value()) << i;
    EXPECT_EQ((*found)->user_id, user_id_);
    EXPECT_EQ((*found)->token_id, "PAMTOKEN");
    EXPECT_EQ((*found)->csrf, s->session.csrf);
    EXPECT_EQ((*found)->last_used, kT0 + absl::Minutes(20 * i));
  }
}

TEST_F(ConsoleSessionsTest, IdleTimeoutEndsIt) {
  ConsoleSessions sessions(store_.get(), 4);
  const std::string id = create(sessions);
  EXPECT_TRUE(live(sessions, id, kT0 + kIdle - absl::Seconds(1)));
  EXPECT_FALSE(live(sessions, id, kT0 + 2 * kIdle));
  EXPECT_EQ(store_->count_console_sessions(), 0u);
}

TEST_F(ConsoleSessionsTest, AbsoluteTimeoutEndsEvenABusySession) {
  ConsoleSessions sessions(store_.get(), 4);
  const std::string id = create(sessions);
  absl::Time t = kT0;
  while (t + absl::Minutes(10) < kT0 + kAbsolute) {
    t += absl::Minutes(10);
    ASSERT_TRUE(live(sessions, id, t));
  }
  EXPECT_FALSE(live(sessions, id, kT0 + kAbsolute));
}

TEST_F(ConsoleSessionsTest, EndForgetsIt) {
  ConsoleSessions sessions(store_.get(), 4);
  const std::string id = create(sessions);
  EXPECT_TRUE(sessions.end(id).ok());
  EXPECT_TRUE(sessions.end(id).ok());
  EXPECT_FALSE(live(sessions, id, kT0));
}

TEST_F(ConsoleSessionsTest, BoundedRefusingWhenFullOfLiveSessionsAndReusingExpiredRoom) {
  ConsoleSessions sessions(store_.get(), 3);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(create(sessions));
  auto refused = sessions.create(who(), kSecret, kT0 + absl::Minutes(1), kIdle, kAbsolute);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  for (const std::string& id : ids) EXPECT_TRUE(live(sessions, id, kT0 + absl::Minutes(1)));
  // Once they have expired, a new sign-in takes their room.
  EXPECT_TRUE(sessions.create(who(), kSecret, kT0 + absl::Hours(1), kIdle, kAbsolute).ok());
  EXPECT_EQ(store_->count_console_sessions(), 1u);
}

TEST_F(ConsoleSessionsTest, ASessionOutlivesARestartWithItsCsrfToken) {
  auto s = ConsoleSessions(store_.get(), 4).create(who(), kSecret, kT0, kIdle, kAbsolute);
  ASSERT_TRUE(s.ok());
  open();
  ConsoleSessions after(store_.get(), 4);
  auto found = after.find(s->id, kT0 + absl::Minutes(1), kIdle, kAbsolute);
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->csrf, s->session.csrf);
  EXPECT_TRUE(ConsoleSessions::same_secret(s->id, **found, kSecret));
  EXPECT_FALSE(ConsoleSessions::same_secret(s->id, **found, "another-secret"));
}

// What a reader of the database sees is neither the cookie, nor the CSRF token, nor the token's
// secret, nor anything that computes one of them without the cookie.
TEST_F(ConsoleSessionsTest, TheStoreHoldsNothingThatActsAsTheBrowser) {
  ConsoleSessions sessions(store_.get(), 4);
  auto s = sessions.create(who(), kSecret, kT0, kIdle, kAbsolute);
  ASSERT_TRUE(s.ok());
  store_.reset();
  std::ifstream file(dir_.sub("p.db"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::ifstream wal(dir_.sub("p.db") + "-wal", std::ios::binary);
  bytes.append((std::istreambuf_iterator<char>(wal)), std::istreambuf_iterator<char>());
  ASSERT_NE(bytes.find("PAMTOKEN"), std::string::npos);  // the row is there
  EXPECT_EQ(bytes.find(s->id), std::string::npos);
  EXPECT_EQ(bytes.find(s->session.csrf), std::string::npos);
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::admin
