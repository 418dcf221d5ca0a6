"""The product end to end: real AWS clients hold only a REST API token (AWS_ACCESS_KEY_ID =
TOKENID#RECORD, AWS_SECRET_ACCESS_KEY = the token's secret) and go through pamproxyd, which
verifies their signature with the token, authorizes, and re-signs with the record's real keys.
The upstream is tests/node/aws_front.js (s3rver behind AWS's own @smithy/signature-v4 checking
every request against the record's keys): if pamproxyd forwarded anything not re-signed with
the record's keys, the upstream would refuse it. AWS host names reach it through [upstream]
resolve overrides. Every denial is checked for the CLI's message and exit code, and for the
upstream having seen nothing."""

import datetime
import hashlib
import http.client
import json
import os
import socket
import signal
import ssl
import struct
import types
import subprocess
import time
import unittest

from aws_front import AwsFront, RecordKeys, TestCA, appliance_config
from harness import PAMCTL, Daemon, TempDir, parse_kv
from tls_upstream import free_port

AWS = "/usr/bin/aws"
STORE_SEED = os.environ.get("STORE_SEED", "store-seed")
RECORD = RecordKeys("AKIAZEROTRUST0000001", "recordSecretKey/0123456789abcdefghijklmn")
HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "sts.amazonaws.com",
         "sts.us-east-1.amazonaws.com", "s3.amazonaws.com",
         "ec2.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com",
         "s3.eu-west-1.amazonaws.com"]


class ZeroTrustFixture:
    def __init__(self, seed_args=(), proxy_toml="", daemon_prefix=(), before_start=None,
                 extra_hosts=()):
        hosts = HOSTS + list(extra_hosts)
        self.tmp = TempDir()
        self.ca = TestCA(self.tmp.path)
        self.front = AwsFront(self.tmp.path, self.ca, [RECORD], names=hosts + ["localhost"])
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
        self.config = self.tmp.file("p.toml", appliance_config(
            self.front, self.ca.cert_path, hosts, self.state, self.port, proxy_extra=proxy_toml,
            buffer_count=256))
        if before_start:
            before_start(self)
        self.daemon = Daemon(["--config", self.config], cwd=self.tmp.path, prefix=daemon_prefix)
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

    def aws(self, *args, marker=None, **who):
        env = self.env(**who)
        if marker:
            env["AWS_EXECUTION_ENV"] = marker  # the CLI appends "exec-env/<marker>" to its UA
        return subprocess.run([AWS] + list(args), env=env, capture_output=True, text=True,
                              timeout=300)

    def completed_for(self, resource, timeout_s=20):
        """The request.completed events of requests that touched `resource`, once there is one
        (the audit writer commits them shortly after the response)."""
        deadline = time.time() + timeout_s
        while True:
            out = subprocess.run([PAMCTL, "audit", "search", os.path.join(self.state, "audit"),
                                  "--type", "request.completed", "--resource", resource,
                                  "--json"], capture_output=True, text=True, timeout=30)
            events = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
            if events or time.time() > deadline:
                return events
            time.sleep(0.2)

    def expect_own_handshakes(self, test):
        """The client's TLS 1.3 handshakes were answered by pamproxy itself ([tls]
        own_handshake): at least one tunnel says so, and none so far says otherwise."""
        self.daemon.wait_event_or_seen("tunnel.established", client_handshake="pamproxy")
        established = [kv for kv in map(parse_kv, self.daemon.seen)
                       if kv.get("event") == "tunnel.established"]
        test.assertEqual([kv for kv in established if kv.get("client_handshake") != "pamproxy"],
                         [])

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
        self.f.expect_own_handshakes(self)

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
        self.f.expect_own_handshakes(self)


