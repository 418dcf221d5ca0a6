#include "pamproxy/policy/command_rule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pamproxy/base/arn_pattern.h"

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
      {{}, "sts:GetSessionToken", CommandVerdict::kDeniedByGuardrail},
      {{}, "sts:GetFederationToken", CommandVerdict::kDeniedByGuardrail},
      {{}, "sts:AssumeRole", CommandVerdict::kDeniedByGuardrail},
      {{}, "sts:AssumeRoleWithSAML", CommandVerdict::kDeniedByGuardrail},
      {rules({"allow *:*"}), "sts:AssumeRole", CommandVerdict::kDeniedByGuardrail},
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

std::vector<CommandRule> rules_of(std::initializer_list<const char*> texts) {
  std::vector<CommandRule> out;
  for (const char* t : texts) out.push_back(*parse_command_rule(t));
  return out;
}

TEST(CommandRule, EveryGuardrailBlocksUntilARuleNamingItsServiceLiftsIt) {
  struct Case {
    const char* op;
    const char* guardrail;
    const char* lifting_rule;  // an allow rule naming the service
  } cases[] = {
      {"sts:AssumeRole", "credential-escape: STS credentials", "allow sts:AssumeRole"},
      {"sts:GetSessionToken", "credential-escape: STS credentials", "allow sts:*"},
      {"sts:GetFederationToken", "credential-escape: STS credentials",
       "allow sts:GetFederationToken"},
      {"iam:CreateAccessKey", "credential-escape: new IAM keys", "allow iam:CreateAccessKey"},
      {"iam:UpdateAccessKey", "credential-escape: new IAM keys", "allow iam:*AccessKey"},
      {"iam:CreateLoginProfile", "credential-escape: console passwords",
       "allow iam:CreateLoginProfile"},
      {"iam:UpdateLoginProfile", "credential-escape: console passwords", "allow IAM:*"},
      {"iam:CreateUser", "privilege-escalation: new IAM principals", "allow iam:CreateUser"},
      {"iam:CreateRole", "privilege-escalation: new IAM principals", "allow iam:CreateRole"},
      {"iam:UpdateAssumeRolePolicy", "privilege-escalation: new IAM principals",
       "allow iam:UpdateAssumeRolePolicy"},
      {"iam:AttachUserPolicy", "privilege-escalation: IAM policies", "allow iam:Attach*"},
      {"iam:AttachRolePolicy", "privilege-escalation: IAM policies", "allow iam:AttachRolePolicy"},
      {"iam:AttachGroupPolicy", "privilege-escalation: IAM policies",
       "allow iam:AttachGroupPolicy"},
      {"iam:PutUserPolicy", "privilege-escalation: IAM policies", "allow iam:PutUserPolicy"},
      {"iam:PutRolePolicy", "privilege-escalation: IAM policies", "allow iam:Put*Policy"},
      {"iam:PutGroupPolicy", "privilege-escalation: IAM policies", "allow iam:PutGroupPolicy"},
      {"awsssoportal:GetRoleCredentials", "credential-escape: SSO role credentials",
       "allow awsssoportal:GetRoleCredentials"},
      {"cognito-identity:GetCredentialsForIdentity", "credential-escape: Cognito credentials",
       "allow cognito-identity:GetCredentialsForIdentity"},
      {"ec2:CreateKeyPair", "credential-escape: EC2 key pairs", "allow ec2:CreateKeyPair"},
      {"ec2:ImportKeyPair", "credential-escape: EC2 key pairs", "allow ec2:*KeyPair"},
  };
  for (const Case& c : cases) {
    CommandCheck blocked = check_command({}, c.op);
    EXPECT_EQ(blocked.verdict, CommandVerdict::kDeniedByGuardrail) << c.op;
    ASSERT_NE(blocked.guardrail, nullptr) << c.op;
    EXPECT_EQ(blocked.guardrail->name, c.guardrail) << c.op;
    // Catch-alls were written for other calls.
    for (const char* catch_all : {"allow *:*", "allow *:Create*", "allow *:*Credentials*"}) {
      EXPECT_EQ(check_command(rules_of({catch_all}), c.op).verdict,
                CommandVerdict::kDeniedByGuardrail)
          << c.op << " with " << catch_all;
    }
    EXPECT_EQ(check_command(rules_of({c.lifting_rule}), c.op).verdict, CommandVerdict::kAllowed)
        << c.op << " with " << c.lifting_rule;
    // An explicit deny still wins over the rule that lifts it.
    EXPECT_EQ(check_command(rules_of({c.lifting_rule, "deny *:*"}), c.op).verdict,
              CommandVerdict::kDeniedByRule)
        << c.op;
  }
  // A rule naming the service that does not match the call lifts nothing.
  EXPECT_EQ(
      check_command(rules_of({"allow iam:CreateUser", "allow *:*"}), "iam:CreateRole").verdict,
      CommandVerdict::kDeniedByGuardrail);
  // Neighbours of the guarded calls are not guarded.
  for (const char* op : {"iam:ListAccessKeys", "iam:DeleteAccessKey", "iam:GetUser",
                         "ec2:DescribeKeyPairs", "ec2:DeleteKeyPair", "sts:GetCallerIdentity",
                         "awsssoportal:ListAccounts", "cognito-identity:GetId"}) {
    EXPECT_EQ(check_command({}, op).verdict, CommandVerdict::kAllowed) << op;
  }
}

