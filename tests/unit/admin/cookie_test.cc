#include "pamproxy/admin/cookie.h"

#include <gtest/gtest.h>

namespace pamproxy::admin {
namespace {

constexpr std::string_view kName = "__Host-pamproxy";

TEST(FindCookie, FindsTheNamedPairAmongOthers) {
  EXPECT_EQ(find_cookie("__Host-pamproxy=abc", kName), "abc");
  EXPECT_EQ(find_cookie("a=1; __Host-pamproxy=abc; b=2", kName), "abc");
  EXPECT_EQ(find_cookie("a=1;__Host-pamproxy=abc", kName), "abc");
  EXPECT_EQ(find_cookie(" \t__Host-pamproxy = abc \t", kName), "abc");
  EXPECT_EQ(find_cookie("__Host-pamproxy=\"abc\"", kName), "abc");
  EXPECT_EQ(find_cookie("__Host-pamproxy=", kName), "");
}

TEST(FindCookie, AbsentOrOnlySimilarNames) {
  EXPECT_EQ(find_cookie("", kName), std::nullopt);
  EXPECT_EQ(find_cookie(";;; ;", kName), std::nullopt);
  EXPECT_EQ(find_cookie("__Host-pamproxy", kName), std::nullopt);      // no '='
  EXPECT_EQ(find_cookie("__host-pamproxy=abc", kName), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(find_cookie("x__Host-pamproxy=abc; __Host-pamproxyx=def", kName), std::nullopt);
  EXPECT_EQ(find_cookie("a=__Host-pamproxy=abc", kName), std::nullopt);
}

TEST(FindCookie, ValueKeepsWhatFollowsTheFirstEquals) {
  EXPECT_EQ(find_cookie("__Host-pamproxy=a=b", kName), "a=b");
}

TEST(FindCookie, TheSameNameTwiceWithDifferentValuesIsAmbiguous) {
  EXPECT_EQ(find_cookie("__Host-pamproxy=abc; __Host-pamproxy=def", kName), std::nullopt);
  EXPECT_EQ(find_cookie("__Host-pamproxy=abc; __Host-pamproxy=abc", kName), "abc");
}

}  // namespace
}  // namespace pamproxy::admin
