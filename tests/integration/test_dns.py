"""Upstream names resolved by real DNS (c-ares) through [upstream] dns_servers: a tunnel reaches
the upstream at the address DNS gave; a name that resolves to a private address is refused
unless [proxy] private_destinations_allowed admits it (no SSRF through a public-looking name);
a name that does not exist is a 502 that says so; answers are cached (one question per name).
The zero-trust stage runs: curl's unsigned requests are refused inside the tunnel and never
reach the upstream."""

import json
import os
import unittest

from dns_responder import DnsResponder
from harness import PAMCTL, Daemon, TempDir
from test_engine import CURL, clean_env
from tls_upstream import TlsUpstream, free_port, make_ca_and_leaf

import subprocess

NAME = "bucket.s3.us-east-1.amazonaws.com"


class DnsFixture:
    def __init__(self, private_allowed):
        self.tmp = TempDir()
        self.certs = make_ca_and_leaf(self.tmp.path, names=(NAME, "nowhere.amazonaws.com"))
        self.upstream = TlsUpstream(self.certs["cert"], self.certs["key"])
        self.dns = DnsResponder({NAME: ["127.0.0.1"]})
        self.port = free_port()
        toml = """
[proxy]
listen = ["127.0.0.1:%d"]
destination_allowlist = ["*.amazonaws.com:%d"]
private_destinations_allowed = [%s]
[upstream]
dns_servers = ["%s"]
[tls]
upstream_ca_file = "%s"
[store]
directory = "%s"
[engine]
threads = 1
pin_threads = false
buffer_count = 64
""" % (self.port, self.upstream.port, '"127.0.0.0/8"' if private_allowed else "",
       self.dns.server, self.certs["ca"], os.path.join(self.tmp.path, "state"))
        self.daemon = Daemon(["--config", self.tmp.file("p.toml", toml)], cwd=self.tmp.path)
        self.daemon.wait_event("daemon.ready")
        self.ca = os.path.join(self.tmp.path, "state", "ca", "ca.pem")

    def get(self, host, path="/bytes/10"):
        return subprocess.run(
            [CURL, "-sS", "--proxy", "http://127.0.0.1:%d" % self.port, "--cacert", self.ca,
             "-o", "/dev/null", "-w", "%{http_code}",
             "https://%s:%d%s" % (host, self.upstream.port, path)],
            env=clean_env(), capture_output=True, text=True, timeout=60)

    def stop(self):
        try:
            self.daemon.stop()
        finally:
            self.upstream.stop()
            self.dns.stop()
            self.tmp.cleanup()


class ResolvedByDns(unittest.TestCase):
    def test_name_reaches_the_address_dns_gave_and_is_cached(self):
        f = DnsFixture(private_allowed=True)
        try:
            for _ in range(2):
                out = f.get(NAME)
                self.assertEqual(out.stdout, "403", out.stderr)  # unsigned: refused inside
                est = f.daemon.wait_event("tunnel.established")
                self.assertEqual(est["upstream"], "127.0.0.1:%d" % f.upstream.port)
            self.assertEqual(f.upstream.seen, [])
            # A and AAAA once each: the second tunnel used the cache.
            self.assertEqual(f.dns.asked(NAME), 2)
            # Both tunnels are in the audit trail, opened and closed, with their target.
            f.daemon.stop()
            audit_dir = os.path.join(f.tmp.path, "state", "audit")
            out = subprocess.run([PAMCTL, "audit", "search", audit_dir, "--json"],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            events = [json.loads(l) for l in out.stdout.splitlines()]
            target = "%s:%d" % (NAME, f.upstream.port)
            opened = [e for e in events if e["eventType"] == "tunnel.opened"]
            closed = [e for e in events if e["eventType"] == "tunnel.closed"]
            denied = [e for e in events if e["eventType"] == "request.denied"]
            self.assertEqual(len(opened), 2, events)
            self.assertEqual(len(closed), 2, events)
            self.assertEqual(len(denied), 2, events)
            for e in opened + closed + denied:
                self.assertEqual(e["targetHost"], target)
                self.assertEqual(e["sourceIPAddress"], "127.0.0.1")
            self.assertEqual(denied[0]["errorCode"], "MissingAuthenticationToken")
            self.assertGreater(closed[0]["bytesIn"], 0)
            self.assertGreater(closed[0]["bytesOut"], 0)
        finally:
            f.stop()

    def test_private_answer_is_refused_without_a_cidr(self):
        f = DnsFixture(private_allowed=False)
        try:
            out = f.get(NAME)
            self.assertNotEqual(out.returncode, 0)
            refused = f.daemon.wait_event("tunnel.refused")
            self.assertEqual(refused["status"], "403")
            self.assertIn("resolves only to loopback, link-local or private addresses",
                          refused["detail"])
            self.assertEqual(f.upstream.seen, [])
        finally:
            f.stop()

    def test_unknown_name_is_a_502_that_says_so(self):
        f = DnsFixture(private_allowed=True)
        try:
            out = f.get("nowhere.amazonaws.com")
            self.assertNotEqual(out.returncode, 0)
            refused = f.daemon.wait_event("tunnel.refused")
            self.assertEqual(refused["status"], "502")
            self.assertEqual(refused["cause"], "dns_failed")
            self.assertIn("no such name", refused["detail"])
        finally:
            f.stop()


if __name__ == "__main__":
    unittest.main()