TEST(CommandRule, PassingARoleIsGuardedUntilIamPassRoleIsAllowed) {
  const std::vector<uint32_t> none;
  const ResourceView passes({}, none, /*passes_role=*/true);
  for (const char* op : {"lambda:CreateFunction", "ec2:RunInstances", "ecs:RunTask"}) {
    CommandCheck blocked = check_command({}, op, passes);
    EXPECT_EQ(blocked.verdict, CommandVerdict::kDeniedByGuardrail) << op;
    ASSERT_NE(blocked.guardrail, nullptr);
    EXPECT_EQ(blocked.guardrail->name, "privilege-escalation: passing a role");
    EXPECT_EQ(check_command({}, op).verdict, CommandVerdict::kAllowed) << op;
    EXPECT_EQ(check_command(rules_of({"allow iam:PassRole", "allow *:*"}), op, passes).verdict,
              CommandVerdict::kAllowed)
        << op;
    EXPECT_EQ(check_command(rules_of({"allow iam:*", "allow *:*"}), op, passes).verdict,
              CommandVerdict::kAllowed)
        << op;
    // The calling service's own rules, catch-alls and a PassRole rule scoped to some roles do
    // not lift it.
    for (const char* rule : {"allow *:*", "allow lambda:*", "allow ec2:*", "allow ecs:*",
                             "allow *:PassRole", "allow iam:PassRole arn:aws:iam::*:role/app-*"}) {
      EXPECT_EQ(check_command(rules_of({rule, "allow *:*"}), op, passes).verdict,
                CommandVerdict::kDeniedByGuardrail)
          << op << " with " << rule;
    }
    // With allow rules, the call itself must still be allowed.
    EXPECT_EQ(check_command(rules_of({"allow iam:PassRole"}), op, passes).verdict,
              CommandVerdict::kNotAllowed)
        << op;
  }
}

// The roles a request passes, back to back as aws::PassedRoles keeps them.
struct Roles {
  std::string text;
  std::vector<uint32_t> ends;
  explicit Roles(std::initializer_list<const char*> arns) {
    for (const char* a : arns) {
      text += a;
      ends.push_back(static_cast<uint32_t>(text.size()));
    }
  }
  ResourceView view(bool unreadable = false) const {
    return ResourceView({}, {}, /*passes_role=*/true).with_roles(text, ends, unreadable);
  }
};

