#include "pamproxy/engine/connection_limits.h"

#include <gtest/gtest.h>

namespace pamproxy::engine {
namespace {

TEST(ConnectionLimits, TotalAndPerClient) {
  ConnectionLimits l(3, 2);
  auto a = *net::IpAddress::parse("192.0.2.1");
  auto b = *net::IpAddress::parse("192.0.2.2");
  EXPECT_EQ(l.try_admit(a), ConnectionLimits::Verdict::kAdmitted);
  EXPECT_EQ(l.try_admit(a), ConnectionLimits::Verdict::kAdmitted);
  EXPECT_EQ(l.try_admit(a), ConnectionLimits::Verdict::kClientLimit);
  EXPECT_EQ(l.try_admit(b), ConnectionLimits::Verdict::kAdmitted);
  EXPECT_EQ(l.try_admit(b), ConnectionLimits::Verdict::kTotalLimit);
  EXPECT_EQ(l.total(), 3);
  l.release(a);
  EXPECT_EQ(l.try_admit(b), ConnectionLimits::Verdict::kAdmitted);
  l.release(a);
  l.release(b);
  l.release(b);
  EXPECT_EQ(l.total(), 0);
}

}  // namespace
}  // namespace pamproxy::engine
