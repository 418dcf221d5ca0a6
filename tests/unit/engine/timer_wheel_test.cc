#include "pamproxy/engine/timer_wheel.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

namespace pamproxy::engine {
namespace {

struct Recorder final : Timer::Handler {
  virtual ~Recorder() = default;
  std::vector<int> fired;
  std::vector<std::unique_ptr<Timer>> timers;
  std::function<void(Timer&)> extra;
  Timer& add() {
    timers.push_back(std::make_unique<Timer>(this));
    return *timers.back();
  }
  void on_timer(Timer& t) override {
    for (size_t i = 0; i < timers.size(); ++i) {
      if (timers[i].get() == &t) fired.push_back(static_cast<int>(i));
    }
    if (extra) extra(t);
  }
};

TEST(TimerWheel, FiresNeverEarlyAndAtMostOneTickLate) {
  TimerWheel wheel(64, 10, 1000);
  Recorder r;
  Timer& a = r.add();
  wheel.arm(a, 1000, 25);  // due at 1025 -> tick 103 (1030)
  EXPECT_EQ(wheel.advance(1020), 0u);
  EXPECT_EQ(wheel.advance(1029), 0u);
  EXPECT_TRUE(a.armed());
  EXPECT_EQ(wheel.advance(1030), 1u);
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(r.fired, std::vector<int>{0});
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.ms_until_next(1030), -1);
}

TEST(TimerWheel, LongerThanOneTurnWaitsForItsOwnTurn) {
  TimerWheel wheel(8, 10, 0);  // one turn = 80 ms
  Recorder r;
  Timer& a = r.add();
  wheel.arm(a, 0, 1000);
  for (uint64_t now = 0; now < 1000; now += 10) EXPECT_EQ(wheel.advance(now), 0u) << now;
  EXPECT_EQ(wheel.advance(1000), 1u);
}

TEST(TimerWheel, BigJumpFiresEverythingDue) {
  TimerWheel wheel(8, 10, 0);
  Recorder r;
  for (int i = 0; i < 50; ++i) wheel.arm(r.add(), 0, static_cast<uint64_t>(i) * 37);
  Timer& late = r.add();
  wheel.arm(late, 0, 100000);
  EXPECT_EQ(wheel.advance(5000), 50u);
  EXPECT_TRUE(late.armed());
  EXPECT_EQ(wheel.armed_count(), 1u);
}

TEST(TimerWheel, CancelAndRearmAreIndependentOfOrder) {
  TimerWheel wheel(16, 1, 0);
  Recorder r;
  Timer& a = r.add();
  Timer& b = r.add();
  Timer& c = r.add();
  wheel.arm(a, 0, 5);
  wheel.arm(b, 0, 5);
  wheel.arm(c, 0, 5);
  wheel.cancel(b);
  wheel.arm(a, 0, 9);  // re-arm moves it
  EXPECT_EQ(wheel.advance(5), 1u);
  EXPECT_EQ(r.fired, std::vector<int>{2});
  EXPECT_EQ(wheel.advance(9), 1u);
  EXPECT_EQ(r.fired, (std::vector<int>{2, 0}));
}

TEST(TimerWheel, HandlerMayCancelItsNeighbourAndRearmItself) {
  TimerWheel wheel(16, 1, 0);
  Recorder r;
  Timer& a = r.add();
  Timer& b = r.add();
  wheel.arm(a, 0, 3);
  wheel.arm(b, 0, 3);
  int rearmed = 0;
  r.extra = [&](Timer& t) {
    Timer& other = (&t == &a) ? b : a;
    wheel.cancel(other);
    if (rearmed++ == 0) wheel.arm(t, 3, 0);  // due now: fires on the next advance, not lost
  };
  EXPECT_EQ(wheel.advance(3), 1u);
  EXPECT_EQ(wheel.armed_count(), 1u);
  EXPECT_EQ(wheel.advance(4), 1u);
  EXPECT_EQ(r.fired.size(), 2u);
  EXPECT_EQ(r.fired[0], r.fired[1]);
}

TEST(TimerWheel, DestroyingATimerCancelsIt) {
  TimerWheel wheel(16, 1, 0);
  Recorder r;
  auto t = std::make_unique<Timer>(&r);
  wheel.arm(*t, 0, 3);
  t.reset();
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.advance(10), 0u);
}

TEST(TimerWheel, WaitHintFollowsTicks) {
  TimerWheel wheel(16, 10, 100);
  Recorder r;
  EXPECT_EQ(wheel.ms_until_next(100), -1);
  wheel.arm(r.add(), 100, 1000);
  int64_t wait = wheel.ms_until_next(100);
  EXPECT_GE(wait, 0);
  EXPECT_LE(wait, 10);
}

}  // namespace
}  // namespace pamproxy::engine
