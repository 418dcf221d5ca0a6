#include "pamproxy/aws/caller_identity.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::aws {
namespace {

std::string answer(std::string_view result) {
  return "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
         "<GetCallerIdentityResult>" +
         std::string(result) +
         "</GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab</RequestId>"
         "</ResponseMetadata></GetCallerIdentityResponse>";
}

TEST(CallerIdentityTest, ReadsTheAccountOfAnAnswer) {
  const std::string body = answer(
      "<Arn>arn:aws:iam::123456789012:user/deploy</Arn><UserId>AIDAEXAMPLE</UserId>"
      "<Account>123456789012</Account>");
  EXPECT_EQ(caller_identity_account(body), "123456789012");
  EXPECT_EQ(
      caller_identity_account("<?xml version=\"1.0\"?>\n" + answer("\n  <Account>"
                                                                   "000000000001</Account>\n")),
      "000000000001");
}

TEST(CallerIdentityTest, RefusesAnythingButOneAccountOfTwelveDigits) {
  for (std::string_view bad : {
           "<Account>12345678901</Account>",                                  // 11 digits
           "<Account>1234567890123</Account>",                                // 13
           "<Account>12345678901a</Account>",                                 // a letter
           "<Account> 23456789012</Account>",                                 // a space
           "<Account>&#49;23456789012</Account>",                             // an entity
           "<Account id=\"x\">123456789012</Account>",                        // attributes
           "<Account/>",                                                      // empty
           "<Account>123456789012</Account><Account>210987654321</Account>",  // two
           "<Account>123456789012",                                           // never closed
           "<Account><b>123456789012</b></Account>",                          // markup
           "<AccountId>123456789012</AccountId>",                             // another element
           "",
       }) {
    EXPECT_EQ(caller_identity_account(answer(bad)), std::nullopt) << bad;
  }
  // The account outside the result, or another one beside it.
  EXPECT_EQ(caller_identity_account("<Account>123456789012</Account>"), std::nullopt);
  EXPECT_EQ(caller_identity_account(answer("<Account>123456789012</Account>") +
                                    "<Account>210987654321</Account>"),
            std::nullopt);
  EXPECT_EQ(caller_identity_account(answer("<Account>123456789012</Account>") + answer("")),
            std::nullopt);
  EXPECT_EQ(caller_identity_account(""), std::nullopt);
}

TEST(CallerIdentityTest, ReadsTheCodeOfAnErrorAnswer) {
  EXPECT_EQ(query_error_code("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                             "<Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                             "<Message>The security token included in the request is invalid."
                             "</Message></Error><RequestId>4f2c</RequestId></ErrorResponse>"),
            "InvalidClientTokenId");
  EXPECT_EQ(query_error_code("<ErrorResponse><Error><Code>AWS.SimpleQueueService.X</Code>"
                             "</Error></ErrorResponse>"),
            "AWS.SimpleQueueService.X");
  for (std::string_view bad : {
           "<ErrorResponse><Error><Code></Code></Error></ErrorResponse>",
           "<ErrorResponse><Error><Code>has space</Code></Error></ErrorResponse>",
           "<ErrorResponse><Error><Code>a\"b</Code></Error></ErrorResponse>",
           "<ErrorResponse><Error><Code>A</Code><Code>B</Code></Error></ErrorResponse>",
           "<ErrorResponse><Code>A</Code></ErrorResponse>",
           "<ErrorResponse><Error><Code>A</Code></Error><Error></Error></ErrorResponse>",
           "not xml",
       }) {
    EXPECT_EQ(query_error_code(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(query_error_code("<ErrorResponse><Error><Code>" + std::string(65, 'A') +
                             "</Code></Error></ErrorResponse>"),
            std::nullopt);
}

}  // namespace
}  // namespace pamproxy::aws