TEST(CommandRule, APassRoleRuleScopedToRolesLiftsTheGuardrailOnlyForThoseRoles) {
  const Roles lambda_role({"arn:aws:iam::123456789012:role/lambda-orders"});
  const Roles admin_role({"arn:aws:iam::123456789012:role/admin"});
  const Roles both(
      {"arn:aws:iam::123456789012:role/lambda-orders", "arn:aws:iam::123456789012:role/admin"});
  const std::vector<CommandRule> scoped =
      rules_of({"allow iam:PassRole arn:aws:iam::123456789012:role/lambda-*", "allow *:*"});
  const char* op = "lambda:CreateFunction";
  EXPECT_EQ(check_command(scoped, op, lambda_role.view()).verdict, CommandVerdict::kAllowed);
  // Every role passed must match: the denial names the first that does not.
  for (const Roles* roles : {&admin_role, &both}) {
    CommandCheck c = check_command(scoped, op, roles->view());
    EXPECT_EQ(c.verdict, CommandVerdict::kDeniedByGuardrail);
    EXPECT_EQ(c.resource, "arn:aws:iam::123456789012:role/admin");
    ASSERT_NE(c.guardrail, nullptr);
    EXPECT_EQ(c.guardrail->name, "privilege-escalation: passing a role");
  }
  // Several scoped rules together, and case counts in the ARN as IAM's Resource does.
  EXPECT_EQ(check_command(
                rules_of({"allow iam:PassRole arn:aws:iam::*:role/lambda-*",
                          "allow IAM:passrole arn:aws:iam::123456789012:role/admin", "allow *:*"}),
                op, both.view())
                .verdict,
            CommandVerdict::kAllowed);
  EXPECT_EQ(
      check_command(rules_of({"allow iam:PassRole arn:aws:iam::*:role/Lambda-*", "allow *:*"}), op,
                    lambda_role.view())
          .verdict,
      CommandVerdict::kDeniedByGuardrail);
  // A role that could not be read matches no pattern: only a rule for every role lifts it.
  CommandCheck unread = check_command(scoped, op, lambda_role.view(/*unreadable=*/true));
  EXPECT_EQ(unread.verdict, CommandVerdict::kDeniedByGuardrail);
  EXPECT_EQ(unread.resource, "");
  EXPECT_EQ(check_command(rules_of({"allow iam:PassRole", "allow *:*"}), op,
                          lambda_role.view(/*unreadable=*/true))
                .verdict,
            CommandVerdict::kAllowed);
  // Scoped rules of another service or action, or through a catch-all, do not lift it.
  for (const char* rule : {"allow *:* arn:aws:iam::123456789012:role/*",
                           "allow *:PassRole arn:aws:iam::123456789012:role/*",
                           "allow lambda:* arn:aws:iam::123456789012:role/*",
                           "allow iam:GetRole arn:aws:iam::123456789012:role/*"}) {
    EXPECT_EQ(check_command(rules_of({rule, "allow *:*"}), op, lambda_role.view()).verdict,
              CommandVerdict::kDeniedByGuardrail)
        << rule;
  }
  // An explicit deny still wins, and the call itself must still be allowed.
  EXPECT_EQ(check_command(rules_of({"deny lambda:CreateFunction",
                                    "allow iam:PassRole arn:aws:iam::*:role/*", "allow *:*"}),
                          op, lambda_role.view())
                .verdict,
            CommandVerdict::kDeniedByRule);
  EXPECT_EQ(
      check_command(rules_of({"allow iam:PassRole arn:aws:iam::*:role/*"}), op, lambda_role.view())
          .verdict,
      CommandVerdict::kNotAllowed);
  // EC2 passes an instance profile: rules name its ARN.
  const Roles profile({"arn:aws:iam::123456789012:instance-profile/web"});
  EXPECT_EQ(check_command(
                rules_of({"allow iam:PassRole arn:aws:iam::*:instance-profile/web", "allow *:*"}),
                "ec2:RunInstances", profile.view())
                .verdict,
            CommandVerdict::kAllowed);
  EXPECT_EQ(check_command(scoped, "ec2:RunInstances", profile.view()).resource,
            "arn:aws:iam::123456789012:instance-profile/web");
  // The other guardrails take no resource scope from a PassRole rule.
  EXPECT_EQ(check_command(rules_of({"allow iam:PassRole arn:aws:iam::*:role/*", "allow *:*"}),
                          "iam:CreateAccessKey", lambda_role.view())
                .verdict,
            CommandVerdict::kDeniedByGuardrail);
}

