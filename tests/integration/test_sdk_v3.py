"""Today's AWS clients through pamproxy: the AWS SDK for JavaScript v3 (tests/node/sdk_v3_client.js)
with its default integrity checksums, holding only a REST API token, through pamproxyd's CONNECT
proxy in zero-trust mode. The upstream stand-in checks every signature with the record's keys and
every flexible checksum against the bytes, as S3 does; so an upload that arrives is one whose
trailer or header checksum pamproxy relayed intact, and a download the SDK accepts is one whose
checksum it validated."""

import json
import os
import subprocess
import unittest

from harness import SOURCE_ROOT
from test_zero_trust import ZeroTrustFixture

NODE_DIR = os.path.join(SOURCE_ROOT, "tests", "node")


class SdkV3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def run_client(self, bucket):
        config = self.f.tmp.file("sdk-v3.json", json.dumps({
            "proxy": "http://127.0.0.1:%d" % self.f.port, "ca": self.f.appliance_ca,
            "region": "us-east-1", "bucket": bucket,
            "accessKeyId": "%s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            "secretAccessKey": self.f.seed["token_secret"]}))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy") and
               k not in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")}
        env["HOME"] = self.f.tmp.path
        r = subprocess.run(["node", os.path.join(NODE_DIR, "sdk_v3_client.js"), config],
                           cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=240)
        steps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        self.assertEqual(r.returncode, 0, "steps done: %s\n%s" % (steps, r.stderr))
        self.assertEqual(steps[-1], {"done": True})
        return {s["step"]: s for s in steps if "step" in s}

    def test_s3_sts_dynamodb_with_default_checksums(self):
        steps = self.run_client("sdk-v3-bucket")
        self.assertRegex(steps["sts"]["account"], r"^\d{12}$")
        self.assertIn("orders", steps["dynamodb"]["tables"])

        seen = [r for r in self.f.front.requests() if r["path"].startswith("/sdk-v3-bucket")]
        # Everything that reached the upstream was re-signed with the record's keys.
        self.assertTrue(seen)
        for r in seen:
            if r.get("code") != "BadDigest":
                self.assertTrue(r.get("verified"), r)

        def puts(path):
            return [r for r in seen if r["method"] == "PUT" and r["path"] == path]

        # The SDK's defaults reached the upstream intact and checked out against the bytes: a
        # CRC32 header on the plain body, an aws-chunked body with a CRC32 trailer on the stream.
        plain = puts("/sdk-v3-bucket/plain.txt")
        self.assertEqual([r.get("checksum") for r in plain],
                         [{"alg": "crc32", "in": "header", "ok": True}])
        streamed = puts("/sdk-v3-bucket/streamed.bin")
        self.assertEqual([r.get("checksum") for r in streamed],
                         [{"alg": "crc32", "in": "trailer", "ok": True}], streamed)
        self.assertEqual(streamed[0]["payload"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        # The audit trail counts its payload, not the aws-chunked coding around it.
        self.assertEqual([(e["eventName"], e["bytesIn"]) for e in
                          self.f.completed_for("arn:aws:s3:::sdk-v3-bucket/streamed.bin")
                          if e["eventName"] == "PutObject"],
                         [("PutObject", 300 * 1024)])
        for alg in ("crc32c", "crc64nvme", "sha1", "sha256"):
            for form, where in (("stream", "trailer"), ("plain", "header")):
                path = "/sdk-v3-bucket/%s-%s.bin" % (alg, form)
                self.assertEqual([r.get("checksum") for r in puts(path)],
                                 [{"alg": alg, "in": where, "ok": True}], path)
        parts = [r for r in puts("/sdk-v3-bucket/multipart.bin") if r.get("status") == 200]
        self.assertEqual(len(parts), 3, parts)
        for r in parts:
            self.assertEqual(r.get("checksum", {}).get("ok"), True, r)
        # The downloads were validated by the SDK against the checksum the upstream returned.
        validated = {r["path"] for r in seen
                     if r["method"] == "GET" and r.get("checksumReturned") == "crc32"}
        self.assertTrue({"/sdk-v3-bucket/plain.txt", "/sdk-v3-bucket/streamed.bin"} <= validated,
                        validated)
        self.assertEqual(len([r for r in seen if r["method"] == "GET" and
                              r.get("checksumReturned") not in (None, "crc32")]), 8)
        # Both wrong checksums were relayed as sent and refused by the upstream, nothing stored.
        refused = {(r["path"], r["checksum"]["in"]) for r in seen if r.get("code") == "BadDigest"}
        self.assertEqual(refused, {("/sdk-v3-bucket/bad-header.txt", "header"),
                                   ("/sdk-v3-bucket/bad-trailer.bin", "trailer")})
        self.assertTrue(any(r.get("presigned") and r["method"] == "GET" and r.get("verified")
                            for r in seen))
        ops = {(r["service"], r.get("operation")) for r in self.f.front.requests()
               if r.get("verified")}
        self.assertTrue({("sts", "GetCallerIdentity"), ("dynamodb", "PutItem"),
                         ("dynamodb", "GetItem"), ("dynamodb", "ListTables")} <= ops, ops)
        self.f.expect_own_handshakes(self)


if __name__ == "__main__":
    unittest.main()
