"""One audit stream off the box: pamproxyd ships its hash-chained audit log to a syslog collector
(a real rsyslogd, RFC 5425 over TLS with a certificate from a CA made here), one RFC 5424
message per audit line. Every line arrives, in order, byte for byte; a collector that is down
slows no request and, once back on the same port, receives everything it missed; a SIGKILL of
pamproxyd in the middle of a stream leaves no gap (a line may come twice); and `pamctl audit
verify --from-syslog` checks the collector's copy like the local log, and fails once one byte of
a collected line is changed."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import unittest

from harness import PAMCTL, Daemon
from syslog_collector import Collector
from test_zero_trust import ZeroTrustFixture
from tls_upstream import free_port

STS = "sts.us-east-1.amazonaws.com"
NODE = "node-a"


def local_lines(audit_dir):
    """The local log's lines in order: {seq: line}."""
    out = {}
    for name in sorted(os.listdir(audit_dir)):
        if name.startswith("audit-") and name.endswith(".jsonl"):
            with open(os.path.join(audit_dir, name), "rb") as f:
                # The live file's zeroed space ahead is not log: it ends at the first NUL.
                for raw in f.read().split(b"\0", 1)[0].decode().splitlines():
                    out[json.loads(raw)["seq"]] = raw
    return out


def collected_lines(collector):
    """The node's audit lines as the collector wrote them, in file order."""
    head = "<110>1 "
    out = []
    for line in collector.lines():
        parts = line.split(" ", 7)
        if line.startswith(head) and len(parts) == 8 and parts[2] == NODE and \
                parts[3] == "pamproxy":
            out.append(parts[7])
    return out


