"""Guardrails end to end: the real AWS CLI through pamproxyd is refused each call that would let a
user walk away with credentials or powers that outlive the proxy's checks, with the guardrail's
name and the command that lifts it, and nothing reaches the upstream (the stand-in serves none of
these calls, and need not: a refused call never leaves the proxy). The record's allow rule
for one call lifts that call's guardrail, and only that call's: the request is forwarded,
re-signed."""

import concurrent.futures
import hashlib
import json
import os
import unittest

import test_zero_trust
from test_zero_trust import ZeroTrustFixture

# A record whose rules allow everything, and lift one guarded call by naming it.
RULES = ["allow iam:CreateAccessKey", "allow *:*"]
EXTRA_HOSTS = ["iam.amazonaws.com", "lambda.us-east-1.amazonaws.com",
               "ecs.us-east-1.amazonaws.com", "portal.sso.us-east-1.amazonaws.com",
               "cognito-identity.us-east-1.amazonaws.com"]
ROLE = "arn:aws:iam::123456789012:role/admin"

# (guardrail, the call the CLI names in its error and the denial names, CLI arguments); a call
# that passes a role names it, as an ARN, after the call ("passes the role ARN").
GUARDED = [
    ("credential-escape: STS credentials", "sts:GetSessionToken",
     ["sts", "get-session-token"]),
    ("credential-escape: new IAM keys", "iam:UpdateAccessKey",
     ["iam", "update-access-key", "--user-name", "bob", "--access-key-id",
      "AKIAIOSFODNN7EXAMPLE", "--status", "Active"]),
    ("credential-escape: console passwords", "iam:CreateLoginProfile",
     ["iam", "create-login-profile", "--user-name", "bob", "--password", "Secret-12345"]),
    ("privilege-escalation: new IAM principals", "iam:CreateUser",
     ["iam", "create-user", "--user-name", "bob"]),
    ("privilege-escalation: IAM policies", "iam:AttachRolePolicy",
     ["iam", "attach-role-policy", "--role-name", "app", "--policy-arn",
      "arn:aws:iam::aws:policy/AdministratorAccess"]),
    ("credential-escape: EC2 key pairs", "ec2:CreateKeyPair",
     ["ec2", "create-key-pair", "--key-name", "mine"]),
    ("privilege-escalation: passing a role", "lambda:CreateFunction",
     ["lambda", "create-function", "--function-name", "f", "--runtime", "python3.11",
      "--handler", "h.main", "--role", ROLE, "--code", "S3Bucket=code,S3Key=f.zip"]),
    ("privilege-escalation: passing a role", "ec2:RunInstances",
     ["ec2", "run-instances", "--image-id", "ami-12345678", "--iam-instance-profile",
      "Name=admin"]),
    ("privilege-escalation: passing a role", "ecs:RunTask",
     ["ecs", "run-task", "--task-definition", "t", "--overrides",
      '{"taskRoleArn": "%s"}' % ROLE]),
]

# What the denial of each role-passing call above names: the record has no AWS account id, so a
# name becomes an ARN with an empty account field.
PASSED = {"lambda:CreateFunction": "the role " + ROLE,
          "ec2:RunInstances": "the instance profile arn:aws:iam:::instance-profile/admin",
          "ecs:RunTask": "the role " + ROLE}


