"""A scanner's view of pamproxyd's TLS: testssl.sh against the CONNECT listener's interception
(inside the tunnel) and against the admin listener, both at the same time. No finding may be
rated MEDIUM or worse, except the few docs/security.md argues for certificates an appliance's
private CA mints (listed in ARGUED, each with the text it must carry).

The tunnel is scanned through test_tls_interop's ConnectShim, a loopback port that opens a
tunnel through pamproxyd for each connection, rather than testssl's --proxy: with --proxy
testssl 3.0 sends some of its checks straight to the target, so it scans the upstream's
certificate instead of pamproxyd's, and it cannot test ALPN through a proxy. Only the checks
that matter run (protocols, cipher categories, server defaults, vulnerabilities; --fast),
in about seven minutes on two busy cores (its own suite, tls-scan, so it runs alongside the
others)."""

import concurrent.futures
import json
import os
import subprocess
import unittest

from test_engine import EngineFixture, clean_env
from test_tls_interop import ConnectShim

TESTSSL = "/usr/bin/testssl"
BAD = {"MEDIUM", "HIGH", "CRITICAL"}

# Findings docs/security.md argues, with the words each must carry to be the argued one.
ARGUED = {
    # Leaves are minted for [tls] leaf_validity_days (30 by default) and replaced at half their
    # life; testssl wants 30 days left or more.
    "cert_expirationStatus": "expires < 30 days",
    "cert_notAfter": "",  # the same date, rated again
    # A private CA's leaves, minted in memory per host: nothing to revoke through CRL or OCSP.
    "cert_revocation": "Neither CRL nor OCSP URI provided",
}


class ScannerView(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = EngineFixture(extra_toml='[admin]\nlisten = "127.0.0.1:0"\n')
        cls.admin_port = int(cls.f.daemon.wait_event_or_seen("admin.listening")["port"])
        cls.shim = ConnectShim(cls.f.port, b"localhost:%d" % cls.f.upstream.port)

    @classmethod
    def tearDownClass(cls):
        cls.shim.close()
        cls.f.stop()

    def scan(self, port, name):
        report = os.path.join(self.f.tmp.path, name + ".json")
        out = subprocess.run(
            [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--add-ca", self.f.ca,
             "--jsonfile", report, "--fast", "-p", "-s", "-S", "-U", "localhost:%d" % port],
            env=clean_env(), capture_output=True, timeout=540)
        self.assertTrue(os.path.exists(report), out.stdout.decode()[-3000:])
        with open(report) as f:
            return json.load(f), out.stdout.decode()

    def test_no_finding_medium_or_worse(self):
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            scans = {"connect": pool.submit(self.scan, self.shim.port, "connect"),
                     "admin": pool.submit(self.scan, self.admin_port, "admin")}
            for listener, future in scans.items():
                with self.subTest(listener=listener):
                    findings, text = future.result()
                    for x in findings:  # the record docs/security.md summarises
                        if x["severity"] not in ("OK", "INFO", "DEBUG"):
                            print("%s: %s %s: %s" % (listener, x["severity"], x["id"],
                                                     x["finding"]))
                    ids = {x["id"] for x in findings}
                    # The scan ran: both protocols seen, the vulnerabilities tested.
                    self.assertTrue({"TLS1_2", "TLS1_3", "heartbleed", "ROBOT"} <= ids, text)
                    bad = [x for x in findings if x["severity"] in BAD and not (
                        x["id"] in ARGUED and ARGUED[x["id"]] in x["finding"])]
                    self.assertEqual(bad, [], text[-4000:])


if __name__ == "__main__":
    unittest.main()
