#include "pamproxy/sigv4/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pamproxy::sigv4 {
namespace {

TEST(Error, EveryCodeHasADistinctNameAndAMessage) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Error::kSigV2Refused); ++i) {
    const auto e = static_cast<Error>(i);
    EXPECT_TRUE(names.insert(error_name(e)).second) << i;
    EXPECT_FALSE(describe(Result::fail(e)).empty());
    if (e != Error::kOk) {
      EXPECT_FALSE(aws_code(e).empty()) << i;
    }
  }
}

TEST(Error, SkewAndExpiryShowBothTimes) {
  const std::string skew = describe(Result{Error::kSkewExceeded, 1369353600, 1369354600, 900});
  EXPECT_NE(skew.find("2013-05-24T00:00:00Z"), std::string::npos) << skew;
  EXPECT_NE(skew.find("2013-05-24T00:16:40Z"), std::string::npos) << skew;
  EXPECT_NE(skew.find("1000 s"), std::string::npos) << skew;
  EXPECT_EQ(aws_code(Error::kSkewExceeded), "RequestTimeTooSkewed");
  const std::string exp = describe(Result{Error::kPresignedExpired, 1369353600, 1369357300, 3600});
  EXPECT_NE(exp.find("expired at 2013-05-24T01:00:00Z"), std::string::npos) << exp;
  EXPECT_NE(exp.find("2013-05-24T01:01:40Z"), std::string::npos) << exp;
  EXPECT_NE(describe(Result::fail(Error::kMissingTokenSeparator)).find("TOKENID#RECORD"),
            std::string::npos);
  EXPECT_EQ(aws_code(Error::kSignatureMismatch), "SignatureDoesNotMatch");
}

TEST(Error, SigV2NamesTheSchemeAndHowToAskForSigV4) {
  EXPECT_EQ(error_name(Error::kSigV2Refused), "sigv2_refused");
  EXPECT_EQ(aws_code(Error::kSigV2Refused), "InvalidRequest");
  EXPECT_EQ(describe(Result::fail(Error::kSigV2Refused)),
            "the request is signed with AWS Signature Version 2, which this proxy does not "
            "accept: configure the client to sign with Signature Version 4 (boto3/botocore: "
            "Config(signature_version='s3v4'); AWS CLI: aws configure set "
            "default.s3.signature_version s3v4)");
}

}  // namespace
}  // namespace pamproxy::sigv4
