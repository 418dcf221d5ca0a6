#include "pamproxy/identity/cli_return.h"

#include <gtest/gtest.h>

#include "pamproxy/identity/sign_ins.h"

namespace pamproxy::identity {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(CliPort, OnlyDecimalPorts) {
  EXPECT_EQ(parse_cli_port("1"), 1);
  EXPECT_EQ(parse_cli_port("65535"), 65535);
  for (const char* bad : {"", "0", "65536", "99999", "123456", "-1", "80x", " 80", "0x50",
                          "127.0.0.1:80", "evil.example"}) {
    EXPECT_FALSE(parse_cli_port(bad)) << bad;
  }
}

TEST(CliChallenge, Is43Base64urlCharacters) {
  EXPECT_TRUE(valid_cli_challenge(pkce_s256_challenge("verifier")));
  EXPECT_FALSE(valid_cli_challenge(""));
  EXPECT_FALSE(valid_cli_challenge(std::string(42, 'a')));
  EXPECT_FALSE(valid_cli_challenge(std::string(42, 'a') + "="));
  EXPECT_FALSE(valid_cli_challenge(std::string(44, 'a')));
}

TEST(CliCallbackUrl, IsAlwaysLoopbackAndThePortGiven) {
  EXPECT_EQ(cli_callback_url(49152, "abc_-9"), "http://127.0.0.1:49152/callback?code=abc_-9");
}

TEST(CliCodes, ACodeIsSpentByItsFirstExchange) {
  CliCodes codes(4);
  const std::string verifier = random_base64url_256();
  auto code = codes.add({.challenge = pkce_s256_challenge(verifier), .user_id = "u-1"}, kNow);
  ASSERT_TRUE(code);
  CliCodes::Taken taken = codes.take(*code, verifier, kNow + absl::Seconds(5));
  EXPECT_EQ(taken.refusal, CliCodes::Refusal::kNone);
  EXPECT_EQ(taken.grant.user_id, "u-1");
  EXPECT_EQ(codes.take(*code, verifier, kNow).refusal, CliCodes::Refusal::kUnknownCode);
}

TEST(CliCodes, AWrongVerifierSpendsTheCode) {
  CliCodes codes(4);
  const std::string verifier = random_base64url_256();
  auto code = codes.add({.challenge = pkce_s256_challenge(verifier)}, kNow);
  ASSERT_TRUE(code);
  EXPECT_EQ(codes.take(*code, random_base64url_256(), kNow).refusal,
            CliCodes::Refusal::kWrongVerifier);
  EXPECT_EQ(codes.take(*code, verifier, kNow).refusal, CliCodes::Refusal::kUnknownCode);
}

TEST(CliCodes, ExpireAndAreBounded) {
  CliCodes codes(2);
  const std::string verifier = random_base64url_256();
  auto first = codes.add({.challenge = pkce_s256_challenge(verifier)}, kNow);
  ASSERT_TRUE(first);
  EXPECT_EQ(codes.take(*first, verifier, kNow + kCliCodeLifetime).refusal,
            CliCodes::Refusal::kUnknownCode);
  ASSERT_TRUE(codes.add({}, kNow));
  ASSERT_TRUE(codes.add({}, kNow));
  EXPECT_FALSE(codes.add({}, kNow + absl::Seconds(1)));  // full, none expired
  EXPECT_TRUE(codes.add({}, kNow + kCliCodeLifetime));   // the expired make room
}

TEST(PendingDevices, HandlesFindTheirDeviceCodeUntilItExpires) {
  PendingDevices devices(2);
  auto handle = devices.add("device-code", kNow, absl::Minutes(5), 5);
  ASSERT_TRUE(handle);
  EXPECT_EQ(handle->size(), 43u);
  PendingDevice* d = devices.find(*handle, kNow + absl::Minutes(1));
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->device_code, "device-code");
  EXPECT_EQ(devices.find("no-such-handle", kNow), nullptr);
  EXPECT_EQ(devices.find(*handle, kNow + absl::Minutes(5)), nullptr);
  EXPECT_EQ(devices.size(), 0u);
  ASSERT_TRUE(devices.add("a", kNow, absl::Minutes(5), 5));
  ASSERT_TRUE(devices.add("b", kNow, absl::Minutes(5), 5));
  EXPECT_FALSE(devices.add("c", kNow, absl::Minutes(5), 5));
}

}  // namespace
}  // namespace pamproxy::identity