class OtherClients(unittest.TestCase):
    """s3cmd (hex payload hashes, a new tunnel per request) and rclone (Go's AWS SDK)."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def test_s3cmd(self):
        cfg = self.f.tmp.file("s3cfg", "\n".join([
            "[default]",
            "access_key = %s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            "secret_key = %s" % self.f.seed["token_secret"],
            "host_base = s3.us-east-1.amazonaws.com",
            "host_bucket = s3.us-east-1.amazonaws.com",
            "bucket_location = us-east-1",
            "use_https = True",
            "check_ssl_certificate = True",
            "ca_certs_file = %s" % self.f.appliance_ca,
            "proxy_host = 127.0.0.1",
            "proxy_port = %d" % self.f.port,
            "signature_v2 = False", ""]))
        src = self.f.tmp.file("s3cmd.txt", "hello from s3cmd\n" * 1000)
        dst = os.path.join(self.f.tmp.path, "s3cmd.down")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = self.f.tmp.path

        def s3cmd(*args):
            r = subprocess.run(["/usr/bin/s3cmd", "-c", cfg] + list(args), env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r.stdout

        s3cmd("mb", "s3://zt-s3cmd")
        s3cmd("put", src, "s3://zt-s3cmd/a.txt")
        self.assertIn("a.txt", s3cmd("ls", "s3://zt-s3cmd"))
        s3cmd("get", "s3://zt-s3cmd/a.txt", dst)
        with open(src) as a, open(dst) as b:
            self.assertEqual(a.read(), b.read())
        self.f.expect_own_handshakes(self)

    def test_rclone(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy")}
        env.update({
            "HTTPS_PROXY": "http://127.0.0.1:%d" % self.f.port,
            "HOME": self.f.tmp.path,
            "RCLONE_CONFIG": "/dev/null",
            "RCLONE_CONFIG_ZT_TYPE": "s3",
            "RCLONE_CONFIG_ZT_PROVIDER": "AWS",
            "RCLONE_CONFIG_ZT_ACCESS_KEY_ID": "%s#%s" % (self.f.seed["token_id"],
                                                        self.f.seed["record_name"]),
            "RCLONE_CONFIG_ZT_SECRET_ACCESS_KEY": self.f.seed["token_secret"],
            "RCLONE_CONFIG_ZT_REGION": "us-east-1",
            "RCLONE_CONFIG_ZT_ENDPOINT": "https://s3.us-east-1.amazonaws.com",
            "RCLONE_S3_FORCE_PATH_STYLE": "true",
        })
        src = self.f.tmp.file("rclone.txt", "hello from rclone\n" * 5000)

        def rclone(*args):
            r = subprocess.run(["/usr/bin/rclone", "--ca-cert", self.f.appliance_ca] +
                               list(args), env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return r.stdout

        rclone("mkdir", "zt:zt-rclone")
        rclone("copyto", src, "zt:zt-rclone/dir/b.txt")
        self.assertIn("b.txt", rclone("ls", "zt:zt-rclone"))
        with open(src) as a:
            self.assertEqual(rclone("cat", "zt:zt-rclone/dir/b.txt"), a.read())
        self.f.expect_own_handshakes(self)


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
        marker = "denied-%s" % os.urandom(6).hex()
        r = self.f.aws(*args, marker=marker, **who)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("An error occurred (%s)" % code, r.stderr)
        self.assertIn(needle, r.stderr)
        self.assertRegex(r.stderr, r"request [0-9a-f]{20}")
        self.assertFalse([q for q in self.f.front.requests() if marker in q.get("userAgent", "")],
                         "the upstream saw the request")
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


class FixedClock:
    """Makes botocore sign as if the time were `when` (a datetime in UTC)."""

    def __init__(self, when):
        self.when = when

    def __enter__(self):
        import botocore.auth
        real = datetime.datetime
        when = self.when

        class Fake(real):
            @classmethod
            def utcnow(cls):
                return when

        self.saved = botocore.auth.datetime
        botocore.auth.datetime = types.SimpleNamespace(datetime=Fake, timedelta=datetime.timedelta)
        return self

    def __exit__(self, *exc):
        import botocore.auth
        botocore.auth.datetime = self.saved


class RawRequests(unittest.TestCase):
    """Requests signed by botocore's own signer (an independent oracle) and altered on purpose,
    sent through a CONNECT tunnel: each refusal names its reason and reaches nothing."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(proxy_toml='buffered_body_bytes_max = 4096\n'
                                            'proxy_protocol_trusted = ["127.0.0.3/32"]')

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def sign(self, method, host, path, service, body=b"", when=None, presign=None,
             headers=None):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        creds = botocore.credentials.Credentials(
            "%s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            self.f.seed["token_secret"])
        req = botocore.awsrequest.AWSRequest(method=method, url="https://%s%s" % (host, path),
                                             data=body, headers=dict(headers or {}))
        with FixedClock(when or datetime.datetime.utcnow()):
            if presign:
                botocore.auth.SigV4QueryAuth(creds, service, "us-east-1",
                                             expires=presign).add_auth(req)
            else:
                botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(req)
        prepared = req.prepare()
        target = prepared.url.split(host, 1)[1]
        return prepared.method, target, dict(prepared.headers), prepared.body or b""

    def send(self, host, method, target, headers, body=b"", source="127.0.0.1"):
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        c = http.client.HTTPSConnection("127.0.0.1", self.f.port, context=ctx, timeout=30,
                                        source_address=(source, 0))
        c.set_tunnel(host, 443)
        try:
            c.request(method, target, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def refused(self, status, code, needle, host, method, target, headers, body=b"",
                source="127.0.0.1"):
        # A marker the upstream would record if the request reached it (the User-Agent is not
        # signed). Counting requests would race with the records of earlier, forwarded ones.
        marker = "refused-%s" % os.urandom(6).hex()
        headers = dict(headers, **{"User-Agent": marker})
        got_status, text = self.send(host, method, target, headers, body, source)
        self.assertEqual(got_status, status, text)
        self.assertIn(code, text)
        self.assertIn(needle, text)
        self.assertFalse([r for r in self.f.front.requests() if r.get("userAgent") == marker],
                         "the upstream saw the request")

    STS = "sts.us-east-1.amazonaws.com"
    FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    CALLER = b"Action=GetCallerIdentity&Version=2011-06-15"

    # Identical requests signed in the same second have the same signature (a replay to the
    # proxy): the forwarded ones are signed at distinct times.
    def minutes_ago(self, n):
        return datetime.datetime.utcnow() - datetime.timedelta(minutes=n)

    def test_signed_request_is_forwarded(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM,
                               when=self.minutes_ago(1))
        status, text = self.send(self.STS, m, t, h, b)
        self.assertEqual(status, 200, text)
        self.assertIn("GetCallerIdentityResult", text)

    def test_forged_signature(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM)
        sig = h["Authorization"][-64:]
        h["Authorization"] = h["Authorization"][:-64] + ("0" if sig[0] != "0" else "1") + sig[1:]
        self.refused(403, "SignatureDoesNotMatch", "must be the secret of token", self.STS, m, t,
                     h, b)

    def test_date_outside_the_skew_window(self):
        old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, when=old,
                               headers=self.FORM)
        self.refused(403, "RequestTimeTooSkewed", "", self.STS, m, t, h, b)

    def test_presigned_url_past_its_expiry(self):
        old = datetime.datetime.utcnow() - datetime.timedelta(hours=2)
        host = "s3.us-east-1.amazonaws.com"
        m, t, h, b = self.sign("GET", host, "/zt-presigned/key", "s3", when=old, presign=60)
        self.refused(403, "AccessDenied", "expired", host, m, t, h, b)

    def test_scope_for_another_service(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "ec2", self.CALLER, headers=self.FORM)
        self.refused(403, "AccessDenied", "ec2", self.STS, m, t, h, b)

    def test_sigv4a_is_refused(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM)
        h["Authorization"] = h["Authorization"].replace("AWS4-HMAC-SHA256",
                                                        "AWS4-ECDSA-P256-SHA256")
        self.refused(403, "AuthorizationHeaderMalformed", "Signature Version 4a", self.STS, m, t,
                     h, b)

    def test_sigv2_presigned_url_names_the_scheme(self):
        import boto3
        import botocore.config
        client = boto3.client(
            "s3", region_name="us-east-1",
            aws_access_key_id="%s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            aws_secret_access_key=self.f.seed["token_secret"],
            config=botocore.config.Config(s3={"addressing_style": "path"}))
        url = client.generate_presigned_url("get_object", ExpiresIn=60,
                                            Params={"Bucket": "zt-presigned", "Key": "key"})
        self.assertIn("AWSAccessKeyId=", url)  # SigV2: boto3 1.26's default for S3 URLs
        host = url.split("/")[2]
        self.refused(403, "InvalidRequest", "signed with AWS Signature Version 2", host, "GET",
                     url.split(host, 1)[1], {})
        self.refused(403, "InvalidRequest", "signature_version s3v4", host, "GET",
                     url.split(host, 1)[1], {})

    def test_sigv2_authorization_header_names_the_scheme(self):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        host = "s3.us-east-1.amazonaws.com"
        creds = botocore.credentials.Credentials(
            "%s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            self.f.seed["token_secret"])
        req = botocore.awsrequest.AWSRequest(method="GET", url="https://%s/zt-v2/key" % host)
        botocore.auth.HmacV1Auth(creds).add_auth(req)
        headers = dict(req.prepare().headers)
        self.assertTrue(headers["Authorization"].startswith("AWS "))
        self.refused(403, "InvalidRequest", "Config(signature_version=", host, "GET", "/zt-v2/key",
                     headers)

    def test_body_over_the_buffer_cap(self):
        body = b"Action=GetCallerIdentity&Version=2011-06-15&Pad=" + b"x" * 5000
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", body, headers=self.FORM)
        self.refused(413, "RequestEntityTooLarge", "buffered_body_bytes_max", self.STS, m, t, h,
                     b)

    def balancer_tunnel(self, proxy_header):
        s = socket.create_connection(("127.0.0.1", self.f.port), timeout=30,
                                     source_address=("127.0.0.3", 0))
        s.sendall(proxy_header + b"CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n" %
                  (self.STS.encode(), self.STS.encode()))
        return s

    def test_proxy_protocol_from_a_trusted_balancer(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM,
                               when=self.minutes_ago(3))
        h["User-Agent"] = "behind-a-balancer"
        h["Host"] = self.STS
        h["Content-Length"] = str(len(b))
        v2 = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12) +
              socket.inet_aton("198.51.100.7") + socket.inet_aton("127.0.0.1") +
              struct.pack("!HH", 40000, self.f.port))
        s = self.balancer_tunnel(v2)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1024)
            self.assertTrue(chunk, "the proxy closed the tunnel")
            head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        tls = ctx.wrap_socket(s, server_hostname=self.STS)
        req = ("%s %s HTTP/1.1\r\n" % (m, t) +
               "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode() + b
        tls.sendall(req)
        r = http.client.HTTPResponse(tls)
        r.begin()
        self.assertEqual(r.status, 200, r.read())
        tls.close()
        out = subprocess.run([PAMCTL, "audit", "search", os.path.join(self.f.state, "audit"),
                              "--json", "--type", "request.forwarded"],
                             capture_output=True, text=True, timeout=30)
        events = [json.loads(l) for l in out.stdout.splitlines()]
        mine = [e for e in events if e.get("userAgent") == "behind-a-balancer"]
        self.assertEqual(len(mine), 1, out.stdout)
        self.assertEqual(mine[0]["sourceIPAddress"], "198.51.100.7")  # not the balancer's
        self.assertEqual(mine[0]["sourcePort"], 40000)

    def test_trusted_balancer_without_a_proxy_header_is_cut_off(self):
        s = self.balancer_tunnel(b"")
        self.assertEqual(s.recv(1024), b"")  # closed, nothing answered
        s.close()

    def test_exact_replay_from_another_client(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM,
                               when=self.minutes_ago(2))
        status, text = self.send(self.STS, m, t, h, b)
        self.assertEqual(status, 200, text)
        # The same client sending it again (another process, a transport retry) is served...
        status, text = self.send(self.STS, m, t, h, b)
        self.assertEqual(status, 200, text)
        # ...the same bytes from another address are a replay.
        self.refused(403, "AccessDenied", "replay", self.STS, m, t, h, b, source="127.0.0.2")


class ReplaysAcrossWorkers(unittest.TestCase):
    """Two workers share one replay memory: a signed request or a presigned URL replayed from
    other client addresses is refused whichever worker each connection lands on, and none of the
    replays reaches the upstream."""

    sign, send = RawRequests.sign, RawRequests.send
    STS, FORM, CALLER = RawRequests.STS, RawRequests.FORM, RawRequests.CALLER
    REPLAYS = 16  # each on a new connection: the kernel spreads them over both workers

    @classmethod
    def setUpClass(cls):
        def two_workers(f):
            with open(f.config) as fh:
                text = fh.read()
            assert "threads = 1\n" in text
            with open(f.config, "w") as fh:
                fh.write(text.replace("threads = 1\n", "threads = 2\n"))
        cls.f = ZeroTrustFixture(before_start=two_workers)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def replay_everywhere(self, method, target, headers, body, host, needle):
        status, text = self.send(host, method, target, headers, body)
        self.assertEqual(status, 200, text)
        workers = set()
        for i in range(self.REPLAYS):
            # The same client again on a new connection, maybe on the other worker: served.
            if i % 4 == 0:
                status, text = self.send(host, method, target, headers, body)
                self.assertEqual(status, 200, text)
            # A marker the upstream would record if the replay reached it.
            marker = "replay-%s" % os.urandom(6).hex()
            status, text = self.send(host, method, target, dict(headers, **{"User-Agent": marker}),
                                     body, source="127.0.0.%d" % (2 + i % 8))
            self.assertEqual(status, 403, text)
            self.assertIn("AccessDenied", text)
            self.assertIn(needle, text)
            self.assertFalse([r for r in self.f.front.requests() if r.get("userAgent") == marker],
                             "the upstream saw a replay")
            # The request id names the worker that refused it: start time, worker, counter.
            request_id = text.split("<RequestId>", 1)[1][:20]
            workers.add(int(request_id[8:10], 16))
        self.assertEqual(workers, {0, 1}, "the replays did not reach both workers")

    def test_a_signed_request_replayed_on_any_worker_is_refused(self):
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM,
                               when=datetime.datetime.utcnow() - datetime.timedelta(minutes=1))
        self.replay_everywhere(m, t, h, b, self.STS,
                               "this exact signed request was already sent from another client "
                               "address (a replay)")

    def test_a_presigned_url_replayed_on_any_worker_is_refused(self):
        m, t, h, b = self.sign("GET", self.STS, "/?Action=GetCallerIdentity&Version=2011-06-15",
                               "sts", presign=300,
                               when=datetime.datetime.utcnow() - datetime.timedelta(minutes=2))
        self.replay_everywhere(m, t, h, b, self.STS,
                               "this presigned URL was already used from another client address "
                               "(a replay)")


