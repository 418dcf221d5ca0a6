#include "pamproxy/identity/token_answer.h"

#include <gtest/gtest.h>

namespace pamproxy::identity {
namespace {

TEST(DeviceAuthorization, ReadsRfc8628Section32) {
  auto d = parse_device_authorization(
      R"({"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT",)"
      R"("verification_uri":"https://example.com/device",)"
      R"("verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT",)"
      R"("expires_in":1800,"interval":5})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->device_code, "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS");
  EXPECT_EQ(d->user_code, "WDJB-MJHT");
  EXPECT_EQ(d->verification_uri, "https://example.com/device");
  EXPECT_EQ(d->verification_uri_complete, "https://example.com/device?user_code=WDJB-MJHT");
  EXPECT_EQ(d->expires_in_s, 1800);
  EXPECT_EQ(d->interval_s, 5);
}

TEST(DeviceAuthorization, DefaultsTheIntervalAndBoundsTheLifetime) {
  auto d = parse_device_authorization(
      R"({"device_code":"d","user_code":"u","verification_uri":"https://e/d","expires_in":86400})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->interval_s, 5);
  EXPECT_EQ(d->expires_in_s, 1800);
  EXPECT_EQ(d->verification_uri_complete, "");
}

TEST(DeviceAuthorization, RefusesWhatItCannotUseByName) {
  struct Case {
    const char* json;
    const char* names;
  };
  for (
      const Case& c : {
          Case{"[]", "not a JSON object"},
          Case{R"({"user_code":"u","verification_uri":"https://e","expires_in":9})", "device_code"},
          Case{R"({"device_code":"d","verification_uri":"https://e","expires_in":9})", "user_code"},
          Case{
              R"({"device_code":"d","user_code":"u","verification_uri":"http://e","expires_in":9})",
              "verification_uri is not"},
          Case{R"({"device_code":"d","user_code":"u","verification_uri":"https://e",)"
               R"("verification_uri_complete":"javascript:x","expires_in":9})",
               "verification_uri_complete"},
          Case{R"({"device_code":"d","user_code":"u","verification_uri":"https://e"})",
               "expires_in"},
          Case{R"({"device_code":"d","user_code":"u","verification_uri":"https://e",)"
               R"("expires_in":9,"interval":0})",
               "interval"},
          Case{R"({"device_code":"d e","user_code":"u","verification_uri":"https://e",)"
               R"("expires_in":9})",
               "device_code"},
      }) {
    auto d = parse_device_authorization(c.json);
    ASSERT_FALSE(d.ok()) << c.json;
    EXPECT_NE(d.status().message().find(c.names), std::string_view::npos)
        << c.json << ": " << d.status();
  }
}

TEST(TokenAnswer, ReadsASuccess) {
  auto t = parse_token_answer(
      R"({"access_token":"at","token_type":"Bearer","id_token":"a.b.c","refresh_token":"rt",)"
      R"("expires_in":3600})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->error, "");
  EXPECT_EQ(t->id_token, "a.b.c");
  EXPECT_EQ(t->access_token, "at");
  EXPECT_EQ(t->refresh_token, "rt");
}

TEST(TokenAnswer, ReadsTheDeviceFlowsErrors) {
  auto pending = parse_token_answer(R"({"error":"authorization_pending"})");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->error, "authorization_pending");
  auto slow = parse_token_answer(R"({"error":"slow_down","interval":10})");
  ASSERT_TRUE(slow.ok());
  EXPECT_EQ(slow->interval_s, 10);
  auto denied =
      parse_token_answer("{\"error\":\"invalid_grant\",\"error_description\":\"grant\\nrevoked\"}");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(token_error_text(*denied), "invalid_grant: grant?revoked");
}

TEST(TokenAnswer, RefusesASuccessWithoutAnAccessTokenOrWithBadTokens) {
  EXPECT_FALSE(parse_token_answer(R"({"id_token":"a.b.c"})").ok());
  EXPECT_FALSE(parse_token_answer(R"({"access_token":"a","id_token":7})").ok());
  EXPECT_FALSE(parse_token_answer(R"({"access_token":"a b"})").ok());
  EXPECT_FALSE(parse_token_answer("not json").ok());
  EXPECT_FALSE(parse_token_answer(std::string(kTokenAnswerBytesMax + 1, ' ')).ok());
}

}  // namespace
}  // namespace pamproxy::identity
