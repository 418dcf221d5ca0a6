"""Zero loss in the audit trail across a crash: with [audit] durability = "before-forward" a
request reaches AWS only once its event is on disk, so after pamproxyd is killed with SIGKILL in
the middle of a stream of requests and started again, the log verifies (chain and signatures,
the torn tail cut and the recovery recorded) and every request the client saw answered has its
request.forwarded event. Each request carries a unique User-Agent (not signed by SigV4), which
the event records."""

import http.client
import itertools
import json
import os
import signal
import ssl
import subprocess
import threading
import unittest

from harness import PAMCTL, Daemon
from test_zero_trust import ZeroTrustFixture

STS = "sts.us-east-1.amazonaws.com"


class CrashTest(unittest.TestCase):
    def test_sigkill_under_load_loses_no_answered_request(self):
        f = ZeroTrustFixture()
        try:
            import botocore.auth
            import botocore.awsrequest
            import botocore.credentials
            creds = botocore.credentials.Credentials(
                "%s#%s" % (f.seed["token_id"], f.seed["record_name"]), f.seed["token_secret"])
            answered = []
            errors = []
            stop = threading.Event()
            enough = threading.Event()

            numbers = itertools.count(1)

            def client():
                ctx = ssl.create_default_context(cafile=f.appliance_ca)
                while not stop.is_set():
                    i = next(numbers)
                    req = botocore.awsrequest.AWSRequest(
                        method="POST", url="https://%s/" % STS,
                        data=b"Action=GetCallerIdentity&Version=2011-06-15",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
                    botocore.auth.SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
                    p = req.prepare()
                    headers = dict(p.headers)
                    headers["User-Agent"] = "crash-test/%d" % i
                    c = http.client.HTTPSConnection("127.0.0.1", f.port, context=ctx, timeout=10)
                    c.set_tunnel(STS, 443)
                    try:
                        c.request("POST", "/", body=p.body, headers=headers)
                        r = c.getresponse()
                        r.read()
                        if r.status == 200:
                            answered.append(i)
                            if len(answered) >= 40:
                                enough.set()
                    except (OSError, http.client.HTTPException) as e:
                        errors.append(str(e))
                    finally:
                        c.close()

            threads = [threading.Thread(target=client, daemon=True) for _ in range(3)]
            for t in threads:
                t.start()
            self.assertTrue(enough.wait(timeout=120), "too few answers: %r" % errors[:3])
            f.daemon.proc.send_signal(signal.SIGKILL)  # mid-stream, no shutdown
            f.daemon.proc.wait(timeout=20)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            seen = list(answered)

            # Start again on the same state: the log is recovered, then stop it cleanly.
            d = Daemon(["--config", f.config], cwd=f.tmp.path)
            started = d.wait_event("audit.started")
            d.wait_event("daemon.ready")
            self.assertEqual(d.stop(), 0)
            f.daemon = d  # the fixture stops whichever daemon is current

            audit_dir = os.path.join(f.state, "audit")
            v = subprocess.run([PAMCTL, "audit", "verify", audit_dir, "--config", f.config],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            out = subprocess.run([PAMCTL, "audit", "search", audit_dir, "--json",
                                  "--type", "request.forwarded"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            agents = set()
            for line in out.stdout.splitlines():
                ev = json.loads(line)
                agents.add(ev.get("userAgent", ""))
            missing = [i for i in seen if "crash-test/%d" % i not in agents]
            self.assertEqual(missing, [], "answered requests without an audit event")
            self.assertGreaterEqual(len(seen), 40)
            self.assertIn("recovered_file", started)
        finally:
            f.stop()


if __name__ == "__main__":
    unittest.main()
