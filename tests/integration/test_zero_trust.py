"""The product end to end: real AWS clients hold only a REST API token (AWS_ACCESS_KEY_ID =
TOKENID#RECORD, AWS_SECRET_ACCESS_KEY = the token's secret) and go through pamproxyd, which
verifies their signature with the token, authorizes, and re-signs with the record's real keys.
The upstream is tests/node/aws_front.js (s3rver behind AWS's own @smithy/signature-v4 checking
every request against the record's keys): if pamproxyd forwarded anything not re-signed with
the record's keys, the upstream would refuse it. AWS host names reach it through [upstream]
resolve overrides. Every denial is checked for the CLI's message and exit code, and for the
upstream having seen nothing."""

import hashlib
import json
import os
import subprocess
import time
import unittest

from aws_front import AwsFront, RecordKeys, TestCA
from harness import PAMCTL, Daemon, TempDir
from tls_upstream import free_port

AWS = "/usr/bin/aws"
STORE_SEED = os.environ.get("STORE_SEED", "store-seed")
RECORD = RecordKeys("AKIAZEROTRUST0000001", "recordSecretKey/0123456789abcdefghijklmn")
HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "sts.amazonaws.com",
         "sts.us-east-1.amazonaws.com", "s3.amazonaws.com",
         "ec2.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com",
         "s3.eu-west-1.amazonaws.com"]