class ReloadedSkewWindow(unittest.TestCase):
    """[proxy] clock_skew_s is reloadable and applies from the next request, on a tunnel that was
    already open: a request signed 5 minutes ago passes under 900 s and is refused under 120 s."""

    sign = RawRequests.sign
    STS, FORM, CALLER = RawRequests.STS, RawRequests.FORM, RawRequests.CALLER

    def setUp(self):
        self.f = ZeroTrustFixture(proxy_toml="clock_skew_s = 900\n")

    def tearDown(self):
        self.f.stop()

    def post(self, conn, minutes_ago):
        when = datetime.datetime.utcnow() - datetime.timedelta(minutes=minutes_ago)
        m, t, h, b = self.sign("POST", self.STS, "/", "sts", self.CALLER, headers=self.FORM,
                               when=when)
        conn.request(m, t, body=b, headers=h)
        r = conn.getresponse()
        return r.status, r.read().decode()

    def test_a_narrower_window_applies_to_the_next_request_on_an_open_tunnel(self):
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.f.port, context=ctx, timeout=30)
        conn.set_tunnel(self.STS, 443)
        try:
            status, text = self.post(conn, 5)
            self.assertEqual(status, 200, text)
            with open(self.f.config) as fh:
                text = fh.read()
            with open(self.f.config, "w") as fh:
                fh.write(text.replace("clock_skew_s = 900\n", "clock_skew_s = 120\n"))
            self.f.daemon.signal(signal.SIGHUP)
            self.assertEqual(self.f.daemon.wait_event("config.reloaded")["changed"],
                             "proxy.clock_skew_s")
            self.f.daemon.wait_event_or_seen("proxy.settings_followed", worker="0",
                                             generation="2")
            status, text = self.post(conn, 5.1)  # another second: not an exact replay
            self.assertEqual(status, 403, text)
            self.assertIn("RequestTimeTooSkewed", text)
        finally:
            conn.close()