TEST(CommandRule, ArnMatchingAsIamMatchesResources) {
  struct Case {
    const char* pattern;
    const char* arn;
    bool match;
  } cases[] = {
      {"arn:aws:s3:::prod-*/*", "arn:aws:s3:::prod-logs/2026/a.gz", true},
      {"arn:aws:s3:::prod-*/*", "arn:aws:s3:::prod-logs", false},  // the bucket, not an object
      {"arn:aws:s3:::prod-*", "arn:aws:s3:::prod-logs", true},
      {"arn:aws:s3:::prod-*", "arn:aws:s3:::prod-logs/k", true},  // '*' crosses '/' in the resource
      {"arn:aws:s3:::Prod-*", "arn:aws:s3:::prod-logs", false},   // case counts
      {"arn:aws:s3:::reports/202?/*", "arn:aws:s3:::reports/2026/x", true},
      {"arn:aws:s3:::reports/202?/*", "arn:aws:s3:::reports/20267/x", false},
      {"arn:aws:s3:::k/?", "arn:aws:s3:::k/\xe2\x82\xac", true},  // one UTF-8 character
      {"arn:aws:dynamodb:*:*:table/payments", "arn:aws:dynamodb:us-east-1:1:table/payments", true},
      {"arn:aws:dynamodb:*:*:table/payments", "arn:aws:dynamodb:us-east-1::table/payments", true},
      {"arn:aws:dynamodb:*:*:table/payments", "arn:aws:dynamodb:us-east-1:1:table/payments2",
       false},
      // A field's '*' stops at its ':'; the resource's does not.
      {"arn:aws:*:table/x", "arn:aws:dynamodb:us-east-1:1:table/x", false},
      {"arn:aws:lambda:*:*:function:*", "arn:aws:lambda:eu-west-1:1:function:f:prod", true},
      {"arn:*:*:*:*:*", "arn:aws-cn:s3:::b", true},
      {"arn:aws:s3:::b", "not-an-arn", false},
      // A '?' on a lead byte takes its character's bytes, here past the end: the star before it
      // then tries the next byte, where '?' takes one stray byte and 'z' ends the match.
      {"arn:aws:s3:::k/*?z", "arn:aws:s3:::k/\xf0\xa8z", true},
  };
  for (const Case& c : cases) {
    std::string arn = c.arn;
    // Unescape the one \xNN sequence form used above.
    for (size_t i; (i = arn.find("\\x")) != std::string::npos;) {
      arn.replace(i, 4, 1, static_cast<char>(std::stoi(arn.substr(i + 2, 2), nullptr, 16)));
    }
    EXPECT_EQ(arn_match(c.pattern, arn), c.match) << c.pattern << " vs " << c.arn;
  }
}

TEST(CommandRule, ParsesResourcePatterns) {
  auto r = parse_command_rule("deny s3:DeleteObject arn:aws:s3:::prod-*/with space/*");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pattern, "s3:DeleteObject");
  EXPECT_EQ(r->resource, "arn:aws:s3:::prod-*/with space/*");
  EXPECT_EQ(format_command_rule(*r), "deny s3:DeleteObject arn:aws:s3:::prod-*/with space/*");
  EXPECT_EQ(parse_command_rule("allow s3:Get*")->resource, "");
  auto bad = parse_command_rule("deny s3:* arn:aws:s3");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not an ARN"), std::string_view::npos);
  EXPECT_FALSE(parse_command_rule("deny s3:* arn:aws:s3:::a\x01").ok());
  EXPECT_FALSE(validate_resource_pattern(std::string(2049, 'a')).ok());
  EXPECT_FALSE(validate_resource_pattern("s3:::bucket").ok());
  EXPECT_TRUE(validate_resource_pattern("arn:aws:s3:::bucket").ok());
}

