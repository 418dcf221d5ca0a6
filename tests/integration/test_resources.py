"""What was touched: the AWS CLI and boto3 through pamproxyd to the SigV4-checking stand-in,
with a record whose rules are scoped to resources. Each request's audit event names the ARNs it
touched; a resource-scoped deny refuses exactly the requests that touch a protected resource (a
batch delete with one protected key is refused whole, nothing deleted); pamctl audit search
finds events by an ARN pattern. A record with an AWS account id puts it into the ARNs, for the
rules and the audit trail alike; a record saved through the admin API without one gets the one
STS GetCallerIdentity names for its keys."""

import http.client
import json
import os
import ssl
import subprocess
import unittest

import boto3
import botocore.config

from harness import PAMCTL
from test_zero_trust import RECORD, ZeroTrustFixture

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


class AccountIdFromSts(unittest.TestCase):
    """Saved through the admin API without an account id, a record's keys are asked of STS
    (GetCallerIdentity, signed with them, to the stand-in through the resolve overrides): the
    account it names fills the id, and the ARNs of the audit trail carry it. Keys STS refuses
    leave the record saved without one, and the answer says why."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(seed_args=["--admin"])
        cls.admin_port = cls.f.daemon.wait_event_or_seen("admin.listening")["port"]
        cls.bearer = cls.f.tmp.file("admin-token", cls.f.seed["admin_token"] + "\n")
        os.chmod(cls.bearer, 0o600)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def api(self, method, path, body):
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        conn = http.client.HTTPSConnection("127.0.0.1", int(self.admin_port), context=ctx,
                                           timeout=30)
        try:
            conn.request(method, "/api/v1/" + path, body=json.dumps(body),
                         headers={"Authorization": "Bearer " + self.f.seed["admin_token"],
                                  "Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()

    def sts_calls(self):
        return [r for r in self.f.front.requests() if r.get("service") == "sts"]

    def sts_calls_after(self, seen):
        """The STS calls once the endpoint has logged more than `seen` requests: it logs each
        from its own process, so the line can reach the test after the save's answer."""
        self.f.front.wait_requests(seen + 1)
        return self.sts_calls()

    def test_new_keys_get_the_account_sts_names(self):
        # The seeded record has no id; its keys saved again through the API are asked of STS.
        seen = len(self.f.front.requests())
        status, rec = self.api("PATCH", "records/" + self.f.seed["record_id"],
                               {"secret_access_key": RECORD.secret_access_key})
        self.assertEqual(status, 200, rec)
        self.assertEqual((rec["aws_account_id"], rec["aws_account_id_source"]), (ACCOUNT, "sts"))
        self.assertNotIn("aws_account_id_error", rec)
        calls = [c for c in self.sts_calls_after(seen) if c["status"] == 200]
        self.assertEqual([(c["operation"], c["verified"]) for c in calls],
                         [("GetCallerIdentity", True)], self.sts_calls())

        out = subprocess.run([PAMCTL, "records", "show", self.f.seed["record_name"],
                              "--url", "https://127.0.0.1:%s" % self.admin_port,
                              "--token-file", self.bearer, "--ca", self.f.appliance_ca],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"aws_account_id: +%s\n" % ACCOUNT)
        self.assertRegex(out.stdout, r"aws_account_id_source: +sts\n")

        # The next requests' audit events carry the account.
        r = self.f.aws("dynamodb", "put-item", "--table-name", "filled",
                       "--item", '{"id": {"S": "1"}}')
        self.assertEqual(r.returncode, 0, r.stderr)
        events = search(self.f, self, "--operation", "dynamodb:PutItem",
                        "--type", "request.forwarded")
        self.assertEqual(events[-1]["resources"],
                         ["arn:aws:dynamodb:us-east-1:%s:table/filled" % ACCOUNT])
        self.assertEqual(events[-1]["awsAccount"], ACCOUNT)
        r = self.f.aws("s3api", "create-bucket", "--bucket", "filled-bucket")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = search(self.f, self, "--operation", "s3:CreateBucket",
                        "--type", "request.forwarded")
        self.assertEqual(events[-1]["resources"], ["arn:aws:s3:::filled-bucket"])
        self.assertEqual(events[-1]["awsAccount"], ACCOUNT)

    def test_keys_sts_refuses_are_saved_without_an_id(self):
        seen = len(self.f.front.requests())
        status, rec = self.api("POST", "records", {
            "name": "refused-" + os.urandom(3).hex(), "access_key_id": "AKIAIOSFODNN7EXAMPL9",
            "secret_access_key": "not-the-stand-in-s"})
        self.assertEqual(status, 201, rec)
        self.assertEqual((rec["aws_account_id"], rec["aws_account_id_source"]), ("", "unknown"))
        self.assertEqual(rec["aws_account_id_error"], "STS answered HTTP 403 InvalidAccessKeyId")
        calls = self.sts_calls_after(seen)
        self.assertTrue(any(c["status"] == 403 for c in calls), calls)
        log = self.f.daemon.wait_event_or_seen("admin.account_id_unknown")
        self.assertEqual(log["access_key_id"], "AKIAIOSFODNN7EXAMPL9")
        self.assertNotIn("not-the-stand-in-s", json.dumps(log))
        # An id the admin gives wins: STS is not asked.
        before = len(self.sts_calls())
        status, rec = self.api("POST", "records", {
            "name": "given-" + os.urandom(3).hex(), "access_key_id": "AKIAIOSFODNN7EXAMPL9",
            "secret_access_key": "not-the-stand-in-s", "aws_account_id": "210987654321"})
        self.assertEqual(status, 201, rec)
        self.assertEqual((rec["aws_account_id"], rec["aws_account_id_source"]),
                         ("210987654321", "admin"))
        self.assertEqual(len(self.sts_calls()), before)


if __name__ == "__main__":
    unittest.main()
