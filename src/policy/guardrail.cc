// The guardrails (see guardrail.h). docs/access-control.md lists the same table for admins.

#include "pamproxy/policy/guardrail.h"

#include <array>

#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

constexpr std::string_view kStsCredentials[] = {"sts:GetSessionToken", "sts:GetFederationToken",
                                                "sts:AssumeRole*"};
constexpr std::string_view kIamKeys[] = {"iam:CreateAccessKey", "iam:UpdateAccessKey"};
constexpr std::string_view kIamPasswords[] = {"iam:CreateLoginProfile", "iam:UpdateLoginProfile"};
constexpr std::string_view kIamPrincipals[] = {"iam:CreateUser", "iam:CreateRole",
                                               "iam:UpdateAssumeRolePolicy"};
constexpr std::string_view kIamPolicies[] = {"iam:AttachUserPolicy",  "iam:AttachRolePolicy",
                                             "iam:AttachGroupPolicy", "iam:PutUserPolicy",
                                             "iam:PutRolePolicy",     "iam:PutGroupPolicy"};
// SSO's portal signs as "awsssoportal", Cognito's identity pools as "cognito-identity".
constexpr std::string_view kSsoCredentials[] = {"awsssoportal:GetRoleCredentials"};
constexpr std::string_view kCognitoCredentials[] = {"cognito-identity:GetCredentialsForIdentity"};
constexpr std::string_view kEc2KeyPairs[] = {"ec2:CreateKeyPair", "ec2:ImportKeyPair"};

constexpr Guardrail kGuardrails[] = {
    {"credential-escape: STS credentials",
     "the keys it hands out would outlive every check made here", "sts", kStsCredentials, ""},
    {"credential-escape: new IAM keys", "new or reactivated access keys would bypass the proxy",
     "iam", kIamKeys, ""},
    {"credential-escape: console passwords", "a console password would bypass the proxy", "iam",
     kIamPasswords, ""},
    {"credential-escape: SSO role credentials",
     "the role keys it hands out would outlive every check made here", "awsssoportal",
     kSsoCredentials, ""},
    {"credential-escape: Cognito credentials",
     "the keys it hands out would outlive every check made here", "cognito-identity",
     kCognitoCredentials, ""},
    {"credential-escape: EC2 key pairs", "an SSH key opens instances without the proxy", "ec2",
     kEc2KeyPairs, ""},
    {"privilege-escalation: new IAM principals",
     "a new user, or a role others may assume, is an identity the proxy never sees", "iam",
     kIamPrincipals, ""},
    {"privilege-escalation: IAM policies", "a policy attached here can grant any power", "iam",
     kIamPolicies, ""},
    {"privilege-escalation: passing a role",
     "the function, instance or task would act with the role's powers, which may exceed the "
     "record's",
     "iam",
     {},
     "iam:PassRole"},
};

constexpr const Guardrail& kPassingRole = kGuardrails[std::size(kGuardrails) - 1];

}  // namespace

std::span<const Guardrail> guardrails() {
  return kGuardrails;
}

const Guardrail* guardrail_for(std::string_view operation, bool passes_role) {
  const std::string_view service = operation.substr(0, operation.find(':'));
  for (const Guardrail& g : kGuardrails) {
    if (!iequals(g.service, service)) continue;
    for (std::string_view pattern : g.operations) {
      if (glob_match(pattern, operation)) return &g;
    }
  }
  return passes_role ? &kPassingRole : nullptr;
}

}  // namespace pamproxy::policy