// As IAM evaluates: a deny on any resource wins; with allow rules, every resource needs one.
TEST(CommandRule, ResourceScopedDecisions) {
  auto rules = [](std::initializer_list<const char*> texts) {
    std::vector<CommandRule> out;
    for (const char* t : texts) out.push_back(*parse_command_rule(t));
    return out;
  };
  auto view = [](std::initializer_list<std::string_view> arns, std::string* text,
                 std::vector<uint32_t>* ends) {
    text->clear();
    ends->clear();
    for (std::string_view a : arns) {
      text->append(a);
      ends->push_back(static_cast<uint32_t>(text->size()));
    }
    return ResourceView(*text, *ends);
  };
  std::string text;
  std::vector<uint32_t> ends;
  const ResourceView batch =
      view({"arn:aws:s3:::b", "arn:aws:s3:::b/tmp/1", "arn:aws:s3:::b/keep/2"}, &text, &ends);

  auto deny = rules({"deny s3:DeleteObject* arn:aws:s3:::b/keep/*"});
  CommandCheck c = check_command(deny, "s3:DeleteObjects", batch);
  EXPECT_EQ(c.verdict, CommandVerdict::kDeniedByRule);
  EXPECT_EQ(c.resource, "arn:aws:s3:::b/keep/2");
  ASSERT_NE(c.rule, nullptr);
  EXPECT_EQ(c.rule->resource, "arn:aws:s3:::b/keep/*");
  EXPECT_EQ(check_command(deny, "s3:PutObject", batch).verdict, CommandVerdict::kAllowed);
  // A resource-scoped deny does not touch a request that names no resource.
  EXPECT_EQ(check_command(deny, "s3:DeleteObjects", {}).verdict, CommandVerdict::kAllowed);

  auto allow = rules({"allow s3:* arn:aws:s3:::b", "allow s3:* arn:aws:s3:::b/tmp/*"});
  c = check_command(allow, "s3:DeleteObjects", batch);
  EXPECT_EQ(c.verdict, CommandVerdict::kNotAllowed);
  EXPECT_EQ(c.resource, "arn:aws:s3:::b/keep/2");
  std::string t2;
  std::vector<uint32_t> e2;
  EXPECT_EQ(check_command(allow, "s3:DeleteObjects",
                          view({"arn:aws:s3:::b", "arn:aws:s3:::b/tmp/1"}, &t2, &e2))
                .verdict,
            CommandVerdict::kAllowed);
  // Without a resource, only an allow rule without one covers the request.
  EXPECT_EQ(check_command(allow, "s3:ListBuckets", {}).verdict, CommandVerdict::kNotAllowed);
  EXPECT_EQ(check_command(rules({"allow s3:List*"}), "s3:ListBuckets", {}).verdict,
            CommandVerdict::kAllowed);
  // The allow must be for this operation.
  EXPECT_EQ(check_command(rules({"allow s3:Get* arn:aws:s3:::b/*"}), "s3:PutObject",
                          view({"arn:aws:s3:::b/x"}, &t2, &e2))
                .verdict,
            CommandVerdict::kNotAllowed);
  // Rules past the 64th are still read.
  std::vector<CommandRule> many(70, *parse_command_rule("deny ec2:* arn:aws:ec2:*:*:instance/x"));
  many.push_back(*parse_command_rule("allow s3:* arn:aws:s3:::b/tmp/*"));
  many.push_back(*parse_command_rule("allow s3:* arn:aws:s3:::b"));
  EXPECT_EQ(check_command(many, "s3:DeleteObjects",
                          view({"arn:aws:s3:::b", "arn:aws:s3:::b/tmp/1"}, &t2, &e2))
                .verdict,
            CommandVerdict::kAllowed);
}

}  // namespace
}  // namespace pamproxy::policy
