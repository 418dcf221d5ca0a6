// The proxy's reloadable settings: built from the configuration, and published to workers that
// follow them from other threads (also run under ThreadSanitizer, suite "tsan").

#include "pamproxy/proxy/settings.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace pamproxy::proxy {
namespace {

config::Config load(std::string_view toml) {
  config::LoadResult r = config::load_string(toml, "test.toml");
  EXPECT_TRUE(r.ok());
  return r.config;
}

TEST(ProxySettings, TakeTheReloadableValuesOfTheConfiguration) {
  auto s = ProxySettings::from_config(
      load("[proxy]\nclock_skew_s = 60\nproxy_protocol_trusted = [\"10.0.0.0/8\"]\n"
           "[timeouts]\nidle_keepalive_ms = 1234\n[upstream]\npool_idle_per_host = 3\n"
           "[audit]\non_full = \"refuse\"\n"),
      7);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->generation, 7u);
  EXPECT_EQ((*s)->clock_skew_s, 60);
  EXPECT_EQ((*s)->limits.idle_keepalive_ms, 1234u);
  EXPECT_EQ((*s)->pool.per_host, 3u);
  EXPECT_TRUE((*s)->audit_refuse_when_full);
  ASSERT_EQ((*s)->proxy_protocol_trusted.size(), 1u);
}

TEST(ProxySettings, PassThroughOnlyTowardDestinationsPinnedToLoopback) {
  auto s = ProxySettings::from_config(
      load("[proxy]\nmode = \"pass-through\"\n"
           "destination_allowlist = [\"*.amazonaws.com:443\"]\n"),
      1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("pass-through"), std::string_view::npos);
  auto pinned = ProxySettings::from_config(
      load("[proxy]\nmode = \"pass-through\"\ndestination_allowlist = [\"up.test:443\"]\n"
           "[upstream]\nresolve = [{ host = \"up.test\", address = \"127.0.0.1:9443\" }]\n"),
      1);
  EXPECT_TRUE(pinned.ok()) << pinned.status();
}

// A reload publishes while workers follow: a reader never sees a generation older than the one
// the publisher announced, nor a settings object that mixes two generations.
TEST(SettingsPublisher, WorkersFollowWhatTheControlThreadPublishes) {
  config::Config base = load("");
  base.proxy.clock_skew_s = 1;  // each generation's skew is its number
  auto first = ProxySettings::from_config(base, 1);
  ASSERT_TRUE(first.ok());
  SettingsPublisher publisher(*first);
  constexpr uint64_t kLast = 300;
  std::atomic<bool> mixed{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&] {
      std::shared_ptr<const ProxySettings> mine = publisher.current();
      while (mine->generation < kLast) {
        const uint64_t announced = publisher.generation();
        if (announced != mine->generation) mine = publisher.current();
        if (mine->generation < announced ||
            mine->clock_skew_s != static_cast<int64_t>(mine->generation)) {
          mixed = true;
          return;
        }
      }
    });
  }
  for (uint64_t g = 2; g <= kLast; ++g) {
    config::Config c = base;
    c.proxy.clock_skew_s = static_cast<int64_t>(g);
    auto next = ProxySettings::from_config(c, g);
    ASSERT_TRUE(next.ok());
    publisher.publish(*next);
  }
  for (std::thread& t : workers) t.join();
  EXPECT_FALSE(mixed);
  EXPECT_EQ(publisher.current()->generation, kLast);
}

}  // namespace
}  // namespace pamproxy::proxy
