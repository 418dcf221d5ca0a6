#include "pamproxy/aws/endpoint.h"

#include <gtest/gtest.h>

namespace pamproxy::aws {
namespace {

struct Case {
  const char* host;
  const char* service;
  const char* region;
  const char* bucket;
  bool global;
  bool fips;
  bool dualstack;
};

class EndpointTable : public ::testing::TestWithParam<Case> {};

TEST_P(EndpointTable, Parses) {
  const Case& c = GetParam();
  auto e = parse_endpoint(c.host);
  ASSERT_TRUE(e) << c.host;
  EXPECT_EQ(e->service, c.service) << c.host;
  EXPECT_EQ(e->region, c.region) << c.host;
  EXPECT_EQ(e->bucket, c.bucket) << c.host;
  EXPECT_EQ(e->global, c.global) << c.host;
  EXPECT_EQ(e->fips, c.fips) << c.host;
  EXPECT_EQ(e->dualstack, c.dualstack) << c.host;
}

INSTANTIATE_TEST_SUITE_P(
    Hosts, EndpointTable,
    ::testing::Values(
        Case{"sts.amazonaws.com", "sts", "us-east-1", "", true, false, false},
        Case{"sts.eu-west-1.amazonaws.com", "sts", "eu-west-1", "", false, false, false},
        Case{"STS.EU-WEST-1.AMAZONAWS.COM.", "sts", "eu-west-1", "", false, false, false},
        Case{"iam.amazonaws.com", "iam", "us-east-1", "", true, false, false},
        Case{"iam.us-gov.amazonaws.com", "iam", "us-gov-west-1", "", true, false, false},
        Case{"ec2.us-gov-west-1.amazonaws.com", "ec2", "us-gov-west-1", "", false, false, false},
        Case{"dynamodb-fips.us-east-1.amazonaws.com", "dynamodb", "us-east-1", "", false, true,
             false},
        Case{"runtime.sagemaker.us-west-2.amazonaws.com", "runtime.sagemaker", "us-west-2", "",
             false, false, false},
        Case{"ec2.us-east-1.api.aws", "ec2", "us-east-1", "", false, false, true},
        Case{"ec2.cn-north-1.amazonaws.com.cn", "ec2", "cn-north-1", "", false, false, false},
        Case{"s3.amazonaws.com", "s3", "us-east-1", "", true, false, false},
        Case{"s3.us-west-2.amazonaws.com", "s3", "us-west-2", "", false, false, false},
        Case{"photos.s3.us-west-2.amazonaws.com", "s3", "us-west-2", "photos", false, false,
             false},
        Case{"my.dotted.bucket.s3.amazonaws.com", "s3", "us-east-1", "my.dotted.bucket", true,
             false, false},
        Case{"s3-us-west-2.amazonaws.com", "s3", "us-west-2", "", false, false, false},
        Case{"b.s3-external-1.amazonaws.com", "s3", "us-east-1", "b", false, false, false},
        Case{"s3.dualstack.eu-west-1.amazonaws.com", "s3", "eu-west-1", "", false, false, true},
        Case{"b.s3-fips.dualstack.us-east-1.amazonaws.com", "s3", "us-east-1", "b", false, true,
             true},
        Case{"123456789012.s3-control.us-east-1.amazonaws.com", "s3-control", "us-east-1", "",
             false, false, false},
        Case{"ap-123456789012.s3-accesspoint.eu-west-1.amazonaws.com", "s3-accesspoint",
             "eu-west-1", "", false, false, false}));

TEST(Endpoint, RefusesNonAwsAndMalformedNames) {
  for (const char* host : {"example.com", "amazonaws.com", ".amazonaws.com", "a..amazonaws.com",
                           "evil.com/.amazonaws.com", "x.amazonaws.com.evil.com",
                           "s3.us-west-2.amazonaws.com:443", "b.s3.nowhere.amazonaws.com",
                           "s3.us-east-1.extra.amazonaws.com", "api.aws", "", "a b.amazonaws.com"}) {
    EXPECT_FALSE(parse_endpoint(host)) << host;
  }
}

TEST(Endpoint, SigningNames) {
  EXPECT_EQ(signing_name_for("sts"), "sts");
  EXPECT_EQ(signing_name_for("email"), "ses");
  EXPECT_EQ(signing_name_for("runtime.sagemaker"), "sagemaker");
  EXPECT_EQ(signing_name_for("streams.dynamodb"), "dynamodb");
  EXPECT_EQ(signing_name_for("data.iot"), "iotdata");
  EXPECT_EQ(signing_name_for("s3-control"), "s3");
}

TEST(Endpoint, ScopeMustMatchServiceAndRegion) {
  auto ec2 = *parse_endpoint("ec2.eu-west-1.amazonaws.com");
  EXPECT_EQ(check_scope(ec2, "ec2", "eu-west-1"), "");
  EXPECT_NE(check_scope(ec2, "s3", "eu-west-1").find("signed for service 's3'"),
            std::string::npos);
  EXPECT_NE(check_scope(ec2, "ec2", "us-east-1").find("set the region to 'eu-west-1'"),
            std::string::npos);

  auto sts = *parse_endpoint("sts.amazonaws.com");
  EXPECT_EQ(check_scope(sts, "sts", "us-east-1"), "");
  EXPECT_NE(check_scope(sts, "sts", "eu-west-1"), "");

  auto s3_global = *parse_endpoint("bucket.s3.amazonaws.com");
  EXPECT_EQ(check_scope(s3_global, "s3", "ap-southeast-2"), "");
  EXPECT_NE(check_scope(s3_global, "sts", "us-east-1"), "");

  auto sm = *parse_endpoint("runtime.sagemaker.us-west-2.amazonaws.com");
  EXPECT_EQ(check_scope(sm, "sagemaker", "us-west-2"), "");
  auto ap = *parse_endpoint("ap-1.s3-accesspoint.eu-west-1.amazonaws.com");
  EXPECT_EQ(check_scope(ap, "s3", "eu-west-1"), "");
}

}  // namespace
}  // namespace pamproxy::aws
