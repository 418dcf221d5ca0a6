"""`pamctl sigv4 sign|verify` against independent SigV4 oracles: botocore (SigV4Auth,
S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth), AWS's JS signer @smithy/signature-v4, and real
`curl --aws-sigv4` requests captured on a local socket. Several hundred generated requests."""

import datetime
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import threading
import unittest
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness import PAMCTL, SOURCE_ROOT, TempDir
import sigv4_cases

N_CASES = 300
SAFE_RAW = re.compile(r"^[A-Za-z0-9\-_.~/ \u0080-\U0010ffff]*$")


def pamctl(*args, stdin=None):
    return subprocess.run([PAMCTL, "sigv4"] + list(args), input=stdin, capture_output=True,
                          timeout=60)


def botocore_sign(case, path=None):
    """Signs the case with botocore at the case's time (its wire path unless `path` is given);
    returns the signed AWSRequest."""
    creds = Credentials(case.access_key, case.secret_key, case.session_token or None)
    url = "https://%s%s" % (case.host, case.wire_path if path is None else path)
    if case.wire_query:
        url += "?" + case.wire_query
    req = AWSRequest(method=case.method, url=url, data=case.body)
    for name, value in case.headers:
        req.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    if case.presign:
        cls = S3SigV4QueryAuth if case.s3 else SigV4QueryAuth
        auth = cls(creds, case.service, case.region, expires=case.expires)
    else:
        cls = S3SigV4Auth if case.s3 else SigV4Auth
        auth = cls(creds, case.service, case.region)
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = datetime.datetime.utcfromtimestamp(case.time_s)
        auth.add_auth(req)
    return req


def signature_of(req, presign):
    if presign:
        return re.search(r"X-Amz-Signature=([0-9a-f]{64})", req.url).group(1)
    return re.search(r"Signature=([0-9a-f]{64})", req.headers["Authorization"]).group(1)


def prepare(case):
    # Presigned URLs carry no body, no repeated query names (botocore folds them into a dict).
    if case.presign:
        case.body = b""
        case.headers = [(n, v) for n, v in case.headers if n != "Content-Length"]
        seen = set()
        case.query = [(k, v) for k, v in case.query if not (k in seen or seen.add(k))]
        parts = [sigv4_cases.rfc3986(k) + ("" if v is None else "=" + sigv4_cases.rfc3986(v))
                 for k, v in case.query]
        case.wire_query = case.sloppy_query = "&".join(parts)
        if any(v is None for _, v in case.query):  # botocore's parse_qs drops bare keys
            case.query = [(k, "" if v is None else v) for k, v in case.query]
            case.wire_query = case.sloppy_query = "&".join(
                sigv4_cases.rfc3986(k) + "=" + sigv4_cases.rfc3986(v) for k, v in case.query)
    return case


