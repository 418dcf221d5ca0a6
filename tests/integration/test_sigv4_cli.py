"""`pamctl sigv4 sign|verify` as users run it: AWS's published S3 examples reproduced exactly,
lenient input (LF, folded headers, raw spaces and UTF-8 in paths, stdin), the path rule against
botocore, clear diagnoses from verify, usage errors with exit 2."""

import datetime
import json
import re
import subprocess
import unittest
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from harness import PAMCTL, TempDir

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
T = "2013-05-24T00:00:00Z"
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def run(*args, stdin=None):
    return subprocess.run([PAMCTL, "sigv4"] + list(args), input=stdin, capture_output=True,
                          text=True, timeout=60)


def sign_json(path, *extra, service="s3", region="us-east-1", access_key=AK, secret=SK):
    r = run("sign", "--request", path, "--access-key", access_key, "--secret-key", secret,
            "--region", region, "--service", service, "--time", T, "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class AwsPublishedExamples(unittest.TestCase):
    """The S3 examples of AWS's SigV4 documentation, with the signatures AWS prints."""

    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_examples(self):
        cases = [
            ("get-range", "GET /test.txt HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n"
             "Range: bytes=0-9\nx-amz-content-sha256: %s\n\n" % EMPTY,
             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            ("put", "PUT /test$file.text HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n"
             "Date: Fri, 24 May 2013 00:00:00 GMT\r\nx-amz-storage-class: REDUCED_REDUNDANCY\r\n"
             "x-amz-content-sha256: "
             "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\r\n\r\n"
             "Welcome to Amazon S3.",
             "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
            ("lifecycle", "GET /?lifecycle HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n"
             "x-amz-content-sha256: %s\n\n" % EMPTY,
             "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
            ("list", "GET /?max-keys=2&prefix=J HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n"
             "x-amz-content-sha256: %s\n\n" % EMPTY,
             "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            ("chunked-seed", "PUT /examplebucket/chunkObject.txt HTTP/1.1\n"
             "Host: s3.amazonaws.com\nx-amz-storage-class: REDUCED_REDUNDANCY\n"
             "Content-Encoding: aws-chunked\nx-amz-decoded-content-length: 66560\n"
             "Content-Length: 66824\nx-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\n\n",
             "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
        ]
        for name, text, signature in cases:
            with self.subTest(name):
                out = sign_json(self.tmp.file(name + ".http", text))
                self.assertEqual(out["signature"], signature, out["canonical_request"])
                self.assertIn("Signature=" + signature, out["signed_request"])
                self.assertTrue(out["string_to_sign"].startswith(
                    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"))
                v = run("verify", "--request", self.tmp.file(name + ".signed",
                                                             out["signed_request"]),
                        "--secret-key", SK)
                self.assertEqual(v.returncode, 0, v.stdout)
                self.assertTrue(v.stdout.startswith("valid"), v.stdout)

    def test_presigned_example(self):
        path = self.tmp.file("presign.http",
                             "GET /test.txt HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n\n")
        out = sign_json(path, "--presign", "86400")
        self.assertEqual(out["signature"],
                         "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
        first = out["signed_request"].split("\r\n", 1)[0]
        self.assertEqual(first, "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                         "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
                         "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                         "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f"
                         "604d404 HTTP/1.1")
        self.assertNotIn("Authorization", out["signed_request"])
        signed = self.tmp.file("presigned.http", out["signed_request"])
        ok = run("verify", "--request", signed, "--secret-key", SK, "--time",
                 "2013-05-24T23:59:59Z")
        self.assertEqual(ok.returncode, 0, ok.stdout)
        late = run("verify", "--request", signed, "--secret-key", SK, "--time",
                   "2013-05-25T00:00:01Z", "--json")
        self.assertEqual(late.returncode, 1)
        res = json.loads(late.stdout)
        self.assertEqual(res["error"], "presigned_expired")
        self.assertIn("2013-05-25T00:00:00Z", res["message"])


class LenientInputAndOutput(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_raw_path_folded_headers_stdin_and_text_sections(self):
        raw = ("PUT /my bucket/caf\u00e9 d\u00e9j\u00e0.txt HTTP/1.1\nHost: b.s3.amazonaws.com\n"
               "X-Amz-Meta-Note: first\n   continued   here\nUser-Agent: curl/7.88.1\n"
               "Connection: keep-alive\n\nhello")
        encoded = raw.replace("/my bucket/caf\u00e9 d\u00e9j\u00e0.txt",
                              "/my%20bucket/caf%C3%A9%20d%C3%A9j%C3%A0.txt").replace(
                                  "\n   continued   here", " continued here")
        a = sign_json(self.tmp.file("raw.http", raw))
        b = sign_json(self.tmp.file("enc.http", encoded.replace("\n", "\r\n")))
        self.assertEqual(a["signature"], b["signature"])
        self.assertIn("/my%20bucket/caf%C3%A9%20d%C3%A9j%C3%A0.txt\n", a["canonical_request"])
        self.assertIn("x-amz-meta-note:first continued here\n", a["canonical_request"])
        # User-Agent and hop-by-hop headers stay unsigned; x-amz-date is added and signed.
        self.assertIn("\nhost;x-amz-date;x-amz-meta-note\n", a["canonical_request"])
        self.assertEqual(a["canonical_request"].rsplit("\n", 1)[1],
                         "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        self.assertTrue(a["signed_request"].startswith(
            "PUT /my%20bucket/caf%C3%A9%20d%C3%A9j%C3%A0.txt HTTP/1.1\r\n"))
        self.assertTrue(a["signed_request"].endswith("\r\n\r\nhello"))
        # stdin, readable sections.
        r = run("sign", "--request", "-", "--access-key", AK, "--secret-key", SK, "--region",
                "us-east-1", "--service", "s3", "--time", T, stdin=raw)
        self.assertEqual(r.returncode, 0, r.stderr)
        for section in ("canonical request", "string to sign", "signature", "signed request"):
            self.assertIn("== " + section, r.stdout)
        self.assertIn(a["signature"], r.stdout)

    def test_session_token_and_explicit_signed_headers(self):
        path = self.tmp.file("r.http", "GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1"
                                       "\nHost: sts.amazonaws.com\nX-Custom: x\n\n")
        out = sign_json(path, "--session-token", "tok/en+=", "--signed-headers", "host;x-amz-date",
                        service="sts")
        self.assertIn("\nhost;x-amz-date\n", out["canonical_request"])
        self.assertIn("X-Amz-Security-Token: tok/en+=\r\n", out["signed_request"])
        full = sign_json(path, "--session-token", "tok/en+=", service="sts")
        self.assertIn("\nhost;x-amz-date;x-amz-security-token;x-custom\n",
                      full["canonical_request"])
        pre = sign_json(path, "--session-token", "tok/en+=", "--presign", "60", service="sts")
        self.assertIn("X-Amz-Security-Token=tok%2Fen%2B%3D", pre["signed_request"])

    def test_no_normalize_path(self):
        path = self.tmp.file("r.http", "GET /a/../b//c%20d HTTP/1.1\nHost: h.amazonaws.com\n\n")
        normal = sign_json(path, service="execute-api")
        self.assertEqual(normal["canonical_request"].split("\n")[1], "/b/c%2520d")
        raw = sign_json(path, "--no-normalize-path", service="execute-api")
        self.assertEqual(raw["canonical_request"].split("\n")[1], "/a/../b//c%20d")


def botocore_sign(auth_class, service, path, headers):
    """botocore's signature and canonical URI for `path` (its AWSRequest URL's path, as given),
    signed at T."""
    request = botocore.awsrequest.AWSRequest(method="GET", url="https://h.amazonaws.com" + path,
                                             headers=dict(headers))
    auth = auth_class(botocore.credentials.Credentials(AK, SK), service, "us-east-1")
    with mock.patch("botocore.auth.datetime") as clock:
        fixed = datetime.datetime(2013, 5, 24)
        clock.datetime.utcnow.return_value = fixed
        clock.datetime.now.return_value = fixed.replace(tzinfo=datetime.timezone.utc)
        auth.add_auth(request)
    signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    return signature, auth.canonical_request(request).split("\n")[1]


class PathsAgainstBotocore(unittest.TestCase):
    """The path rule of `sign`, path by path, against botocore. Other services: botocore's
    SigV4Auth with the path exactly as in the file. S3: botocore's S3SigV4Auth with the path as it
    goes on the wire (encoded once, as botocore's S3 client encodes keys), which is what S3 checks;
    a raw path and its encoded form sign alike."""

    # (path in the request file, the same path as it goes on the wire)
    PATHS = [
        ("/my bucket/caf\u00e9", "/my%20bucket/caf%C3%A9"),
        ("/my%20bucket/caf%C3%A9", "/my%20bucket/caf%C3%A9"),
        ("/\u65e5\u672c/\u00fc ber", "/%E6%97%A5%E6%9C%AC/%C3%BC%20ber"),
        ("/a+b c", "/a%2Bb%20c"),
        ("/a%2Bb", "/a%2Bb"),
        ("/50%off", "/50%25off"),
        ("/50%25off", "/50%25off"),
        ("/~user/x~y.txt", "/~user/x~y.txt"),
        ("/a:b@c!$&'()*,;=", "/a%3Ab%40c%21%24%26%27%28%29%2A%2C%3B%3D"),
        ("/x%2Fy/z", "/x%2Fy/z"),
        ("/a/./b/../c//d/", "/a/./b/../c//d/"),
        ("/", "/"),
    ]

    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def sign(self, path, service, extra_headers=""):
        text = "GET %s HTTP/1.1\nHost: h.amazonaws.com\n%s\n" % (path, extra_headers)
        r = run("sign", "--request", self.tmp.file("r.http", text), "--access-key", AK,
                "--secret-key", SK, "--region", "us-east-1", "--service", service, "--time", T,
                "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout), r.stderr

    def test_other_services_sign_the_path_as_given(self):
        for path, wire in self.PATHS:
            with self.subTest(path=path):
                out, err = self.sign(path, "sts")
                signature, uri = botocore_sign(botocore.auth.SigV4Auth, "sts", path, {})
                self.assertEqual(out["canonical_request"].split("\n")[1], uri)
                self.assertEqual(out["signature"], signature, out["canonical_request"])
                self.assertTrue(out["signed_request"].startswith("GET %s HTTP/1.1\r\n" % path))
                outside_grammar = (any(c == " " or ord(c) > 0x7e for c in path)
                                   or re.search("%(?![0-9A-Fa-f]{2})", path) is not None)
                if not outside_grammar:
                    self.assertEqual(err, "")
                    # Valid on the wire: verify (the proxy's reading) agrees.
                    v = run("verify", "--request",
                            self.tmp.file("s.http", out["signed_request"]), "--secret-key", SK)
                    self.assertEqual(v.returncode, 0, v.stdout)
                else:
                    # Raw bytes: the note names the form to put in the file for a signature a
                    # server accepts; signed so, verify (the proxy's reading) agrees.
                    self.assertIn("note:", err)
                    suggested = err.strip().rsplit(": ", 1)[1]
                    self.assertNotEqual(suggested, path)
                    fixed, _ = self.sign(suggested, "sts")
                    v = run("verify", "--request",
                            self.tmp.file("s.http", fixed["signed_request"]), "--secret-key", SK)
                    self.assertEqual(v.returncode, 0, v.stdout)

    def test_s3_signs_the_path_as_it_goes_on_the_wire(self):
        # botocore hashes the (empty) body of a request without Content-MD5.
        content = {"x-amz-content-sha256": EMPTY}
        header = "x-amz-content-sha256: %s\n" % EMPTY
        for path, wire in self.PATHS:
            with self.subTest(path=path):
                out, err = self.sign(path, "s3", header)
                encoded, _ = self.sign(wire, "s3", header)
                signature, uri = botocore_sign(botocore.auth.S3SigV4Auth, "s3", wire, content)
                self.assertEqual(err, "")
                self.assertEqual(out["canonical_request"].split("\n")[1], uri)
                self.assertEqual(uri, wire)
                self.assertEqual(out["signature"], signature, out["canonical_request"])
                self.assertEqual(encoded["signature"], signature)
                self.assertTrue(out["signed_request"].startswith("GET %s HTTP/1.1\r\n" % wire))
                v = run("verify", "--request", self.tmp.file("s.http", out["signed_request"]),
                        "--secret-key", SK)
                self.assertEqual(v.returncode, 0, v.stdout)
        # Given raw bytes, botocore's S3SigV4Auth puts them in the canonical request as they are;
        # S3 never receives a path so, hence the wire form above.
        _, uri = botocore_sign(botocore.auth.S3SigV4Auth, "s3", "/my bucket/caf\u00e9", content)
        self.assertEqual(uri, "/my bucket/caf\u00e9")


class VerifyDiagnoses(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def signed(self, text, *extra, service="execute-api"):
        out = sign_json(self.tmp.file("in.http", text), *extra, service=service)
        return out

    def test_names_the_differing_part_and_prints_both_canonical_requests(self):
        text = "GET /a b/c HTTP/1.1\nHost: h.amazonaws.com\n\n"
        # The client signed the path S3-style.
        out = self.signed(text, "--no-normalize-path")
        f = self.tmp.file("s.http", out["signed_request"])
        r = run("verify", "--request", f, "--secret-key", SK)
        self.assertEqual(r.returncode, 1)
        self.assertIn("differs: canonical URI (path)", r.stdout)
        self.assertIn("== canonical request (expected with this secret)\nGET\n/a%2520b/c\n",
                      r.stdout)
        self.assertIn("== canonical request (client)\nGET\n/a%20b/c\n", r.stdout)
        # A header changed after signing, with the client's canonical request supplied.
        changed = out["signed_request"].replace("Host: h.amazonaws.com", "Host: g.amazonaws.com")
        f2 = self.tmp.file("c.http", changed)
        cr = self.tmp.file("cr.txt", out["canonical_request"])
        j = json.loads(run("verify", "--request", f2, "--secret-key", SK, "--no-normalize-path",
                           "--canonical-request", cr, "--json").stdout)
        self.assertFalse(j["valid"])
        self.assertEqual(j["differs"], "canonical headers (header 'host')")
        self.assertEqual(j["client_canonical_request"], out["canonical_request"])
        # Wrong secret, same canonical request.
        j = json.loads(run("verify", "--request", self.tmp.file("s2.http",
                                                                 out["signed_request"]),
                           "--secret-key", "nope", "--no-normalize-path", "--canonical-request",
                           cr, "--json").stdout)
        self.assertIn("secret key", j["differs"])

    def test_malformed_and_skewed_requests(self):
        bad = self.tmp.file("b.http", "GET / HTTP/1.1\nHost: h\nX-Amz-Date: 20130524T000000Z\n"
                            "Authorization: AWS4-ECDSA-P256-SHA256 Credential=a/20130524/s3/"
                            "aws4_request, SignedHeaders=host, Signature=00\n\n")
        r = run("verify", "--request", bad, "--secret-key", SK, "--json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["error"], "sigv4a_refused")
        out = self.signed("GET / HTTP/1.1\nHost: h.amazonaws.com\n\n")
        f = self.tmp.file("s.http", out["signed_request"])
        r = run("verify", "--request", f, "--secret-key", SK, "--time", "2013-05-24T00:20:00Z")
        self.assertEqual(r.returncode, 1)
        self.assertIn("2013-05-24T00:00:00Z", r.stdout)
        self.assertIn("2013-05-24T00:20:00Z", r.stdout)


class Usage(unittest.TestCase):
    def test_help_and_usage_errors(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--request", "--access-key", "--secret-key", "--region", "--service",
                     "--time", "--session-token", "--no-normalize-path", "--presign",
                     "--signed-headers", "--json"):
            self.assertIn(flag, r.stdout)
        self.assertEqual(run("sign", "--help").returncode, 0)
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)
        self.assertEqual(run("sign", "--request", "-").returncode, 2)
        r = run("sign", "--request", "-", "--access-key", AK, "--secret-key", SK, "--region",
                "us-east-1", "--service", "s3", "--time", "yesterday", stdin="")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--time", r.stderr)
        r = run("sign", "--request", "/nonexistent/file", "--access-key", AK, "--secret-key", SK,
                "--region", "us-east-1", "--service", "s3", "--time", T)
        self.assertEqual(r.returncode, 1)
        r = run("sign", "--request", "-", "--access-key", AK, "--secret-key", SK, "--region",
                "us-east-1", "--service", "s3", "--time", T, stdin="GET / HTTP/1.1\nX: y\n\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Host", r.stderr)


if __name__ == "__main__":
    unittest.main()