class ShipTest(unittest.TestCase):
    def setUp(self):
        self.collector = None

        def with_shipping(f):
            self.collector = Collector(f.tmp.path, f.ca, free_port())
            with open(f.config, "a") as cfg:
                cfg.write('\n[audit]\nnode_name = "%s"\nship_syslog_address = "127.0.0.1:%d"\n'
                          'ship_ca_file = "%s"\nship_batch_lines_max = 8\n'
                          'checkpoint_interval_s = 2\n'
                          % (NODE, self.collector.port, f.ca.cert_path))
            self.collector.start()

        self.f = ZeroTrustFixture(before_start=with_shipping)
        self.audit_dir = os.path.join(self.f.state, "audit")
        import botocore.credentials
        self.creds = botocore.credentials.Credentials(
            "%s#%s" % (self.f.seed["token_id"], self.f.seed["record_name"]),
            self.f.seed["token_secret"])

    def tearDown(self):
        self.f.stop()
        if self.collector:
            self.collector.stop()

    def request(self, agent):
        """One audited request through the proxy; returns (status, seconds)."""
        import botocore.auth
        import botocore.awsrequest
        req = botocore.awsrequest.AWSRequest(
            method="POST", url="https://%s/" % STS,
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        botocore.auth.SigV4Auth(self.creds, "sts", "us-east-1").add_auth(req)
        p = req.prepare()
        headers = dict(p.headers)
        headers["User-Agent"] = agent
        ctx = ssl.create_default_context(cafile=self.f.appliance_ca)
        started = time.monotonic()
        c = http.client.HTTPSConnection("127.0.0.1", self.f.port, context=ctx, timeout=10)
        c.set_tunnel(STS, 443)
        try:
            c.request("POST", "/", body=p.body, headers=headers)
            r = c.getresponse()
            r.read()
            return r.status, time.monotonic() - started
        finally:
            c.close()

    def requests(self, prefix, n):
        for i in range(n):
            status, seconds = self.request("%s/%d" % (prefix, i))
            self.assertEqual(status, 200)
            self.assertLess(seconds, 2.0, "a request was slowed")

    def assert_all_arrive(self, timeout=20.0):
        """Every line of the local log (as it is now) reaches the collector: the first copy of
        each, in file order, runs seq 1, 2, 3... and is the local line byte for byte."""
        want = local_lines(self.audit_dir)
        deadline = time.monotonic() + timeout
        while True:
            got = collected_lines(self.collector)
            first = {}
            order = []
            for line in got:
                seq = json.loads(line)["seq"]
                if seq not in first:
                    first[seq] = line
                    order.append(seq)
            if all(s in first for s in want):
                break
            if time.monotonic() > deadline:
                self.fail("missing at the collector: %r" % sorted(set(want) - set(first))[:10])
            time.sleep(0.1)
        self.assertEqual(order, list(range(1, len(order) + 1)), "out of order or a gap")
        for seq, line in want.items():
            self.assertEqual(first[seq], line, "seq %d differs" % seq)
        return got

    def verify(self, path):
        # Sealed: a clean stop waits for the collector to have the shutdown checkpoint.
        return subprocess.run([PAMCTL, "audit", "verify", "--from-syslog", path, "--node", NODE,
                               "--config", self.f.config, "--require-sealed"],
                              capture_output=True, text=True, timeout=60)

    def test_ship_through_outage_and_crash_then_verify_the_copy(self):
        d = self.f.daemon
        d.wait_event_or_seen("audit.ship_connected")
        self.requests("first", 10)
        self.assert_all_arrive()

        # The collector goes away: requests neither fail nor wait for it.
        self.collector.stop()
        self.requests("outage", 10)
        d.wait_event_or_seen("audit.ship_disconnected")
        have = {json.loads(l)["seq"] for l in collected_lines(self.collector)}
        self.assertTrue(set(local_lines(self.audit_dir)) - have, "the outage held nothing back")
        self.collector.start()
        d.wait_event("audit.ship_connected")
        self.assert_all_arrive()

        # SIGKILL in the middle of a stream of requests, then a restart on the same state.
        stop = threading.Event()

        def client():
            i = 0
            while not stop.is_set():
                try:
                    self.request("crash/%d" % i)
                except OSError:
                    pass
                i += 1

        t = threading.Thread(target=client, daemon=True)
        t.start()
        time.sleep(1.0)
        d.proc.kill()
        d.proc.wait(timeout=20)
        stop.set()
        t.join(timeout=30)
        d = Daemon(["--config", self.f.config], cwd=self.f.tmp.path)
        self.f.daemon = d  # the fixture stops whichever daemon is current
        started = d.wait_event("audit.ship_started")
        confirmed = int(started["from_seq"]) - 1
        deadline = time.monotonic() + 5
        while confirmed and time.monotonic() < deadline and confirmed not in \
                {json.loads(l)["seq"] for l in collected_lines(self.collector)}:
            time.sleep(0.05)  # the collector may still be writing what it confirmed
        self.assertIn(confirmed, {json.loads(l)["seq"] for l in collected_lines(self.collector)}
                      | {0}, "the cursor skips lines")
        d.wait_event("daemon.ready")
        self.requests("after", 5)
        self.assert_all_arrive()
        self.assertEqual(d.stop(), 0)

        # The collector's copy verifies as the local log does; one changed byte is found.
        self.collector.stop()
        v = self.verify(self.collector.out)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("valid", v.stdout)
        self.assertRegex(v.stdout, r"[1-9]\d* checkpoint\(s\)")
        print(v.stdout)
        tampered = os.path.join(self.f.tmp.path, "tampered.log")
        shutil.copy(self.collector.out, tampered)
        with open(tampered, "rb") as f:
            lines = f.read().split(b"\n")
        mine = [i for i, l in enumerate(lines) if b" %s pamproxy " % NODE.encode() in l]
        target = mine[len(mine) // 2]
        at = lines[target].index(b'"eventTime":"') + len(b'"eventTime":"') + 3
        lines[target] = lines[target][:at] + bytes([lines[target][at] ^ 1]) + \
            lines[target][at + 1:]
        with open(tampered, "wb") as f:
            f.write(b"\n".join(lines))
        v = self.verify(tampered)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        self.assertIn("invalid", v.stdout)


if __name__ == "__main__":
    unittest.main()
