#include "pamproxy/policy/guardrail.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "pamproxy/policy/command_rule.h"

namespace pamproxy::policy {
namespace {

TEST(Guardrail, TableIsWellFormed) {
  std::set<std::string_view> names;
  for (const Guardrail& g : guardrails()) {
    EXPECT_TRUE(names.insert(g.name).second) << g.name;
    EXPECT_TRUE(g.name.starts_with("credential-escape: ") ||
                g.name.starts_with("privilege-escalation: "))
        << g.name;
    EXPECT_FALSE(g.why.empty()) << g.name;
    // Either it blocks calls of its own service, or it is lifted by another call.
    EXPECT_NE(g.operations.empty(), g.lifted_by.empty()) << g.name;
    for (std::string_view op : g.operations) {
      EXPECT_TRUE(validate_command_pattern(op).ok()) << op;
      EXPECT_EQ(op.substr(0, op.find(':')), g.service) << op;
      EXPECT_EQ(guardrail_for(op, false), &g) << op;
    }
    if (!g.lifted_by.empty()) {
      EXPECT_EQ(g.lifted_by.substr(0, g.lifted_by.find(':')), g.service) << g.name;
    }
  }
  EXPECT_GE(names.size(), 9u);
}

TEST(Guardrail, FindsTheGuardrailOfACall) {
  ASSERT_NE(guardrail_for("sts:AssumeRoleWithSAML", false), nullptr);
  EXPECT_EQ(guardrail_for("sts:AssumeRoleWithSAML", false)->name,
            "credential-escape: STS credentials");
  EXPECT_EQ(guardrail_for("IAM:createaccesskey", false)->name, "credential-escape: new IAM keys");
  EXPECT_EQ(guardrail_for("iam:ListUsers", false), nullptr);
  EXPECT_EQ(guardrail_for("s3:GetObject", false), nullptr);
  EXPECT_EQ(guardrail_for("iamx:CreateAccessKey", false), nullptr);
  EXPECT_EQ(guardrail_for("", false), nullptr);
  // A call that passes a role, and is itself guarded, reports its own guardrail first.
  EXPECT_EQ(guardrail_for("lambda:CreateFunction", true)->name,
            "privilege-escalation: passing a role");
  EXPECT_EQ(guardrail_for("iam:CreateRole", true)->name,
            "privilege-escalation: new IAM principals");
}

}  // namespace
}  // namespace pamproxy::policy
