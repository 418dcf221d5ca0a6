#include "pamproxy/aws/passed_roles.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pamproxy::aws {
namespace {

struct Read {
  std::vector<std::string> roles;
  bool unreadable = false;
};

Read read(std::string_view service, std::string_view operation, std::string_view body,
          std::string_view query = "", std::string_view account = "123456789012",
          std::string_view region = "us-east-1") {
  ResourceRequest r;
  r.service = service;
  r.operation = operation;
  r.region = region;
  r.account = account;
  r.body = body;
  r.query = query;
  PassedRoles list;
  read_passed_roles(r, &list);
  Read out;
  for (size_t i = 0; i < list.size(); ++i) out.roles.emplace_back(list[i]);
  out.unreadable = list.unreadable();
  return out;
}

using Roles = std::vector<std::string>;

TEST(PassedRoles, LambdaRoleIsItsArn) {
  Read r = read("lambda", "CreateFunction",
                R"({"FunctionName":"f","Role":"arn:aws:iam::111122223333:role/lambda-orders"})");
  EXPECT_EQ(r.roles, Roles{"arn:aws:iam::111122223333:role/lambda-orders"});
  EXPECT_FALSE(r.unreadable);
  EXPECT_EQ(read("lambda", "UpdateFunctionConfiguration", R"({"Role":"fn-role"})").roles,
            Roles{"arn:aws:iam::123456789012:role/fn-role"});
  // JSON escapes are read as AWS reads them.
  EXPECT_EQ(read("lambda", "CreateFunction", R"({"Role":"arn:aws:iam::1:role\/x"})").roles,
            Roles{"arn:aws:iam::1:role/x"});
}

TEST(PassedRoles, EcsRolesTopLevelAndInOverrides) {
  Read r =
      read("ecs", "RegisterTaskDefinition",
           R"({"family":"t","taskRoleArn":"app","executionRoleArn":"arn:aws:iam::1:role/ex"})");
  EXPECT_EQ(r.roles, (Roles{"arn:aws:iam::123456789012:role/app", "arn:aws:iam::1:role/ex"}));
  Read o = read("ecs", "RunTask", R"({"taskDefinition":"t","overrides":{"taskRoleArn":"o"}})");
  EXPECT_EQ(o.roles, Roles{"arn:aws:iam::123456789012:role/o"});
}

TEST(PassedRoles, Ec2PassesAnInstanceProfile) {
  EXPECT_EQ(
      read("ec2", "RunInstances", "Action=RunInstances&IamInstanceProfile.Name=web%2Bapp").roles,
      Roles{"arn:aws:iam::123456789012:instance-profile/web+app"});
  EXPECT_EQ(read("ec2", "AssociateIamInstanceProfile", "",
                 "IamInstanceProfile.Arn=arn%3Aaws%3Aiam%3A%3A1%3Ainstance-profile%2Fp")
                .roles,
            Roles{"arn:aws:iam::1:instance-profile/p"});
  // The partition follows the region; an unknown account stays empty.
  EXPECT_EQ(read("ec2", "RunInstances", "IamInstanceProfile.Name=p", "", "", "cn-north-1").roles,
            Roles{"arn:aws-cn:iam:::instance-profile/p"});
}

TEST(PassedRoles, WhatCannotBeMatchedForCertainMakesTheListUnreadable) {
  EXPECT_TRUE(read("lambda", "CreateFunction", R"({"Role":7})").unreadable);
  EXPECT_TRUE(read("lambda", "CreateFunction", R"({"Role":""})").unreadable);
  EXPECT_TRUE(read("lambda", "CreateFunction", "not json").unreadable);
  EXPECT_TRUE(read("ecs", "RunTask", R"({"overrides":{"taskRoleArn":null}})").unreadable);
  EXPECT_TRUE(read("ec2", "RunInstances", "IamInstanceProfile.Name=%zz").unreadable);
  EXPECT_TRUE(read("ec2", "RunInstances", "IamInstanceProfile.Name=a%2").unreadable);
  EXPECT_TRUE(read("ec2", "RunInstances", "IamInstanceProfile.Other=x").unreadable);
  EXPECT_TRUE(
      read("ec2", "RunInstances", "IamInstanceProfile.Name=" + std::string(5000, 'a')).unreadable);
  std::string many = "{";
  for (int i = 0; i < 10; ++i) many += (i ? "," : "") + std::string(R"("Role":"r")");
  many += "}";
  Read r = read("lambda", "CreateFunction", many);
  EXPECT_TRUE(r.unreadable);
  EXPECT_EQ(r.roles.size(), PassedRoles::kCountMax);
}

TEST(PassedRoles, OnlyRolePassingCallsAreRead) {
  EXPECT_TRUE(read("lambda", "GetFunction", R"({"Role":"x"})").roles.empty());
  EXPECT_TRUE(read("iam", "CreateRole", "RoleName=x").roles.empty());
  EXPECT_TRUE(read("lambda", "CreateFunction", R"({"FunctionName":"f"})").roles.empty());
  EXPECT_FALSE(read("lambda", "CreateFunction", R"({"FunctionName":"f"})").unreadable);
}

TEST(PassedRoles, StorageIsKeptFromCallToCall) {
  ResourceRequest r;
  r.service = "lambda";
  r.operation = "CreateFunction";
  r.region = "us-east-1";
  r.body = R"({"Role":"arn:aws:iam::1:role/a"})";
  PassedRoles list;
  read_passed_roles(r, &list);
  const char* storage = list.text().data();
  read_passed_roles(r, &list);
  EXPECT_EQ(list.text().data(), storage);
  EXPECT_EQ(list.size(), 1u);
}

}  // namespace
}  // namespace pamproxy::aws
