#include "pamproxy/admin/console_sessions.h"

#include <gtest/gtest.h>

#include <set>

namespace pamproxy::admin {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
const absl::Duration kIdle = absl::Minutes(30);
const absl::Duration kAbsolute = absl::Hours(12);

ConsoleSession who() {
  return {.user_id = "usr-a", .token_id = "PAMTOKEN"};
}

TEST(ConsoleSessions, IdsAndCsrfTokensAre256RandomBits) {
  ConsoleSessions sessions(64);
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    auto s = sessions.create(who(), kT0, kIdle, kAbsolute);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->id.size(), 43u);
    EXPECT_EQ(s->session->csrf.size(), 43u);
    EXPECT_EQ(
        s->id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    EXPECT_TRUE(seen.insert(s->id).second);
    EXPECT_TRUE(seen.insert(s->session->csrf).second);
  }
}

TEST(ConsoleSessions, FoundByIdOnlyAndTouched) {
  ConsoleSessions sessions(4);
  auto s = sessions.create(who(), kT0, kIdle, kAbsolute);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(sessions.find(s->id.substr(1), kT0, kIdle, kAbsolute), nullptr);
  EXPECT_EQ(sessions.find(s->id + "x", kT0, kIdle, kAbsolute), nullptr);
  EXPECT_EQ(sessions.find("", kT0, kIdle, kAbsolute), nullptr);
  // Used every 20 minutes, it outlives the 30-minute idle timeout.
  for (int i = 1; i <= 5; ++i) {
    const ConsoleSession* found =
        sessions.find(s->id, kT0 + absl::Minutes(20 * i), kIdle, kAbsolute);
    ASSERT_NE(found, nullptr) << i;
    EXPECT_EQ(found->user_id, "usr-a");
    EXPECT_EQ(found->token_id, "PAMTOKEN");
  }
}

TEST(ConsoleSessions, IdleTimeoutEndsIt) {
  ConsoleSessions sessions(4);
  auto s = sessions.create(who(), kT0, kIdle, kAbsolute);
  EXPECT_NE(sessions.find(s->id, kT0 + kIdle - absl::Seconds(1), kIdle, kAbsolute), nullptr);
  EXPECT_EQ(sessions.find(s->id, kT0 + 2 * kIdle, kIdle, kAbsolute), nullptr);
  EXPECT_EQ(sessions.size(), 0u);
}

TEST(ConsoleSessions, AbsoluteTimeoutEndsEvenABusySession) {
  ConsoleSessions sessions(4);
  auto s = sessions.create(who(), kT0, kIdle, kAbsolute);
  absl::Time t = kT0;
  while (t + absl::Minutes(10) < kT0 + kAbsolute) {
    t += absl::Minutes(10);
    ASSERT_NE(sessions.find(s->id, t, kIdle, kAbsolute), nullptr);
  }
  EXPECT_EQ(sessions.find(s->id, kT0 + kAbsolute, kIdle, kAbsolute), nullptr);
}

TEST(ConsoleSessions, EndForgetsIt) {
  ConsoleSessions sessions(4);
  auto s = sessions.create(who(), kT0, kIdle, kAbsolute);
  EXPECT_TRUE(sessions.end(s->id));
  EXPECT_FALSE(sessions.end(s->id));
  EXPECT_EQ(sessions.find(s->id, kT0, kIdle, kAbsolute), nullptr);
}

TEST(ConsoleSessions, BoundedRefusingWhenFullOfLiveSessionsAndReusingExpiredRoom) {
  ConsoleSessions sessions(3);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(sessions.create(who(), kT0, kIdle, kAbsolute)->id);
  EXPECT_FALSE(sessions.create(who(), kT0 + absl::Minutes(1), kIdle, kAbsolute).has_value());
  for (const std::string& id : ids) {
    EXPECT_NE(sessions.find(id, kT0 + absl::Minutes(1), kIdle, kAbsolute), nullptr);
  }
  // Once they have expired, a new sign-in takes their room.
  EXPECT_TRUE(sessions.create(who(), kT0 + absl::Hours(1), kIdle, kAbsolute).has_value());
  EXPECT_EQ(sessions.size(), 1u);
}

}  // namespace
}  // namespace pamproxy::admin