class Guardrails(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        seed = []
        for rule in RULES:
            seed += ["--rule", rule]
        cls.f = ZeroTrustFixture(seed_args=seed, extra_hosts=EXTRA_HOSTS)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def run_all(self, calls):
        """Runs CLI calls side by side (each takes about a second); returns (marker, result)."""
        def one(args):
            marker = "guard-%s" % os.urandom(6).hex()
            return marker, self.f.aws(*args, marker=marker)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(one, calls))

    def upstream_saw(self, marker):
        return [q for q in self.f.front.requests() if marker in q.get("userAgent", "")]

    def test_each_guardrail_refuses_the_cli_naming_itself_and_the_way_to_lift_it(self):
        results = self.run_all([args for _, _, args in GUARDED])
        record_id = self.f.seed["record_id"]
        for (guardrail, call, _), (marker, r) in zip(GUARDED, results):
            with self.subTest(call=call):
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("An error occurred (AccessDenied)", r.stderr)
                passed = PASSED.get(call)
                self.assertIn("%s%s is blocked by the guardrail '%s'" % (
                    call, " passes %s and" % passed if passed else "", guardrail), r.stderr)
                lift = "'iam:PassRole %s'" % passed.split()[-1] if passed else call
                self.assertIn("an admin can allow it on record '%s' with pamctl policies set "
                              "%s --allow %s" % (self.f.seed["record_name"], record_id, lift),
                              r.stderr)
                self.assertFalse(self.upstream_saw(marker), "the upstream saw the request")

    def test_an_allow_rule_naming_the_call_lifts_its_guardrail_only(self):
        # CreateAccessKey is lifted by the record's rule: forwarded, re-signed (the stand-in
        # checks the record's signature, then serves no such call); the same calls without a
        # role pass.
        lifted = [["iam", "create-access-key", "--user-name", "bob"],
                  ["ec2", "run-instances", "--image-id", "ami-12345678"]]
        for args, (marker, r) in zip(lifted, self.run_all(lifted)):
            with self.subTest(call=args[1]):
                self.assertNotIn("guardrail", r.stderr)
                seen = self.upstream_saw(marker)
                self.assertEqual(len(seen), 1, r.stderr)
                self.assertTrue(seen[0].get("verified"), seen[0])

    def test_unsigned_sso_and_cognito_calls_never_leave_the_proxy(self):
        # The CLI sends these two without a signature (they take a bearer token or an identity
        # id): refused as unsigned. Signed, they meet their guardrails (below).
        calls = [["sso", "get-role-credentials", "--role-name", "r", "--account-id",
                  "123456789012", "--access-token", "t"],
                 ["cognito-identity", "get-credentials-for-identity", "--identity-id",
                  "us-east-1:00000000-0000-0000-0000-000000000000"]]
        for args, (marker, r) in zip(calls, self.run_all(calls)):
            with self.subTest(call=args[1]):
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertFalse(self.upstream_saw(marker), "the upstream saw the request")

    def raw(self):
        # RawRequests' botocore signer and tunnel, on this fixture (imported as a module so that
        # its own tests do not run here).
        raw = test_zero_trust.RawRequests()
        raw.f = self.f
        return raw

    def test_a_role_is_read_from_a_body_the_proxy_need_not_hash(self):
        # With x-amz-content-sha256 the proxy need not hash the body to verify the signature;
        # it still reads a role-passing call's body whole before deciding.
        raw = self.raw()
        host = "lambda.us-east-1.amazonaws.com"
        body = json.dumps({"FunctionName": "f", "Role": ROLE, "Runtime": "python3.11",
                           "Handler": "h.main", "Code": {"S3Bucket": "b", "S3Key": "k"}}).encode()
        m, t, h, b = raw.sign("POST", host, "/2015-03-31/functions", "lambda", body,
                              headers={"Content-Type": "application/json",
                                       "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
        raw.refused(403, "AccessDenied",
                    "lambda:CreateFunction passes the role %s and is blocked by the guardrail "
                    "'privilege-escalation: passing a role'" % ROLE, host, m, t, h, b)

    def test_signed_sso_and_cognito_calls_meet_their_guardrails(self):
        raw = self.raw()
        sso = "portal.sso.us-east-1.amazonaws.com"
        m, t, h, b = raw.sign("GET", sso, "/federation/credentials?role_name=r&account_id=1",
                              "awsssoportal")
        raw.refused(403, "AccessDenied",
                    "awsssoportal:GetRoleCredentials is blocked by the guardrail "
                    "'credential-escape: SSO role credentials'", sso, m, t, h, b)
        cognito = "cognito-identity.us-east-1.amazonaws.com"
        m, t, h, b = raw.sign(
            "POST", cognito, "/", "cognito-identity", b'{"IdentityId":"us-east-1:0"}',
            headers={"Content-Type": "application/x-amz-json-1.1",
                     "X-Amz-Target": "AWSCognitoIdentityService.GetCredentialsForIdentity"})
        raw.refused(403, "AccessDenied",
                    "cognito-identity:GetCredentialsForIdentity is blocked by the guardrail "
                    "'credential-escape: Cognito credentials'", cognito, m, t, h, b)


class PassRoleScopedToRoles(unittest.TestCase):
    """A record whose PassRole rules name some roles: the real AWS CLI's calls passing those
    roles go through, re-signed; a call passing any other role, or one of each, is refused
    naming the role and the rule that would lift the guardrail for it."""

    ACCOUNT = "123456789012"
    RULES = ["allow iam:PassRole arn:aws:iam::%s:role/lambda-*" % ACCOUNT,
             "allow iam:PassRole arn:aws:iam::*:instance-profile/web", "allow *:*"]

    @classmethod
    def setUpClass(cls):
        seed = ["--aws-account-id", cls.ACCOUNT]
        for rule in cls.RULES:
            seed += ["--rule", rule]
        cls.f = ZeroTrustFixture(seed_args=seed, extra_hosts=EXTRA_HOSTS)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    run_all = Guardrails.run_all
    upstream_saw = Guardrails.upstream_saw

    @staticmethod
    def create_function(role):
        return ["lambda", "create-function", "--function-name", "f", "--runtime", "python3.11",
                "--handler", "h.main", "--role", role, "--code", "S3Bucket=code,S3Key=f.zip"]

    def test_calls_passing_only_allowed_roles_are_forwarded(self):
        lambda_role = "arn:aws:iam::%s:role/lambda-orders" % self.ACCOUNT
        calls = [self.create_function(lambda_role),
                 ["ec2", "run-instances", "--image-id", "ami-12345678", "--iam-instance-profile",
                  "Name=web"],
                 ["ecs", "run-task", "--task-definition", "t", "--overrides",
                  json.dumps({"taskRoleArn": "lambda-tasks", "executionRoleArn": lambda_role})]]
        for args, (marker, r) in zip(calls, self.run_all(calls)):
            with self.subTest(call=args[1]):
                self.assertNotIn("guardrail", r.stderr)
                seen = self.upstream_saw(marker)
                self.assertEqual(len(seen), 1, r.stderr)
                self.assertTrue(seen[0].get("verified"), seen[0])

    def test_any_other_role_is_refused_by_name(self):
        admin = "arn:aws:iam::%s:role/admin" % self.ACCOUNT
        profile = "arn:aws:iam::%s:instance-profile/admin" % self.ACCOUNT
        calls = [
            ("lambda:CreateFunction", "the role " + admin, self.create_function(admin)),
            ("ec2:RunInstances", "the instance profile " + profile,
             ["ec2", "run-instances", "--image-id", "ami-12345678", "--iam-instance-profile",
              "Name=admin"]),
            # One role allowed, the other not: refused for the other (by name, with the record's
            # account filled in).
            ("ecs:RunTask", "the role " + admin,
             ["ecs", "run-task", "--task-definition", "t", "--overrides",
              json.dumps({"taskRoleArn": "lambda-tasks", "executionRoleArn": "admin"})]),
        ]
        results = self.run_all([args for _, _, args in calls])
        for (call, passed, _), (marker, r) in zip(calls, results):
            with self.subTest(call=call):
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("An error occurred (AccessDenied)", r.stderr)
                arn = passed.split()[-1]
                self.assertIn(
                    "%s passes %s and is blocked by the guardrail 'privilege-escalation: passing "
                    "a role' (the function, instance or task would act with the role's powers, "
                    "which may exceed the record's); an admin can allow it on record '%s' with "
                    "pamctl policies set %s --allow 'iam:PassRole %s' (or an ARN pattern that "
                    "matches it)" % (call, passed, self.f.seed["record_name"],
                                     self.f.seed["record_id"], arn), r.stderr)
                self.assertFalse(self.upstream_saw(marker), "the upstream saw the request")


if __name__ == "__main__":
    unittest.main()
