"""The whole daemon on a full disk: pamproxyd runs with its audit directory on a 2 MiB tmpfs of
its own (a mount namespace made for the test), the test fills that disk, and the proxy must not
forward a request it cannot record: the AWS CLI gets 503 AuditUnavailable after
[audit] hold_timeout_ms, the stand-in for AWS sees nothing, and the log says why. Once the disk
has room again the writer recovers by itself, the next command goes through, the chain verifies,
and the refused request's decision is followed by an outcome saying it never left.

Needs root for the mount namespace (unshare -m) and nsenter; skipped, saying so, without."""

import json
import os
import shutil
import subprocess
import unittest

from harness import PAMCTL
from test_zero_trust import ZeroTrustFixture


def namespaces_available():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@unittest.skipUnless(namespaces_available(), "needs root: a mount namespace with a tmpfs")
class FullDisk(unittest.TestCase):
    def test_full_disk_refuses_after_hold_then_recovers_without_loss(self):
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                  'mount -t tmpfs -o size=2m,mode=0700 tmpfs "$0" && exec "$@"']

        def make_mount_point(f):
            f.audit_dir = os.path.join(f.state, "audit")
            os.makedirs(f.audit_dir, mode=0o700)
            prefix.append(f.audit_dir)  # the script's $0; pamproxyd and its arguments follow

        f = ZeroTrustFixture(proxy_toml="\n[audit]\nhold_timeout_ms = 1500\n",
                             daemon_prefix=prefix, before_start=make_mount_point)
        try:
            self.run_scenario(f)
        finally:
            f.stop()

    def inside(self, f, *cmd, check=True):
        """Runs `cmd` in the daemon's mount namespace (where its audit tmpfs is)."""
        r = subprocess.run(["nsenter", "-t", str(f.daemon.proc.pid), "-m", "--"] + list(cmd),
                           capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def run_scenario(self, f):
        r = f.aws("s3", "mb", "s3://disk-fault")
        self.assertEqual(r.returncode, 0, r.stderr)

        # Fill the audit disk to the last byte.
        filler = os.path.join(f.audit_dir, "filler")
        self.inside(f, "sh", "-c", "cat /dev/zero > %s" % filler, check=False)
        df = self.inside(f, "df", "--output=avail", f.audit_dir).stdout.split()
        self.assertEqual(df[-1], "0", df)

        # The log file's last page may still hold a line or two: the first refusal comes within
        # a few commands, and every command before it was recorded, so it may go through.
        for attempt in range(8):
            seen_before = len(f.front.requests())
            r = f.aws("s3", "ls")
            if r.returncode != 0:
                break
        self.assertNotEqual(r.returncode, 0, "8 commands went through a full audit disk")
        self.assertIn("AuditUnavailable", r.stderr + r.stdout)
        self.assertEqual(len(f.front.requests()), seen_before, "a request left unrecorded")
        fault = f.daemon.wait_event("audit.disk_fault")
        self.assertIn("No space left", fault["error"])

        # Room again: the writer recovers on its own and the next command goes through.
        self.inside(f, "rm", "-f", filler)
        f.daemon.wait_event("audit.disk_recovered")
        r = f.aws("s3", "ls")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("disk-fault", r.stdout)

        # The chain is whole, and the trail tells the truth about the refused request.
        v = self.inside(f, PAMCTL, "audit", "verify", f.audit_dir, "--config", f.config,
                        check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        out = self.inside(f, PAMCTL, "audit", "search", f.audit_dir, "--json").stdout
        events = [json.loads(line) for line in out.splitlines()]
        listings = [e for e in events if e.get("eventName") == "ListBuckets"]
        forwarded = [e for e in listings if e["eventType"] == "request.forwarded"]
        completed = {e["proxyRequestId"]: e for e in listings
                     if e["eventType"] == "request.completed"}
        self.assertEqual(len(forwarded), attempt + 2, listings)
        outcomes = [completed[e["proxyRequestId"]] for e in forwarded]
        refused = outcomes[attempt]
        self.assertEqual((refused["status"], refused["errorCode"]), (503, "AuditUnavailable"))
        self.assertIn("not sent to AWS", refused["detail"])
        for served in outcomes[:attempt] + outcomes[attempt + 1:]:
            self.assertEqual(served["status"], 200, served)


if __name__ == "__main__":
    unittest.main()
