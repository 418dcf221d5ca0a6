#include "pamproxy/policy/command_rule.h"

#include <gtest/gtest.h>

namespace pamproxy::policy {
namespace {

TEST(CommandRule, GlobMatching) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  } cases[] = {
      {"s3:GetObject", "s3:GetObject", true},
      {"s3:getobject", "S3:GetObject", true},
      {"s3:Get*", "s3:GetObject", true},
      {"s3:Get*", "s3:Get", true},
      {"s3:Get*", "s3:PutObject", false},
      {"*:*", "ec2:DescribeInstances", true},
      {"*", "", true},
      {"s3:*Object", "s3:DeleteObject", true},
      {"s3:*Object", "s3:DeleteObjects", false},
      {"s*:*a*b*c", "sts:xaxbxbxc", true},
      {"sts:AssumeRole*", "sts:AssumeRoleWithWebIdentity", true},
      {"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      {"ec2:Describe*", "ec2:describeinstances", true},
      {"s3:GetObject", "s3:GetObjectAcl", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
  }
}

TEST(CommandRule, ParsesAndValidates) {
  auto r = parse_command_rule("allow s3:Get*");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->effect, RuleEffect::kAllow);
  EXPECT_EQ(r->pattern, "s3:Get*");
  EXPECT_EQ(format_command_rule(*r), "allow s3:Get*");
  EXPECT_EQ(parse_command_rule(" DENY  *:* ")->effect, RuleEffect::kDeny);
  for (const char* bad : {"", "allow", "permit s3:Get*", "allow s3", "allow :Get",
                          "allow s3:", "allow s3:a:b", "allow s3:Get\x01", "deny s3:Get\"x"}) {
    EXPECT_FALSE(parse_command_rule(bad).ok()) << bad;
  }
  EXPECT_FALSE(validate_command_pattern(std::string(129, 'a')).ok());
}

TEST(CommandRule, DecisionOrder) {
  auto rules = [](std::initializer_list<const char*> texts) {
    std::vector<CommandRule> out;
    for (const char* t : texts) out.push_back(*parse_command_rule(t));
    return out;
  };
  struct Case {
    std::vector<CommandRule> rules;
    const char* op;
    CommandVerdict verdict;
  } cases[] = {
      {{}, "s3:GetObject", CommandVerdict::kAllowed},
      {{}, "sts:GetCallerIdentity", CommandVerdict::kAllowed},
      {{}, "sts:GetSessionToken", CommandVerdict::kDeniedByDefault},
      {{}, "sts:GetFederationToken", CommandVerdict::kDeniedByDefault},
      {{}, "sts:AssumeRole", CommandVerdict::kDeniedByDefault},
      {{}, "sts:AssumeRoleWithSAML", CommandVerdict::kDeniedByDefault},
      {rules({"allow *:*"}), "sts:AssumeRole", CommandVerdict::kDeniedByDefault},
      {rules({"allow sts:*"}), "sts:AssumeRole", CommandVerdict::kAllowed},
      {rules({"allow sts:AssumeRole"}), "sts:AssumeRole", CommandVerdict::kAllowed},
      {rules({"allow sts:AssumeRole", "deny sts:*"}), "sts:AssumeRole",
       CommandVerdict::kDeniedByRule},
      {rules({"allow s3:Get*"}), "s3:GetObject", CommandVerdict::kAllowed},
      {rules({"allow s3:Get*"}), "s3:PutObject", CommandVerdict::kNotAllowed},
      {rules({"deny s3:Delete*"}), "s3:PutObject", CommandVerdict::kAllowed},
      {rules({"deny s3:Delete*"}), "s3:DeleteObject", CommandVerdict::kDeniedByRule},
      {rules({"allow s3:*", "deny s3:Delete*"}), "s3:DeleteBucket", CommandVerdict::kDeniedByRule},
      {rules({"deny s3:Delete*", "allow s3:*"}), "s3:DeleteBucket", CommandVerdict::kDeniedByRule},
  };
  for (const Case& c : cases) {
    CommandCheck check = check_command(c.rules, c.op);
    EXPECT_EQ(check.verdict, c.verdict) << c.op;
    EXPECT_EQ(check.rule != nullptr, c.verdict == CommandVerdict::kDeniedByRule) << c.op;
  }
}

}  // namespace
}  // namespace pamproxy::policy
