#include "pamproxy/sigv4/types.h"

#include <gtest/gtest.h>

namespace pamproxy::sigv4 {
namespace {

TEST(Types, S3FamilyAndHeaders) {
  EXPECT_TRUE(is_s3_family("s3"));
  EXPECT_TRUE(is_s3_family("s3-outposts"));
  EXPECT_TRUE(is_s3_family("s3express"));
  EXPECT_FALSE(is_s3_family("s3control"));
  EXPECT_FALSE(is_s3_family("sts"));
  EXPECT_TRUE(iequals("X-Amz-Date", "x-amz-date"));
  EXPECT_FALSE(iequals("x-amz-date", "x-amz-dat"));
  const Header hs[] = {{"Host", "a"}, {"HOST", "b"}};
  ASSERT_NE(find_header(hs, "host"), nullptr);
  EXPECT_EQ(find_header(hs, "host")->value, "a");
  EXPECT_EQ(find_header(hs, "range"), nullptr);
  EXPECT_TRUE(is_hop_by_hop("connection"));
  EXPECT_TRUE(is_hop_by_hop("transfer-encoding"));
  EXPECT_FALSE(is_hop_by_hop("content-length"));
}

}  // namespace
}  // namespace pamproxy::sigv4
