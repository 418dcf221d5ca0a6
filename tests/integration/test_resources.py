"""What was touched: the AWS CLI and boto3 through pamproxyd to the SigV4-checking stand-in,
with a record whose rules are scoped to resources. Each request's audit event names the ARNs it
touched; a resource-scoped deny refuses exactly the requests that touch a protected resource (a
batch delete with one protected key is refused whole, nothing deleted); pamctl audit search
finds events by an ARN pattern. A record with an AWS account id puts it into the ARNs, for the
rules and the audit trail alike."""

import json
import os
import subprocess
import unittest

import boto3
import botocore.config

from harness import PAMCTL
from test_zero_trust import ZeroTrustFixture

RULE = "deny s3:DeleteObject* arn:aws:s3:::res-bucket/keep/*"
ACCOUNT = "123456789012"
ACCOUNT_RULE = "deny dynamodb:* arn:aws:dynamodb:*:%s:table/ledger" % ACCOUNT


def search(fixture, test, *filters):
    out = subprocess.run([PAMCTL, "audit", "search", os.path.join(fixture.state, "audit"),
                          "--json"] + list(filters), capture_output=True, text=True, timeout=60)
    test.assertEqual(out.returncode, 0, out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()]


class ResourceScopedRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(seed_args=["--rule", RULE])

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def ok(self, *args):
        r = self.f.aws(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def events(self, *filters):
        return search(self.f, self, *filters)

    def keys(self):
        out = json.loads(self.ok("s3api", "list-objects-v2", "--bucket", "res-bucket",
                                 "--output", "json") or "{}")
        return sorted(o["Key"] for o in out.get("Contents", []))

    def test_a_scoped_deny_refuses_exactly_what_touches_the_protected_keys(self):
        self.ok("s3", "mb", "s3://res-bucket")
        src = self.f.tmp.file("small.txt", "hello\n")
        for key in ("keep/a.txt", "tmp/b.txt", "tmp/c d+e.txt"):
            self.ok("s3", "cp", src, "s3://res-bucket/" + key)

        # One protected key: refused with the rule and the resource in the message.
        r = self.f.aws("s3", "rm", "s3://res-bucket/keep/a.txt")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AccessDenied", r.stderr)
        self.assertIn("arn:aws:s3:::res-bucket/keep/a.txt", r.stderr)
        self.assertIn(RULE, r.stderr)

        # A batch with one protected key is refused whole: nothing is deleted.
        batch = json.dumps({"Objects": [{"Key": "tmp/b.txt"}, {"Key": "keep/a.txt"}]})
        r = self.f.aws("s3api", "delete-objects", "--bucket", "res-bucket", "--delete", batch)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("arn:aws:s3:::res-bucket/keep/a.txt", r.stderr)
        self.assertEqual(self.keys(), ["keep/a.txt", "tmp/b.txt", "tmp/c d+e.txt"])

        # What is not protected goes through, from the CLI and from boto3.
        self.ok("s3", "rm", "s3://res-bucket/tmp/c d+e.txt")
        env = self.f.env()
        s3 = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], verify=self.f.appliance_ca,
            config=botocore.config.Config(proxies={"https": env["HTTPS_PROXY"]},
                                          s3={"addressing_style": "path"}))
        s3.copy_object(Bucket="res-bucket", Key="tmp/copy.txt",
                       CopySource={"Bucket": "res-bucket", "Key": "keep/a.txt"})
        s3.delete_objects(Bucket="res-bucket",
                          Delete={"Objects": [{"Key": "tmp/b.txt"}, {"Key": "tmp/copy.txt"}]})
        self.assertEqual(self.keys(), ["keep/a.txt"])

        # The audit trail names what each request touched, decoded as S3 reads it.
        forwarded = self.events("--type", "request.forwarded")
        puts = [e for e in forwarded if e.get("eventName") == "PutObject"]
        self.assertIn(["arn:aws:s3:::res-bucket/tmp/c d+e.txt"],
                      [e.get("resources") for e in puts])
        copies = [e for e in forwarded if e.get("eventName") == "CopyObject"]
        self.assertEqual(copies[-1]["resources"], ["arn:aws:s3:::res-bucket/tmp/copy.txt",
                                                   "arn:aws:s3:::res-bucket/keep/a.txt"])
        batches = [e for e in forwarded if e.get("eventName") == "DeleteObjects"]
        self.assertEqual(batches[-1]["resources"], ["arn:aws:s3:::res-bucket",
                                                    "arn:aws:s3:::res-bucket/tmp/b.txt",
                                                    "arn:aws:s3:::res-bucket/tmp/copy.txt"])
        # Searching by resource finds the two refusals and the copy that read the key.
        found = self.events("--resource", "arn:aws:s3:::res-bucket/keep/*")
        self.assertEqual(sorted((e["eventType"], e["eventName"]) for e in found
                                if e["eventType"] != "request.completed"),
                         [("request.denied", "DeleteObject"), ("request.denied", "DeleteObjects"),
                          ("request.forwarded", "CopyObject"), ("request.forwarded", "PutObject")])
        denied = [e for e in found if e["eventType"] == "request.denied"]
        for e in denied:
            self.assertIn("keep/a.txt", e["denyReason"])

    def test_json_services_name_their_resources(self):
        self.ok("dynamodb", "put-item", "--table-name", "payments",
                "--item", '{"id": {"S": "1"}}')
        events = self.events("--operation", "dynamodb:PutItem", "--type", "request.forwarded")
        self.assertTrue(events)
        self.assertEqual(events[-1]["resources"], ["arn:aws:dynamodb:us-east-1::table/payments"])
        self.assertNotIn("awsAccount", events[-1])


class RecordWithAnAwsAccount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(seed_args=["--aws-account-id", ACCOUNT, "--rule", ACCOUNT_RULE])

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def test_the_arns_name_the_account_for_rules_and_audit(self):
        r = self.f.aws("dynamodb", "put-item", "--table-name", "payments",
                       "--item", '{"id": {"S": "1"}}')
        self.assertEqual(r.returncode, 0, r.stderr)
        events = search(self.f, self, "--operation", "dynamodb:PutItem",
                        "--type", "request.forwarded")
        self.assertTrue(events)
        self.assertEqual(events[-1]["resources"],
                         ["arn:aws:dynamodb:us-east-1:%s:table/payments" % ACCOUNT])
        self.assertEqual(events[-1]["awsAccount"], ACCOUNT)

        # The rule names the account: it matches only because the ARN carries it.
        ledger = "arn:aws:dynamodb:us-east-1:%s:table/ledger" % ACCOUNT
        r = self.f.aws("dynamodb", "put-item", "--table-name", "ledger",
                       "--item", '{"id": {"S": "1"}}')
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("AccessDenied", r.stderr)
        self.assertIn(ledger, r.stderr)
        denied = search(self.f, self, "--type", "request.denied", "--resource", ledger)
        self.assertEqual(len(denied), 1, denied)
        self.assertEqual(denied[0]["resources"], [ledger])
        self.assertEqual(denied[0]["awsAccount"], ACCOUNT)
        self.assertIn(ACCOUNT_RULE, denied[0]["denyReason"])


if __name__ == "__main__":
    unittest.main()