class SignAgainstBotocore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        cls.cases = [prepare(c) for c in sigv4_cases.generate(N_CASES)]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp.path, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def sign_args(self, case, path):
        args = ["sign", "--request", path, "--access-key", case.access_key, "--secret-key",
                case.secret_key, "--region", case.region, "--service", case.service,
                "--time", case.iso_time(), "--json"]
        if case.session_token:
            args += ["--session-token", case.session_token]
        if case.presign:
            args += ["--presign", str(case.expires)]
        return args

    def test_sign_reproduces_botocore(self):
        """pamctl signs the request as pasted (raw path, sloppy query encoding, folded headers,
        LF or CRLF) to botocore's signature of the same request on the wire. A raw path (spaces,
        UTF-8) is signed as S3 receives it for S3, and as given for other services, as botocore's
        SigV4Auth signs it."""
        rng = random.Random(7)
        checked = 0
        for case in self.cases:
            with self.subTest(case=case.idx, service=case.service, presign=case.presign):
                raw_ok = case.paste_raw_path and "%" not in case.raw_path and (
                    case.s3 or SAFE_RAW.match(case.raw_path))
                path = case.raw_path if raw_ok else case.wire_path
                signed_as_given = not case.s3 and path != case.wire_path
                req = botocore_sign(case, path if signed_as_given else None)
                expected = signature_of(req, case.presign)
                # botocore's S3 signer replaces x-amz-content-sha256 by its own payload hash:
                # paste the value it sent.
                headers = [(n, req.headers["X-Amz-Content-SHA256"]
                            if n.lower() == "x-amz-content-sha256" else v)
                           for n, v in case.headers]
                data = case.request_file(path, case.sloppy_query, headers,
                                         line_end=rng.choice(["\r\n", "\n"]))
                f = self.write("sign-%d.http" % case.idx, data)
                r = pamctl(*self.sign_args(case, f))
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                out = json.loads(r.stdout)
                self.assertEqual(set(out) >= {"canonical_request", "string_to_sign", "signature",
                                              "signed_request"}, True)
                self.assertEqual(out["signature"], expected, out["canonical_request"])
                # The signed request it prints verifies with the same secret (a third of the
                # cases: each check is a process, and the machine is shared). A raw path signed
                # as given is not what a server receives, so verify rightly refuses it.
                if case.idx % 3 == 0 and not signed_as_given:
                    f2 = self.write("signed-%d.http" % case.idx, out["signed_request"].encode())
                    v = pamctl("verify", "--request", f2, "--secret-key", case.secret_key,
                               "--json")
                    self.assertEqual(v.returncode, 0, v.stdout.decode())
                checked += 1
        self.assertEqual(checked, len(self.cases))

    def test_verify_accepts_botocore_requests_and_rejects_wrong_secret(self):
        for case in self.cases:
            with self.subTest(case=case.idx, service=case.service, presign=case.presign):
                req = botocore_sign(case)
                target = req.url.split(case.host, 1)[1]
                lines = ["%s %s HTTP/1.1" % (case.method, target)]
                for name, value in req.headers.items():
                    lines.append("%s: %s" % (name, value.replace("\n", "\r\n ")))
                data = ("\r\n".join(lines) + "\r\n\r\n").encode() + case.body
                f = self.write("verify-%d.http" % case.idx, data)
                r = pamctl("verify", "--request", f, "--secret-key", case.secret_key, "--json")
                out = json.loads(r.stdout)
                self.assertTrue(out["valid"], out)
                self.assertEqual(r.returncode, 0)
                self.assertEqual(out["provided_signature"], signature_of(req, case.presign))
                if case.idx % 5 == 0:
                    bad = pamctl("verify", "--request", f, "--secret-key",
                                 case.secret_key + "x", "--json")
                    self.assertEqual(bad.returncode, 1)
                    self.assertFalse(json.loads(bad.stdout)["valid"])


@unittest.skipUnless(os.path.isdir(os.path.join(SOURCE_ROOT, "tests", "node", "node_modules",
                                                "@smithy", "signature-v4")),
                     "tests/node/node_modules missing (scripts/setup installs it)")