class SignedChunks(unittest.TestCase):
    """Signed aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), as the Java and Go SDKs
    send them: the seed signed by botocore, every chunk signed here with the token's secret. The
    proxy checks each chunk and replaces its signature with one chained from the record's keys;
    the stand-in for AWS checks every chunk signature with the record's keys and stores the
    object only if all match."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()
        r = cls.f.aws("s3", "mb", "s3://zt-chunks")
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    HOST = "s3.us-east-1.amazonaws.com"

    def put_signed_chunks(self, key, data, chunk=65536, tamper_chunk=None):
        import hashlib
        import hmac
        raw = RawRequests.__dict__["sign"]
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
        encoded_len = sum(len("%x;chunk-signature=%s\r\n" % (len(p), "0" * 64)) + len(p) + 2
                          for p in pieces)
        headers = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "content-encoding": "aws-chunked",
                   "x-amz-decoded-content-length": str(len(data))}
        method, target, signed, _ = raw(self, "PUT", self.HOST, "/zt-chunks/" + key, "s3",
                                        headers=headers)
        signed = {k: v for k, v in signed.items() if k.lower() != "content-length"}
        seed = signed["Authorization"].rsplit("Signature=", 1)[1]
        amz_date = signed["X-Amz-Date"]
        scope = "%s/us-east-1/s3/aws4_request" % amz_date[:8]
        k = ("AWS4" + self.f.seed["token_secret"]).encode()
        for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        body, prev = b"", seed
        empty = hashlib.sha256(b"").hexdigest()
        for i, p in enumerate(pieces):
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                              hashlib.sha256(p).hexdigest()])
            sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            sent = p if i != tamper_chunk else bytes([p[0] ^ 1]) + p[1:]
            body += b"%x;chunk-signature=%s\r\n" % (len(p), sig.encode()) + sent + b"\r\n"
            prev = sig
        self.assertEqual(len(body), encoded_len)
        return RawRequests.send(self, self.HOST, method, target, signed, body)

    def test_each_chunk_is_checked_and_re_signed(self):
        data = os.urandom(3 * 65536 + 12345)
        status, text = self.put_signed_chunks("chunked.bin", data)
        self.assertEqual(status, 200, text)
        dst = os.path.join(self.f.tmp.path, "chunked.down")
        r = self.f.aws("s3", "cp", "s3://zt-chunks/chunked.bin", dst)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as fh:
            self.assertEqual(fh.read(), data)

    def test_bytes_in_are_the_decoded_payload(self):
        data = os.urandom(20 * 65536 + 4321)
        status, text = self.put_signed_chunks("counted.bin", data)
        self.assertEqual(status, 200, text)
        events = self.f.completed_for("arn:aws:s3:::zt-chunks/counted.bin")
        self.assertEqual([(e["eventName"], e["status"], e["bytesIn"]) for e in events],
                         [("PutObject", 200, len(data))])

    def test_chunks_larger_than_the_relay_window_are_held_whole(self):
        data = os.urandom(5 * 300000 + 7)  # 300,000-byte chunks: the window grows to hold each
        status, text = self.put_signed_chunks("big-chunks.bin", data, chunk=300000)
        self.assertEqual(status, 200, text)
        dst = os.path.join(self.f.tmp.path, "big-chunks.down")
        r = self.f.aws("s3", "cp", "s3://zt-chunks/big-chunks.bin", dst)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as fh:
            self.assertEqual(fh.read(), data)

    def test_a_tampered_chunk_is_refused_and_nothing_is_stored(self):
        data = os.urandom(4 * 65536)
        status, text = self.put_signed_chunks("tampered.bin", data, tamper_chunk=2)
        self.assertEqual(status, 403, text)
        self.assertIn("SignatureDoesNotMatch", text)
        self.assertIn("chunk 3", text)
        r = self.f.aws("s3", "ls", "s3://zt-chunks/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("tampered.bin", r.stdout)


class UploadBytes(unittest.TestCase):
    """An upload's request.completed records its payload bytes, however the client frames the
    body: the AWS CLI v1 on the image's pyenv Python sends aws-chunked with a CRC32 trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER) inside Transfer-Encoding: chunked, the AWS CLI v2 a
    Content-Length body."""

    CLI_V1 = os.path.expanduser("~/.pyenv/shims/aws")

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()
        r = cls.f.aws("s3", "mb", "s3://zt-bytes")
        assert r.returncode == 0, r.stderr
        cls.data = os.urandom(20 * 1024 * 1024 + 17)
        cls.src = cls.f.tmp.file("upload.bin", "")
        with open(cls.src, "wb") as fh:
            fh.write(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def put(self, cli, key):
        env = self.f.env()
        env["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_supported"
        r = subprocess.run([cli, "s3api", "put-object", "--bucket", "zt-bytes", "--key", key,
                            "--body", self.src], env=env, capture_output=True, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        events = self.f.completed_for("arn:aws:s3:::zt-bytes/" + key)
        self.assertEqual([(e["eventName"], e["status"]) for e in events], [("PutObject", 200)])
        return events[0]

    def upstream_put(self, key):
        seen = [q for q in self.f.front.requests()
                if q["method"] == "PUT" and q["path"] == "/zt-bytes/" + key]
        self.assertEqual(len(seen), 1, seen)
        return seen[0]

    @unittest.skipUnless(os.path.exists(CLI_V1), "no AWS CLI v1 under pyenv")
    def test_cli_v1_aws_chunked_with_a_trailer(self):
        event = self.put(self.CLI_V1, "v1.bin")
        self.assertEqual(self.upstream_put("v1.bin").get("payload"),
                         "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual(event["bytesIn"], len(self.data))

    def test_cli_v2_content_length(self):
        event = self.put(AWS, "v2.bin")
        self.assertEqual(event["bytesIn"], len(self.data))


class SessionReports(unittest.TestCase):
    def test_commands_make_a_session_report(self):
        f = ZeroTrustFixture()
        try:
            for args in (("s3", "mb", "s3://zt-session"), ("s3", "ls"),
                         ("s3api", "delete-bucket", "--bucket", "zt-session")):
                r = f.aws(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
            db = os.path.join(f.state, "pamproxy.db")
            sessions = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # the indexer follows the log every 500 ms
                out = subprocess.run([PAMCTL, "sessions", "list", "--db", db, "--json"],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stderr)
                sessions = json.loads(out.stdout)
                if sessions and sessions[0]["requests"] >= 3:
                    break
                time.sleep(0.2)
            self.assertEqual(len(sessions), 1, sessions)
            s = sessions[0]
            self.assertEqual(s["user"], f.seed["user_id"])
            self.assertEqual(s["record_id"], f.seed["record_id"])
            self.assertEqual(s["source_ip"], "127.0.0.1")
            self.assertGreaterEqual(s["requests"], 3)
            report = subprocess.run([PAMCTL, "sessions", "show", s["id"], "--db", db],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(report.returncode, 0, report.stderr)
            for needle in ("aws s3 mb", "aws s3 ls", "aws s3api delete-bucket", "CreateBucket",
                           "ListBuckets", "DeleteBucket"):
                self.assertIn(needle, report.stdout)
            missing = subprocess.run([PAMCTL, "sessions", "show", "s-999999", "--db", db],
                                     capture_output=True, text=True, timeout=30)
            self.assertEqual(missing.returncode, 1)
            self.assertIn("no session", missing.stderr)
            self.expect_token_last_use(f)
        finally:
            f.stop()

    def expect_token_last_use(self, f):
        """The token that signed the commands shows a last use in `pamctl tokens list` (the
        indexer saves it with its sessions); a token never used still shows none. The user lists
        its own tokens with the same token (the admin API records no use)."""
        admin_port = f.daemon.wait_event_or_seen("admin.listening")["port"]
        bearer = f.tmp.file("user-token", "%s:%s\n" % (f.seed["token_id"],
                                                        f.seed["token_secret"]))
        os.chmod(bearer, 0o600)
        pamctl = [PAMCTL, "tokens", "list", "--json", "--url", "https://127.0.0.1:%s" % admin_port,
                  "--token-file", bearer, "--ca", f.appliance_ca]
        tokens = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = subprocess.run(pamctl, capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            tokens = {t["id"]: t for t in json.loads(out.stdout)["items"]}
            if tokens.get(f.seed["token_id"], {}).get("last_used_at"):
                break
            time.sleep(0.2)
        used = tokens[f.seed["token_id"]].get("last_used_at")
        self.assertTrue(used, tokens)
        age = (datetime.datetime.now(datetime.timezone.utc) -
               datetime.datetime.fromisoformat(used.replace("Z", "+00:00")))
        self.assertLess(abs(age.total_seconds()), 300, used)
        self.assertFalse(tokens[f.seed["revoked_token_id"]].get("last_used_at"), tokens)

    def test_each_forwarded_request_gets_its_outcome(self):
        f = ZeroTrustFixture()
        try:
            for args in (("s3", "mb", "s3://zt-outcome"), ("s3", "ls"),
                         ("s3api", "head-bucket", "--bucket", "zt-outcome"),
                         ("s3api", "delete-bucket", "--bucket", "zt-outcome")):
                r = f.aws(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
            f.daemon.stop()  # the log is complete once the daemon stopped
            def search(kind):
                out = subprocess.run([PAMCTL, "audit", "search", os.path.join(f.state, "audit"),
                                      "--type", kind, "--json"],
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0, out.stderr)
                return [json.loads(l) for l in out.stdout.splitlines()]
            forwarded = {e["proxyRequestId"]: e for e in search("request.forwarded")}
            completed = search("request.completed")
            self.assertEqual(len(completed), len(forwarded), completed)
            by_name = {}
            for e in completed:
                fw = forwarded[e["proxyRequestId"]]  # joined by our request id
                for k in ("user", "tokenId", "recordId", "eventName", "cliCommand"):
                    self.assertEqual(e.get(k), fw.get(k), k)
                self.assertGreater(e["eventTime"], fw["eventTime"])
                self.assertNotIn("detail", e)  # every response ended as framed
                by_name[e["eventName"]] = e
            self.assertEqual(by_name["CreateBucket"]["status"], 200)
            self.assertEqual(by_name["HeadBucket"]["status"], 200)
            self.assertEqual(by_name["HeadBucket"]["bytesOut"], 0)
            self.assertEqual(by_name["DeleteBucket"]["status"], 204)
            listing = by_name["ListBuckets"]
            self.assertEqual(listing["status"], 200)
            self.assertGreater(listing["bytesOut"], 0)  # the XML listing's bytes
            self.assertTrue(listing.get("requestID"), listing)  # AWS's id, from the response
        finally:
            f.stop()


class UserSetup(unittest.TestCase):
    """pamctl env and pamctl aws-profile, used exactly as a user would, with the real AWS CLI."""

    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture()
        cls.token_file = cls.f.tmp.file("token", "%s:%s\n" % (cls.f.seed["token_id"],
                                                               cls.f.seed["token_secret"]))
        os.chmod(cls.token_file, 0o600)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def clean_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("PAMCTL_") and
               k.lower() not in ("https_proxy", "http_proxy")}
        env.update({"HOME": self.f.tmp.path, "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_DEFAULT_REGION": "us-east-1"})
        return env

    def test_env_prints_the_four_exports_that_work(self):
        r = subprocess.run([PAMCTL, "env", "--record", "front", "--token-file", self.token_file,
                            "--proxy", "127.0.0.1:%d" % self.f.port, "--ca",
                            self.f.appliance_ca], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        env = self.clean_env()
        names = []
        for line in r.stdout.splitlines():
            self.assertTrue(line.startswith("export "), line)
            name, _, value = line[len("export "):].partition("=")
            names.append(name)
            env[name] = subprocess.run(["sh", "-c", "printf %s " + value], capture_output=True,
                                       text=True).stdout
        self.assertEqual(names, ["HTTPS_PROXY", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID",
                                 "AWS_SECRET_ACCESS_KEY"])
        self.assertEqual(env["AWS_ACCESS_KEY_ID"], self.f.seed["token_id"] + "#front")
        env["AWS_CONFIG_FILE"] = self.f.aws_config
        out = subprocess.run([AWS, "sts", "get-caller-identity"], env=env, capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_env_refuses_a_token_file_others_can_read(self):
        loose = self.f.tmp.file("loose-token", "a:b\n")
        os.chmod(loose, 0o644)
        r = subprocess.run([PAMCTL, "env", "--record", "front", "--token-file", loose],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("chmod 600", r.stderr)

    def test_aws_profile_uses_credential_process(self):
        env = self.clean_env()
        env["AWS_CONFIG_FILE"] = self.f.tmp.file("profile-config",
                                                 "[default]\nregion = us-east-1\n")
        r = subprocess.run([PAMCTL, "aws-profile", "zt", "--record", "front", "--token-file",
                            self.token_file, "--ca", self.f.appliance_ca, "--proxy",
                            "127.0.0.1:%d" % self.f.port], env=env, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("export HTTPS_PROXY=", r.stdout)
        self.assertNotIn(self.f.seed["token_secret"], r.stdout)
        with open(env["AWS_CONFIG_FILE"]) as fh:
            written = fh.read()
        self.assertIn("[default]", written)  # other sections kept
        self.assertIn("credential_process = ", written)
        self.assertNotIn(self.f.seed["token_secret"], written)  # the secret stays in its file
        exported = subprocess.run([AWS, "configure", "export-credentials", "--profile", "zt",
                                   "--format", "env"], env=env, capture_output=True, text=True,
                                  timeout=60)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        self.assertIn("AWS_ACCESS_KEY_ID=%s#front" % self.f.seed["token_id"], exported.stdout)
        env["HTTPS_PROXY"] = "http://127.0.0.1:%d" % self.f.port
        out = subprocess.run([AWS, "--profile", "zt", "sts", "get-caller-identity"], env=env,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)


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
