"""The test stand-in for AWS (tests/node/aws_front.js) is itself trustworthy: real AWS clients
signing with the right keys are served, and any other signature is refused. Later tests put
pamproxy between the clients and this endpoint; these run the clients directly."""

import hashlib
import os
import subprocess
import unittest
import urllib.request
import ssl

from aws_front import AwsFront, RecordKeys, TestCA
from harness import TempDir

AWS = "/usr/bin/aws"  # Debian's AWS CLI v2 (another `aws` may come first on PATH)
KEYS = RecordKeys("AKIAFRONTTEST0000001", "frontTestSecretKey/0123456789abcdefghijk")


class AwsFrontTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.ca = TestCA(cls.tmp.path)
        cls.front = AwsFront(cls.tmp.path, cls.ca, [KEYS]).__enter__()
        cls.endpoint = "https://127.0.0.1:%d" % cls.front.port

    @classmethod
    def tearDownClass(cls):
        cls.front.__exit__(None, None, None)
        cls.tmp.cleanup()

    def aws(self, *args, keys=KEYS, check=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": keys.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
                    "AWS_CA_BUNDLE": self.ca.cert_path, "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_EC2_METADATA_DISABLED": "true", "HOME": self.tmp.path})
        env.pop("HTTPS_PROXY", None)
        env.pop("https_proxy", None)
        if keys.session_token:
            env["AWS_SESSION_TOKEN"] = keys.session_token
        r = subprocess.run([AWS, "--endpoint-url", self.endpoint] + list(args), env=env,
                           capture_output=True, text=True, timeout=300)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_s3_round_trip_with_multipart_is_verified(self):
        src = os.path.join(self.tmp.path, "up.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(20 << 20))  # above the CLI's 8 MiB multipart threshold
        self.aws("s3", "mb", "s3://front-bucket")
        self.aws("s3", "cp", src, "s3://front-bucket/dir/up.bin")
        listing = self.aws("s3", "ls", "s3://front-bucket/dir/").stdout
        self.assertIn("up.bin", listing)
        dst = os.path.join(self.tmp.path, "down.bin")
        self.aws("s3", "cp", "s3://front-bucket/dir/up.bin", dst)
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).digest(), hashlib.sha256(b.read()).digest())
        seen = [r for r in self.front.requests() if r["path"].startswith("/front-bucket")]
        self.assertGreater(len(seen), 4)
        self.assertTrue(all(r["verified"] for r in seen), seen)
        self.assertTrue(any("uploadId" in r["path"] or r["method"] == "POST" for r in seen))

    def test_wrong_secret_is_refused_and_nothing_stored(self):
        self.aws("s3", "mb", "s3://front-refused")
        bad = RecordKeys(KEYS.access_key_id, "not-the-secret")
        r = self.aws("s3api", "put-object", "--bucket", "front-refused", "--key", "x",
                     keys=bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        listing = self.aws("s3api", "list-objects-v2", "--bucket", "front-refused").stdout
        self.assertNotIn('"Key": "x"', listing)

    def test_unknown_access_key_is_refused(self):
        r = self.aws("sts", "get-caller-identity", keys=RecordKeys("AKIAOTHER", "x"),
                     check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidAccessKeyId", r.stderr)

    def test_query_and_json_services(self):
        ident = self.aws("sts", "get-caller-identity").stdout
        self.assertIn("123456789012", ident)
        regions = self.aws("ec2", "describe-regions").stdout
        self.assertIn("eu-west-1", regions)
        tables = self.aws("dynamodb", "list-tables").stdout
        self.assertIn("orders", tables)
        ops = {(r["service"], r.get("operation")) for r in self.front.requests() if r["verified"]}
        self.assertTrue({("sts", "GetCallerIdentity"), ("ec2", "DescribeRegions"),
                         ("dynamodb", "ListTables")} <= ops, ops)

    def test_presigned_url_works_and_tampering_fails(self):
        self.aws("s3", "mb", "s3://front-presign")
        src = os.path.join(self.tmp.path, "p.txt")
        with open(src, "w") as f:
            f.write("presigned body")
        self.aws("s3", "cp", src, "s3://front-presign/p.txt")
        url = self.aws("s3", "presign", "s3://front-presign/p.txt").stdout.strip()
        ctx = ssl.create_default_context(cafile=self.ca.cert_path)
        with urllib.request.urlopen(url, context=ctx, timeout=30) as resp:
            self.assertEqual(resp.read(), b"presigned body")
        tampered = url.replace("p.txt", "q.txt")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(tampered, context=ctx, timeout=30)
        self.assertEqual(cm.exception.code, 403)


if __name__ == "__main__":
    unittest.main()