class SignAgainstSmithy(unittest.TestCase):
    def test_sign_matches_aws_js_signer(self):
        tmp = TempDir()
        try:
            cases = [c for c in sigv4_cases.generate(N_CASES, seed=99) if not c.presign][:150]
            lines = []
            for c in cases:
                headers = {}
                for name, value in c.headers:
                    key = name.lower()
                    headers[key] = headers[key] + "," + value if key in headers else value
                lines.append(json.dumps({
                    "method": c.method, "host": c.host, "path": c.wire_path,
                    "query": [[k, "" if v is None else v] for k, v in c.query],
                    "headers": headers, "body": c.body.decode("utf-8"), "service": c.service,
                    "region": c.region, "access_key": c.access_key, "secret_key": c.secret_key,
                    "session_token": c.session_token, "time_ms": c.time_s * 1000,
                    "uri_escape_path": not c.s3}))
            node = shutil.which("node")
            self.assertIsNotNone(node)
            r = subprocess.run([node, os.path.join(SOURCE_ROOT, "tests", "node",
                                                   "sigv4_oracle.js")],
                               input="\n".join(lines) + "\n", capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            results = [json.loads(line) for line in r.stdout.splitlines()]
            self.assertEqual(len(results), len(cases))
            for c, res in zip(cases, results):
                with self.subTest(case=c.idx, service=c.service):
                    self.assertIn("signature", res, res)
                    path = os.path.join(tmp.path, "s-%d.http" % c.idx)
                    with open(path, "wb") as f:
                        f.write(c.request_file(c.wire_path, c.sloppy_query, c.headers))
                    args = ["sign", "--request", path, "--access-key", c.access_key,
                            "--secret-key", c.secret_key, "--region", c.region, "--service",
                            c.service, "--time", c.iso_time(), "--json"]
                    if c.session_token:
                        args += ["--session-token", c.session_token]
                    out = pamctl(*args)
                    self.assertEqual(out.returncode, 0, out.stderr.decode())
                    self.assertEqual(json.loads(out.stdout)["signature"], res["signature"])
        finally:
            tmp.cleanup()


class CaptureHandler(http.server.BaseHTTPRequestHandler):
    """Records the raw request head and body curl sent, answers 200."""
    captured = []

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        head = self.requestline + "\r\n" + "".join(
            "%s: %s\r\n" % (k, v) for k, v in self.headers.items()) + "\r\n"
        CaptureHandler.captured.append(head.encode() + body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = handle_one

    def log_message(self, *args):
        pass


class VerifyCurlRequests(unittest.TestCase):
    def test_curl_aws_sigv4_requests_verify(self):
        curl = shutil.which("curl")
        self.assertIsNotNone(curl)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CaptureHandler)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        tmp = TempDir()
        try:
            # curl mis-signs unsorted query strings and bare keys (TESTING.md): sorted ones only.
            cases = [
                ("s3", "GET", "/bucket/key.txt", "a=1&b=2", [], None),
                ("s3", "PUT", "/bucket/my%20file", "", ["x-amz-meta-a:  spaced   out "],
                 b"hello world"),
                ("sts", "POST", "/", "", ["Content-Type: application/x-www-form-urlencoded"],
                 b"Action=GetCallerIdentity&Version=2011-06-15"),
                ("ec2", "GET", "/", "Action=DescribeRegions&Version=2016-11-15", [], None),
            ]
            for service, method, path, query, headers, body in cases:
                with self.subTest(service=service, method=method, path=path):
                    CaptureHandler.captured.clear()
                    url = "http://127.0.0.1:%d%s%s" % (port, path, "?" + query if query else "")
                    cmd = [curl, "-sS", "-o", "/dev/null", "-X", method, "--aws-sigv4",
                           "aws:amz:us-east-1:%s" % service, "--user", "tok1#rec-9:s3cr3t/key",
                           url]
                    if service == "s3":
                        sha = hashlib.sha256(body or b"").hexdigest()
                        cmd += ["-H", "x-amz-content-sha256: %s" % sha]
                    for h in headers:
                        cmd += ["-H", h]
                    if body is not None:
                        cmd += ["--data-binary", body.decode()]
                    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
                    r = subprocess.run(cmd, capture_output=True, timeout=30, env=env)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(len(CaptureHandler.captured), 1)
                    f = os.path.join(tmp.path, "curl.http")
                    with open(f, "wb") as out:
                        out.write(CaptureHandler.captured[0])
                    v = pamctl("verify", "--request", f, "--secret-key", "s3cr3t/key", "--json")
                    res = json.loads(v.stdout)
                    self.assertTrue(res["valid"], res)
                    bad = pamctl("verify", "--request", f, "--secret-key", "other", "--json")
                    self.assertFalse(json.loads(bad.stdout)["valid"])
        finally:
            server.shutdown()
            server.server_close()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
