"""A request refused in the middle of its body reaches the client as an answer, not as a
connection error: pamproxyd sends its answer and close_notify, then reads and drops what the
client still sends (a lingering close) until the client closes, or [timeouts]
lingering_close_ms or [limits] lingering_close_bytes_max is reached. Real clients (the AWS CLI,
boto3, and botocore-signed requests sent by http.client, as in test_zero_trust) write their whole
body before they read the answer: without the linger the proxy's close met their unread bytes
and the kernel reset the connection under them."""

import json
import os
import select
import socket
import ssl
import subprocess
import time
import unittest

import test_zero_trust as zt
from harness import PAMCTL

CAP = 1 << 20  # buffered_body_bytes_max: a 3 MiB DynamoDB item is over it
STS = "sts.us-east-1.amazonaws.com"


def big_item_file(f, name, size):
    item = {"pk": {"S": "big"}, "payload": {"S": "x" * size}}
    return f.tmp.file(name, json.dumps(item))


class RealClientsSeeTheAnswer(unittest.TestCase):
    """The default bounds (5 s, 64 MiB): plenty for a client to finish writing a body over the
    cap, whatever the load."""

    @classmethod
    def setUpClass(cls):
        cls.f = zt.ZeroTrustFixture(proxy_toml="buffered_body_bytes_max = %d\n" % CAP)
        r = cls.f.aws("s3", "mb", "s3://zt-chunks")
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    HOST = zt.SignedChunks.HOST

    def assert_the_413(self, text):
        self.assertIn("RequestEntityTooLarge", text)
        self.assertIn("buffered_body_bytes_max", text)
        self.assertNotIn("SSL", text)
        self.assertNotIn("EOF", text)
        self.assertNotIn("Connection", text)

    def test_aws_cli_put_item_over_the_cap_prints_the_413(self):
        item = big_item_file(self.f, "item-cli.json", 12 * CAP)
        for _ in range(3):
            r = self.f.aws("dynamodb", "put-item", "--table-name", "linger",
                           "--item", "file://" + item)
            self.assertNotEqual(r.returncode, 0)
            self.assert_the_413(r.stderr)
        self.assertFalse([q for q in self.f.front.requests() if "PutItem" in json.dumps(q)],
                         "the upstream saw a PutItem")
        ended = self.f.daemon.wait_event_or_seen("tunnel.lingered", end="client", cause="denied")
        self.assertEqual(ended["cause"], "denied")

    def test_boto3_put_item_over_the_cap_raises_the_413(self):
        item = big_item_file(self.f, "item-boto3.json", 12 * CAP)
        code = (
            "import boto3, botocore.exceptions, json, sys\n"
            "item = json.load(open(sys.argv[1]))\n"
            "db = boto3.client('dynamodb')\n"
            "try:\n"
            "    db.put_item(TableName='linger', Item=item)\n"
            "except botocore.exceptions.ClientError as e:\n"
            "    print(e.response['ResponseMetadata']['HTTPStatusCode'])\n"
            "    print(e.response['Error']['Code'])\n"
            "    print(e.response['Error']['Message'])\n"
            "    sys.exit(3)\n")
        for _ in range(3):
            r = subprocess.run(["/usr/bin/python3", "-c", code, item], env=self.f.env(),
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 3, r.stderr)
            status, error_code, message = r.stdout.splitlines()[:3]
            self.assertEqual(status, "413")
            self.assertEqual(error_code, "RequestEntityTooLarge")
            self.assertIn("buffered_body_bytes_max", message)

    def test_a_tampered_chunk_early_in_a_large_upload_is_answered(self):
        # Chunk 3 of 128 is altered: the proxy answers after 192 KiB while the client still has
        # 7.8 MiB to write before it reads.
        data = os.urandom(8 << 20)
        for i in range(3):
            status, text = zt.SignedChunks.put_signed_chunks(self, "tampered-%d.bin" % i, data,
                                                          tamper_chunk=2)
            self.assertEqual(status, 403, text)
            self.assertIn("SignatureDoesNotMatch", text)
            self.assertIn("chunk 3", text)
        r = self.f.aws("s3", "ls", "s3://zt-chunks/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("tampered", r.stdout)


class ARefusalMidBodyIsAudited(unittest.TestCase):
    def test_the_outcome_is_the_answer_the_client_saw(self):
        f = zt.ZeroTrustFixture()
        self.f = f
        try:
            r = f.aws("s3", "mb", "s3://zt-chunks")
            self.assertEqual(r.returncode, 0, r.stderr)
            status, text = zt.SignedChunks.put_signed_chunks(self, "tampered.bin",
                                                          os.urandom(2 << 20), tamper_chunk=2)
            self.assertEqual(status, 403, text)
            f.daemon.stop()  # the log is complete once the daemon stopped
            out = subprocess.run([PAMCTL, "audit", "search", os.path.join(f.state, "audit"),
                                  "--type", "request.completed", "--json"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            events = [json.loads(l) for l in out.stdout.splitlines()]
            put = [e for e in events if e.get("eventName") == "PutObject"]
            self.assertEqual(len(put), 1, events)
            self.assertEqual(put[0]["status"], 403)
            self.assertEqual(put[0]["errorCode"], "SignatureDoesNotMatch")
            self.assertIn("chunk 3", put[0]["detail"])
        finally:
            f.stop()

    HOST = zt.SignedChunks.HOST


class TheLingerIsBounded(unittest.TestCase):
    """A client that never stops sending after its refusal is cut off by the bounds."""

    LINGER_MS = 1500
    LINGER_BYTES = 1 << 20

    @classmethod
    def setUpClass(cls):
        cls.f = zt.ZeroTrustFixture(proxy_toml=(
            "buffered_body_bytes_max = 4096\n"
            "[timeouts]\nlingering_close_ms = %d\n"
            "[limits]\nlingering_close_bytes_max = %d\n" % (cls.LINGER_MS, cls.LINGER_BYTES)))

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def refused_tunnel(self, user_agent):
        """A TLS tunnel to STS whose request head announced a body far over the cap: refused
        with 413 at once, the body still to come."""
        body = b"Action=GetCallerIdentity&Version=2011-06-15&Pad="
        m, t, h, _ = zt.RawRequests.sign(self, "POST", STS, "/", "sts", body,
                                      headers=zt.RawRequests.FORM)
        h = {k: v for k, v in h.items() if k.lower() != "content-length"}
        h["Content-Length"] = str(1 << 40)
        h["User-Agent"] = user_agent
        raw = socket.create_connection(("127.0.0.1", self.f.port), timeout=30)
        raw.sendall(b"CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n" % (STS.encode(),
                                                                          STS.encode()))
        reply = b""
        while b"\r\n\r\n" not in reply:
            more = raw.recv(4096)
            self.assertTrue(more, reply)
            reply += more
        self.assertIn(b" 200 ", reply.split(b"\r\n", 1)[0])
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        s = ctx.wrap_socket(raw, server_hostname=STS)
        head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (m, t, STS)
        head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        s.sendall(head.encode() + body)
        return s

    def keep_sending(self, s, piece, pause_s, limit_s=30):
        """Sends `piece` every `pause_s` seconds, reading whatever comes back, until the
        connection is cut. Returns (the answer's bytes, bytes sent, seconds until the cut)."""
        answer = b""
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < limit_s:
            try:
                while s.pending() or select.select([s], [], [], 0)[0]:
                    got = s.recv(65536)
                    if not got:
                        break
                    answer += got
                s.sendall(piece)
                sent += len(piece)
            except (OSError, ssl.SSLError):
                return answer, sent, time.monotonic() - start
            if pause_s:
                time.sleep(pause_s)
        self.fail("the connection was still open after %d s (%d bytes sent)" % (limit_s, sent))

    def test_a_slow_sender_is_cut_after_lingering_close_ms(self):
        s = self.refused_tunnel("linger-slow")
        try:
            answer, sent, seconds = self.keep_sending(s, b"x" * 1024, 0.02)
        finally:
            s.close()
        self.assertIn(b"413", answer.split(b"\r\n", 1)[0])
        self.assertIn(b"buffered_body_bytes_max", answer)
        self.assertLess(sent, self.LINGER_BYTES)
        self.assertGreaterEqual(seconds, self.LINGER_MS / 1000 * 0.9)
        self.assertLess(seconds, self.LINGER_MS / 1000 + 10)
        ended = self.f.daemon.wait_event_or_seen("tunnel.lingered", end="lingering_close_ms")
        self.assertEqual(ended["cause"], "denied")
        self.assertGreaterEqual(int(ended["ms"]), self.LINGER_MS)

    def test_a_fast_sender_is_cut_after_lingering_close_bytes_max(self):
        s = self.refused_tunnel("linger-fast")
        try:
            _, sent, seconds = self.keep_sending(s, b"y" * 65536, 0)
        finally:
            s.close()
        self.assertGreater(sent, self.LINGER_BYTES)
        ended = self.f.daemon.wait_event_or_seen("tunnel.lingered",
                                                 end="lingering_close_bytes_max")
        self.assertGreater(int(ended["discarded_bytes"]), self.LINGER_BYTES)
        self.assertEqual(ended["cause"], "denied")


if __name__ == "__main__":
    unittest.main()
