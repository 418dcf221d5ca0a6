#include "pamproxy/policy/authenticate.h"

#include <gtest/gtest.h>

#include "tests/unit/policy/policy_fixture.h"

namespace pamproxy::policy {
namespace {

TEST(Authenticate, BearerNeedsTheRightSecretAndAUsableToken) {
  auto s = Snapshot::build(testing::fixture_data(), 1);
  const net::IpAddress here = *net::IpAddress::parse("192.168.1.1");
  const absl::Time now = testing::fixture_now();
  struct Case {
    const char* id;
    const char* secret;
    DenyKind want;
  } cases[] = {
      {"TALICE", "tok-secret-TALICE", DenyKind::kNone},
      {"TALICE", "tok-secret-TALICF", DenyKind::kTokenUnknown},
      {"TALICE", "tok-secret-TALICE-longer", DenyKind::kTokenUnknown},
      {"TALICE", "", DenyKind::kTokenUnknown},
      {"TNOPE", "tok-secret-TALICE", DenyKind::kTokenUnknown},
      {"TREV", "tok-secret-TREV", DenyKind::kTokenRevoked},
      {"TEXP", "tok-secret-TEXP", DenyKind::kTokenExpired},
      {"TNET", "tok-secret-TNET", DenyKind::kNone},
  };
  for (const Case& c : cases) {
    TokenCheck t = authenticate_bearer(*s, c.id, c.secret, here, now);
    EXPECT_EQ(t.deny, c.want) << c.id << " " << c.secret << ": " << t.reason;
    EXPECT_EQ(t.reason.find("tok-secret"), std::string::npos);
    if (c.want == DenyKind::kNone) {
      ASSERT_NE(t.user, nullptr);
      EXPECT_EQ(t.user->user.id, "u-alice");
    }
  }
  // Same message for a wrong secret and an unknown id: no probing for ids.
  std::string wrong = authenticate_bearer(*s, "TALICE", "x", here, now).reason;
  EXPECT_NE(wrong.find("and that secret"), std::string::npos);
  EXPECT_EQ(
      authenticate_bearer(*s, "TNET", "tok-secret-TNET", *net::IpAddress::parse("10.0.0.1"), now)
          .deny,
      DenyKind::kTokenNetwork);
}

TEST(Authenticate, CheckTokenIgnoresTheProxySwitch) {
  SnapshotData d = testing::fixture_data();
  d.settings.proxy_enabled = false;  // the admin API must keep working to turn it on
  auto s = Snapshot::build(std::move(d), 1);
  TokenCheck t =
      check_token(*s, "TALICE", *net::IpAddress::parse("10.0.0.1"), testing::fixture_now());
  EXPECT_EQ(t.deny, DenyKind::kNone);
}

}  // namespace
}  // namespace pamproxy::policy
