#include "pamproxy/policy/decision.h"

#include <gtest/gtest.h>

#include "tests/unit/policy/policy_fixture.h"

namespace pamproxy::policy {
namespace {

using testing::fixture_data;
using testing::fixture_now;

struct Case {
  const char* name;
  std::function<void(SnapshotData&)> modify;
  const char* token;
  const char* ref;
  const char* op;
  const char* client;
  absl::Duration shift;  // added to fixture_now()
  DenyKind want;         // kNone: allowed
  const char* reason_has;
};

const Case kCases[] = {
    // Allowed paths.
    {"plain allow by id", nullptr, "TALICE", "r-open", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"allow by bare name", nullptr, "TALICE", "open", "s3:ListBuckets", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"allow by name criterion", nullptr, "TALICE", "name:op*", "s3:ListBuckets", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"allow by tag for role member", nullptr, "TBOB", "tag:us", "ec2:DescribeInstances",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kNone, ""},
    {"allow by tag+tag", nullptr, "TBOB", "tag:prod+tag:eu", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"inside window", nullptr, "TALICE", "hours", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"inside network", nullptr, "TALICE", "netrec", "s3:GetObject", "10.9.8.7",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"approved request covers now", nullptr, "TALICE", "approved-rec", "s3:GetObject", "10.9.8.7",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"command allowed by rule", nullptr, "TALICE", "readonly", "s3:GetObject", "10.9.8.7",
     absl::ZeroDuration(), DenyKind::kNone, ""},
    {"token network allows", nullptr, "TNET", "open", "s3:GetObject", "192.168.4.4",
     absl::ZeroDuration(), DenyKind::kNone, ""},

    // Settings and record types.
    {"proxy disabled", [](SnapshotData& d) { d.settings.proxy_enabled = false; }, "TALICE", "open",
     "s3:GetObject", "203.0.113.5", absl::ZeroDuration(), DenyKind::kProxyDisabled,
     "pamctl settings set proxy.enabled true"},
    {"record type disabled", [](SnapshotData& d) { d.record_types[0].enabled = false; }, "TALICE",
     "open", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(), DenyKind::kRecordTypeDisabled,
     "pamctl record-types enable aws-access-keys"},

    // Tokens.
    {"unknown token", nullptr, "TNOPE", "open", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kTokenUnknown, "no REST API token with id 'TNOPE'"},
    {"expired token", nullptr, "TEXP", "open", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kTokenExpired, "token TEXP expired at 2026-11-23T08:59:00Z"},
    {"token expires exactly now", nullptr, "TEXP", "open", "s3:GetObject", "203.0.113.5",
     -absl::Minutes(1), DenyKind::kTokenExpired, "expired at"},
    {"revoked token", nullptr, "TREV", "open", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kTokenRevoked, "was revoked at 2026-11-23T07:00:00Z"},
    {"token from outside its networks", nullptr, "TNET", "open", "s3:GetObject", "10.0.0.1",
     absl::ZeroDuration(), DenyKind::kTokenNetwork,
     "may be used only from 192.168.0.0/16; this request came from 10.0.0.1"},
    {"revoked beats disabled network", nullptr, "TREV", "open", "s3:GetObject", "10.0.0.1",
     absl::ZeroDuration(), DenyKind::kTokenRevoked, "revoked"},
    {"disabled user", [](SnapshotData& d) { d.users[0].disabled = true; }, "TALICE", "open",
     "s3:GetObject", "203.0.113.5", absl::ZeroDuration(), DenyKind::kUserDisabled,
     "user alice is disabled; an admin enables the user again with pamctl users enable alice"},

    // Record references and permissions.
    {"unknown record", nullptr, "TALICE", "nope", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kRecordNotFound, "no record with id or name 'nope'"},
    {"no grant hides the record", nullptr, "TDAVE", "open", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kRecordNotFound, "no record with id or name 'open'"},
    {"view but not connect", nullptr, "TALICE", "viewonly", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kNoConnectPermission, "no Connect permission"},
    {"ambiguous tag", nullptr, "TBOB", "tag:prod", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kRecordAmbiguous, "matches 3 records"},
    {"criteria match none", nullptr, "TBOB", "tag:prod+name:zzz", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kRecordNotFound, "no record you may connect to matches"},
    {"criteria skip records without connect", nullptr, "TALICE", "name:viewonly", "s3:GetObject",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kRecordNotFound, "matches 'name:viewonly'"},
    {"bad criterion", nullptr, "TALICE", "tag:x+color:red", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kRecordRefInvalid, "'color:red'"},
    {"role membership removed", [](SnapshotData& d) { d.roles[0].member_user_ids.clear(); }, "TBOB",
     "tag:us", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(), DenyKind::kRecordNotFound,
     "no record you may connect to"},

    // Access policy: networks, windows, time zones, approval, command rules.
    {"client outside record networks", nullptr, "TALICE", "netrec", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kClientNetwork,
     "record 'netrec' may be used only from 10.0.0.0/8; this request came from 203.0.113.5"},
    {"outside window (evening)", nullptr, "TALICE", "hours", "s3:GetObject", "203.0.113.5",
     absl::Hours(9), DenyKind::kOutsideWindow,
     "access to record 'hours' outside Mon-Fri 08:00-18:00 Europe/Berlin (now Mon 19:00)"},
    {"outside window (weekend)", nullptr, "TALICE", "hours", "s3:GetObject", "203.0.113.5",
     absl::Hours(24 * 5), DenyKind::kOutsideWindow, "(now Sat 10:00)"},
    {"time zone unavailable fails closed", nullptr, "TALICE", "badzone", "s3:GetObject",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kTimeZoneUnavailable, "Mars/Olympus_Mons"},
    {"approval missing", nullptr, "TALICE", "noreq-rec", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kApprovalRequired,
     "approval required for record 'noreq-rec': request one with pamctl requests create "
     "r-noreq --duration 1h"},
    {"approval pending", nullptr, "TALICE", "pending-rec", "s3:GetObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kApprovalRequired, "your request req-wait is waiting"},
    {"approval ended", nullptr, "TALICE", "approved-rec", "s3:GetObject", "203.0.113.5",
     absl::Hours(1), DenyKind::kApprovalRequired, "request one with pamctl requests create"},
    {"approval not yet started", nullptr, "TALICE", "approved-rec", "s3:GetObject", "203.0.113.5",
     -absl::Hours(2), DenyKind::kApprovalRequired, "approval required"},
    {"approval revoked", [](SnapshotData& d) { d.requests[0].state = RequestState::kRevoked; },
     "TALICE", "approved-rec", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kApprovalRequired, "approval required"},
    {"approval of another user does not count",
     [](SnapshotData& d) { d.grants.push_back(testing::grant_user("u-bob", "r-appr", kConnect)); },
     "TBOB", "approved-rec", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kApprovalRequired, "request one with pamctl requests create"},
    {"command not allowed", nullptr, "TALICE", "readonly", "s3:PutObject", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kCommandDenied,
     "s3:PutObject is not among the operations allowed on record 'readonly'"},
    {"command denied by rule", nullptr, "TALICE", "readonly", "s3:GetObjectAcl", "203.0.113.5",
     absl::ZeroDuration(), DenyKind::kCommandDenied, "by the rule 'deny s3:GetObjectAcl'"},
    {"sts credentials denied by default", nullptr, "TALICE", "open", "sts:GetSessionToken",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kCommandDenied,
     "sts:GetSessionToken is blocked by the guardrail 'credential-escape: STS credentials' (the "
     "keys it hands out would outlive every check made here); an admin can allow it on record "
     "'open' with pamctl policies set r-open --allow sts:GetSessionToken"},
    {"assume role denied by default", nullptr, "TALICE", "open", "sts:AssumeRoleWithWebIdentity",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kCommandDenied,
     "--allow sts:AssumeRoleWithWebIdentity"},
    {"new iam keys denied by default", nullptr, "TALICE", "open", "iam:CreateAccessKey",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kCommandDenied,
     "iam:CreateAccessKey is blocked by the guardrail 'credential-escape: new IAM keys' (new or "
     "reactivated access keys would bypass the proxy); an admin can allow it on record 'open' "
     "with pamctl policies set r-open --allow iam:CreateAccessKey"},
    {"get caller identity is fine", nullptr, "TALICE", "open", "sts:GetCallerIdentity",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kNone, ""},

    // Combinations: the first failing check in the documented order is reported.
    {"window and network both fail: network first",
     [](SnapshotData& d) { d.policies[0].allowed_networks = {*net::Cidr::parse("10.0.0.0/8")}; },
     "TALICE", "hours", "s3:GetObject", "203.0.113.5", absl::Hours(9), DenyKind::kClientNetwork,
     "may be used only from"},
    {"command and window both fail: command first",
     [](SnapshotData& d) { d.policies[0].command_rules = {*parse_command_rule("deny s3:*")}; },
     "TALICE", "hours", "s3:GetObject", "203.0.113.5", absl::Hours(9), DenyKind::kCommandDenied,
     "deny s3:*"},
    {"window and approval: window first",
     [](SnapshotData& d) {
       d.policies[0].approval_required = true;
       d.policies[0].approver_role_id = "ro-appr";
     },
     "TALICE", "hours", "s3:GetObject", "203.0.113.5", absl::Hours(9), DenyKind::kOutsideWindow,
     "outside"},
    {"window ok, approval missing",
     [](SnapshotData& d) {
       d.policies[0].approval_required = true;
       d.policies[0].approver_role_id = "ro-appr";
     },
     "TALICE", "hours", "s3:GetObject", "203.0.113.5", absl::ZeroDuration(),
     DenyKind::kApprovalRequired, "approval required"},
    {"expired token and disabled proxy: proxy first",
     [](SnapshotData& d) { d.settings.proxy_enabled = false; }, "TEXP", "open", "s3:GetObject",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kProxyDisabled, "disabled"},
    {"disabled type and missing grant: grant first",
     [](SnapshotData& d) { d.record_types[0].enabled = false; }, "TDAVE", "open", "s3:GetObject",
     "203.0.113.5", absl::ZeroDuration(), DenyKind::kRecordNotFound, "no record"},
};

TEST(Decision, Table) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    SnapshotData data = fixture_data();
    if (c.modify) c.modify(data);
    auto snap = Snapshot::build(std::move(data), 1);
    Decision d = decide(*snap, c.token, c.ref, c.op, *net::IpAddress::parse(c.client),
                        fixture_now() + c.shift);
    EXPECT_EQ(d.deny, c.want) << deny_kind_name(d.deny) << ": " << d.reason;
    EXPECT_EQ(d.allowed, c.want == DenyKind::kNone);
    if (c.want == DenyKind::kNone) {
      EXPECT_TRUE(d.reason.empty());
      ASSERT_NE(d.record, nullptr);
      EXPECT_EQ(d.access_key_id(), "AKIA" + d.record->record.id);
      EXPECT_EQ(d.secret_access_key(), "secret-of-" + d.record->record.id);
    } else {
      EXPECT_NE(d.reason.find(c.reason_has), std::string::npos) << d.reason;
      // A reason never carries a secret.
      EXPECT_EQ(d.reason.find("secret-of-"), std::string::npos);
      EXPECT_EQ(d.reason.find("tok-secret-"), std::string::npos);
    }
  }
}

TEST(Decision, AllowCarriesCredentialsAndIdentity) {
  auto snap = Snapshot::build(fixture_data(), 1);
  Decision d = decide(*snap, "TALICE", "open", "s3:GetObject", *net::IpAddress::parse("10.0.0.1"),
                      fixture_now());
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.access_key_id(), "AKIAr-open");
  EXPECT_EQ(d.secret_access_key(), "secret-of-r-open");
  EXPECT_EQ(d.session_token(), "session-of-open");
  EXPECT_EQ(d.default_region(), "eu-central-1");
  EXPECT_EQ(d.record->record.name, "open");
  EXPECT_EQ(d.user->user.name, "alice");
  EXPECT_EQ(d.token->token.id, "TALICE");
  EXPECT_EQ(d.approval, nullptr);