class ZeroTrustFixture:
    def __init__(self, seed_args=()):
        self.tmp = TempDir()
        self.ca = TestCA(self.tmp.path)
        self.front = AwsFront(self.tmp.path, self.ca, [RECORD], names=HOSTS + ["localhost"])
        self.front.__enter__()
        self.state = os.path.join(self.tmp.path, "state")
        os.makedirs(self.state, mode=0o700)
        seeded = subprocess.run(
            [STORE_SEED, os.path.join(self.state, "pamproxy.db"),
             os.path.join(self.state, "master.key"), "--access-key", RECORD.access_key_id,
             "--secret-key", RECORD.secret_access_key] + list(seed_args),
            capture_output=True, text=True, timeout=60)
        if seeded.returncode != 0:
            raise RuntimeError(seeded.stderr)
        self.seed = json.loads(seeded.stdout)
        self.port = free_port()
        resolve = ", ".join('{ host = "%s", address = "127.0.0.1:%d" }' % (h, self.front.port)
                            for h in HOSTS)
        toml = """
[proxy]
listen = ["127.0.0.1:%d"]
[upstream]
resolve = [%s]
[tls]
upstream_ca_file = "%s"
[store]
directory = "%s"
[engine]
threads = 1
pin_threads = false
buffer_count = 256
""" % (self.port, resolve, self.ca.cert_path, self.state)
        self.config = self.tmp.file("p.toml", toml)
        self.daemon = Daemon(["--config", self.config], cwd=self.tmp.path)
        self.daemon.wait_event("daemon.ready")
        self.appliance_ca = os.path.join(self.state, "ca", "ca.pem")
        self.aws_config = self.tmp.file("aws-config", "[default]\ns3 =\n  addressing_style = path\n")

    def env(self, token_id=None, secret=None, record=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy")}
        env.update({
            "HTTPS_PROXY": "http://127.0.0.1:%d" % self.port,
            "AWS_CA_BUNDLE": self.appliance_ca,
            "AWS_ACCESS_KEY_ID": "%s#%s" % (token_id or self.seed["token_id"],
                                            record or self.seed["record_name"]),
            "AWS_SECRET_ACCESS_KEY": secret or self.seed["token_secret"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": self.aws_config,
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": self.tmp.path,
        })
        return env

    def aws(self, *args, **who):
        return subprocess.run([AWS] + list(args), env=self.env(**who), capture_output=True,
                              text=True, timeout=300)

    def stop(self):
        try:
            self.daemon.stop()
        finally:
            self.front.__exit__(None, None, None)
            self.tmp.cleanup()


class RealClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def ok(self, *args, **who):
        r = self.f.aws(*args, **who)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_s3_buckets_objects_multipart_and_checksum(self):
        self.ok("s3", "mb", "s3://zt-bucket")
        src = os.path.join(self.f.tmp.path, "big.bin")
        with open(src, "wb") as fh:
            fh.write(os.urandom(64 << 20))  # multipart: 8 parts of 8 MiB
        self.ok("s3", "cp", src, "s3://zt-bucket/dir/big.bin")
        self.assertIn("big.bin", self.ok("s3", "ls", "s3://zt-bucket/dir/"))
        dst = os.path.join(self.f.tmp.path, "big.down")
        self.ok("s3", "cp", "s3://zt-bucket/dir/big.bin", dst)
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).hexdigest(),
                             hashlib.sha256(b.read()).hexdigest())
        seen = self.f.front.requests()
        self.assertGreaterEqual(len([r for r in seen if r["method"] == "PUT"]), 8)
        # Everything the upstream saw verified against the record's keys (the only keys it
        # knows): re-signed by the proxy, never the token's signature.
        for r in seen:
            self.assertTrue(r.get("verified"), r)

    def test_sts_ec2_dynamodb(self):
        ident = json.loads(self.ok("sts", "get-caller-identity", "--output", "json"))
        self.assertIn("Account", ident)
        regions = self.ok("ec2", "describe-regions", "--output", "json")
        self.assertIn("RegionName", regions)
        tables = json.loads(self.ok("dynamodb", "list-tables", "--output", "json"))
        self.assertIn("TableNames", tables)

    def test_boto3(self):
        code = (
            "import boto3, botocore.config, sys\n"
            "s3 = boto3.client('s3', config=botocore.config.Config("
            "s3={'addressing_style': 'path'}))\n"
            "s3.create_bucket(Bucket='zt-boto3')\n"
            "s3.put_object(Bucket='zt-boto3', Key='k', Body=b'hello boto3')\n"
            "body = s3.get_object(Bucket='zt-boto3', Key='k')['Body'].read()\n"
            "assert body == b'hello boto3', body\n"
            "print(boto3.client('sts').get_caller_identity()['Account'])\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code], env=self.f.env(),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), r"^\d{12}$")


class Denials(unittest.TestCase):
    """One case per reason a request is refused: the CLI's exit code and message, and nothing
    reaches the upstream."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(seed_args=["--rule", "deny s3:DeleteBucket"])

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def denied(self, code, needle, *args, **who):
        before = len(self.f.front.requests())
        r = self.f.aws(*args, **who)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("An error occurred (%s)" % code, r.stderr)
        self.assertIn(needle, r.stderr)
        self.assertRegex(r.stderr, r"request [0-9a-f]{20}")
        self.assertEqual(len(self.f.front.requests()), before, "the upstream saw the request")
        return r.stderr

    def test_wrong_token_secret(self):
        self.denied("SignatureDoesNotMatch", "must be the secret of token", "s3", "ls",
                    secret="x" * 40)

    def test_unknown_token_id(self):
        self.denied("InvalidClientTokenId", "does not exist", "s3", "ls",
                    token_id="PAMAAAAAAAAAAAAAAAAA")

    def test_revoked_token(self):
        self.denied("InvalidClientTokenId", "revoked", "s3", "ls",
                    token_id=self.f.seed["revoked_token_id"],
                    secret=self.f.seed["revoked_token_secret"])

    def test_record_that_does_not_exist(self):
        self.denied("AccessDenied", "no record", "s3", "ls", record="no-such-record")

    def test_command_rule_denies(self):
        self.denied("AccessDenied", "DeleteBucket", "s3api", "delete-bucket", "--bucket",
                    "zt-denied")

    def test_scope_for_another_region(self):
        # Signed for eu-west-1 but sent to the us-east-1 endpoint.
        self.denied("AccessDenied", "eu-west-1", "s3api", "list-buckets", "--region", "eu-west-1",
                    "--endpoint-url", "https://s3.us-east-1.amazonaws.com")


class ProxyDisabled(unittest.TestCase):
    def test_proxy_disabled_setting_refuses_everything(self):
        f = ZeroTrustFixture(seed_args=["--proxy-disabled"])
        try:
            r = f.aws("s3", "ls")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("An error occurred (AccessDenied)", r.stderr)
            self.assertIn("disabled", r.stderr)
            self.assertEqual(f.front.requests(), [])
            # The denial is in the audit trail, with its reason and no secret.
            f.daemon.stop()
            out = subprocess.run([PAMCTL, "audit", "search", os.path.join(f.state, "audit"),
                                  "--type", "request.denied", "--json"],
                                 capture_output=True, text=True, timeout=30)
            events = [json.loads(l) for l in out.stdout.splitlines()]
            self.assertEqual(len(events), 1, out.stdout)
            self.assertEqual(events[0]["errorCode"], "AccessDenied")
            self.assertEqual(events[0]["cliCommand"], "s3.ls")
            self.assertIn("disabled", events[0]["denyReason"])
            audit_text = "".join(open(os.path.join(f.state, "audit", n)).read()
                                 for n in os.listdir(os.path.join(f.state, "audit")))
            self.assertNotIn(f.seed["token_secret"], audit_text)
            self.assertNotIn(RECORD.secret_access_key, audit_text)
        finally:
            f.stop()


if __name__ == "__main__":
    unittest.main()
