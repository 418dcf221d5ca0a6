#include "pamproxy/notify/notifier.h"

#include <gtest/gtest.h>

namespace pamproxy::notify {
namespace {

TEST(Retry, DelayDoublesUpToTheMaximum) {
  EXPECT_EQ(retry_delay_s(1, 30, 3600), 30);
  EXPECT_EQ(retry_delay_s(2, 30, 3600), 60);
  EXPECT_EQ(retry_delay_s(4, 30, 3600), 240);
  EXPECT_EQ(retry_delay_s(8, 30, 3600), 3600);
  EXPECT_EQ(retry_delay_s(100, 30, 3600), 3600);  // bounded loop, no overflow
  EXPECT_EQ(retry_delay_s(3, 1, 1), 1);
}

TEST(Channels, FollowTheConfiguredAddresses) {
  config::NotifySection c;
  EXPECT_FALSE(channels_of(c).webhook || channels_of(c).email);
  c.webhook_url = "https://hooks.example.test/x";
  EXPECT_TRUE(channels_of(c).webhook);
  EXPECT_FALSE(channels_of(c).email);
  c.smtp_address = "mail.example.test:587";
  EXPECT_TRUE(channels_of(c).email);
}

}  // namespace
}  // namespace pamproxy::notify