  Decision a = decide(*snap, "TALICE", "approved-rec", "s3:GetObject",
                      *net::IpAddress::parse("10.0.0.1"), fixture_now());
  ASSERT_TRUE(a.allowed);
  ASSERT_NE(a.approval, nullptr);
  EXPECT_EQ(a.approval->id, "req-ok");
}

TEST(Decision, AwsCodes) {
  EXPECT_EQ(aws_error_code(DenyKind::kTokenUnknown), AwsErrorCode::kInvalidClientTokenId);
  EXPECT_EQ(aws_error_code(DenyKind::kTokenRevoked), AwsErrorCode::kInvalidClientTokenId);
  EXPECT_EQ(aws_error_code(DenyKind::kTokenExpired), AwsErrorCode::kExpiredToken);
  EXPECT_EQ(aws_error_code(DenyKind::kOutsideWindow), AwsErrorCode::kAccessDenied);
  EXPECT_EQ(aws_error_code_name(AwsErrorCode::kExpiredToken), "ExpiredToken");
}

TEST(Decision, AdminHasNoImplicitConnect) {
  SnapshotData d = fixture_data();
  d.tokens.push_back(testing::make_token("TADMIN", "u-admin"));
  auto snap = Snapshot::build(std::move(d), 1);
  Decision dec = decide(*snap, "TADMIN", "open", "s3:GetObject", *net::IpAddress::parse("10.0.0.1"),
                        fixture_now());
  EXPECT_EQ(dec.deny, DenyKind::kRecordNotFound);
}

