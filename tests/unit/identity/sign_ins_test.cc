#include "pamproxy/identity/sign_ins.h"

#include <gtest/gtest.h>

namespace pamproxy::identity {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(PkceS256, MatchesRfc7636AppendixB) {
  EXPECT_EQ(pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PendingSignIns, TakeGivesTheSignInOnce) {
  PendingSignIns pending(8, absl::Minutes(10));
  auto started = pending.start(kNow);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->state.size(), 43u);
  EXPECT_NE(started->state, started->nonce);
  auto taken = pending.take(started->state, kNow + absl::Minutes(1));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->nonce, started->nonce);
  EXPECT_EQ(pkce_s256_challenge(taken->code_verifier), started->code_challenge);
  EXPECT_FALSE(pending.take(started->state, kNow + absl::Minutes(1)));  // single use
}

TEST(PendingSignIns, UnknownOrExpiredStatesFindNothing) {
  PendingSignIns pending(8, absl::Minutes(10));
  auto started = pending.start(kNow);
  ASSERT_TRUE(started);
  EXPECT_FALSE(pending.take("", kNow));
  EXPECT_FALSE(pending.take(started->state + "x", kNow));
  EXPECT_FALSE(pending.take(started->state, kNow + absl::Minutes(10)));
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingSignIns, BoundedAndExpiredOnesMakeRoom) {
  PendingSignIns pending(2, absl::Minutes(10));
  ASSERT_TRUE(pending.start(kNow));
  ASSERT_TRUE(pending.start(kNow));
  EXPECT_FALSE(pending.start(kNow + absl::Minutes(1)));  // full of live ones
  EXPECT_TRUE(pending.start(kNow + absl::Minutes(11)));  // the two expired are dropped
  EXPECT_EQ(pending.size(), 1u);
}

}  // namespace
}  // namespace pamproxy::identity