TEST(Decision, ResourceScopedRulesNameTheRuleAndTheResource) {
  SnapshotData data = fixture_data();
  data.policies[0].command_rules = {
      *parse_command_rule("deny s3:DeleteObject* arn:aws:s3:::prod-*/*"),
      *parse_command_rule("allow s3:* arn:aws:s3:::*")};
  auto snap = Snapshot::build(std::move(data), 1);
  const std::string text = "arn:aws:s3:::prod-a/k";
  const std::vector<uint32_t> ends = {static_cast<uint32_t>(text.size())};
  Decision d =
      decide(*snap, "TALICE", "hours", "s3:DeleteObject", *net::IpAddress::parse("203.0.113.5"),
             fixture_now(), ResourceView(text, ends));
  EXPECT_EQ(d.deny, DenyKind::kCommandDenied);
  EXPECT_EQ(d.reason,
            "s3:DeleteObject on arn:aws:s3:::prod-a/k is denied on record 'hours' by the rule "
            "'deny s3:DeleteObject* arn:aws:s3:::prod-*/*'");
  Decision get =
      decide(*snap, "TALICE", "hours", "s3:GetObject", *net::IpAddress::parse("203.0.113.5"),
             fixture_now(), ResourceView(text, ends));
  EXPECT_TRUE(get.allowed) << get.reason;
  const std::string other = "arn:aws:dynamodb:us-east-1::table/t";
  const std::vector<uint32_t> other_ends = {static_cast<uint32_t>(other.size())};
  Decision ddb =
      decide(*snap, "TALICE", "hours", "dynamodb:GetItem", *net::IpAddress::parse("203.0.113.5"),
             fixture_now(), ResourceView(other, other_ends));
  EXPECT_EQ(ddb.reason,
            "dynamodb:GetItem on arn:aws:dynamodb:us-east-1::table/t is not among the operations "
            "allowed on record 'hours'");
}

TEST(Decision, PassingARoleNamesItsGuardrailAndHowToLiftIt) {
  SnapshotData data = fixture_data();
  auto snap = Snapshot::build(std::move(data), 1);
  const std::vector<uint32_t> none;
  Decision d = decide(*snap, "TALICE", "open", "lambda:CreateFunction",
                      *net::IpAddress::parse("203.0.113.5"), fixture_now(),
                      ResourceView({}, none, /*passes_role=*/true));
  EXPECT_EQ(d.deny, DenyKind::kCommandDenied);
  EXPECT_EQ(d.reason,
            "lambda:CreateFunction passes a role and is blocked by the guardrail "
            "'privilege-escalation: passing a role' (the function, instance or task would act "
            "with the role's powers, which may exceed the record's); an admin can allow it on "
            "record 'open' with pamctl policies set r-open --allow iam:PassRole");
  // The role is known: the denial names it and the rule that lifts it for that role alone.
  const std::string role = "arn:aws:iam::123456789012:role/admin";
  const std::vector<uint32_t> role_end = {static_cast<uint32_t>(role.size())};
  Decision named =
      decide(*snap, "TALICE", "open", "lambda:CreateFunction",
             *net::IpAddress::parse("203.0.113.5"), fixture_now(),
             ResourceView({}, none, /*passes_role=*/true).with_roles(role, role_end, false));
  EXPECT_EQ(named.reason,
            "lambda:CreateFunction passes the role arn:aws:iam::123456789012:role/admin and is "
            "blocked by the guardrail 'privilege-escalation: passing a role' (the function, "
            "instance or task would act with the role's powers, which may exceed the record's); "
            "an admin can allow it on record 'open' with pamctl policies set r-open --allow "
            "'iam:PassRole arn:aws:iam::123456789012:role/admin' (or an ARN pattern that matches "
            "it)");
  const std::string profile = "arn:aws:iam:::instance-profile/web";
  const std::vector<uint32_t> profile_end = {static_cast<uint32_t>(profile.size())};
  Decision ec2 =
      decide(*snap, "TALICE", "open", "ec2:RunInstances", *net::IpAddress::parse("203.0.113.5"),
             fixture_now(),
             ResourceView({}, none, /*passes_role=*/true).with_roles(profile, profile_end, false));
  EXPECT_NE(ec2.reason.find("ec2:RunInstances passes the instance profile "
                            "arn:aws:iam:::instance-profile/web and is blocked"),
            std::string::npos)
      << ec2.reason;
  Decision without_role =
      decide(*snap, "TALICE", "open", "lambda:CreateFunction",
             *net::IpAddress::parse("203.0.113.5"), fixture_now(), ResourceView({}, none));
  EXPECT_TRUE(without_role.allowed) << without_role.reason;
}

}  // namespace
}  // namespace pamproxy::policy
