"""First start of pamproxyd on a fresh state directory: the store is created, a bootstrap admin
and its REST API token are made once (file 0600 + the exact pamctl exports on stdout, never in the
log), the bootstrap is an audited admin change, a restart makes no second admin, and a wrong
master key stops the start without touching the database. A start on a full state disk says the
disk is full (not that the database is corrupt) and changes nothing either; that one needs root
for a mount namespace with a small tmpfs, and is skipped, saying so, without."""

import hashlib
import os
import shutil
import subprocess
import time
import unittest

from harness import PAMCTL, Daemon, TempDir
from tls_upstream import free_port


class Bootstrap(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.state = os.path.join(self.tmp.path, "state")
        self.config = self.tmp.file("p.toml", (
            '[store]\ndirectory = "%s"\n[engine]\nthreads = 1\n'
            '[proxy]\nlisten = ["127.0.0.1:%d"]\n[admin]\nlisten = "127.0.0.1:%d"\n') %
            (self.state, free_port(), free_port()))

    def tearDown(self):
        self.tmp.cleanup()

    def run_daemon(self):
        """Starts, waits until ready, stops; returns (log lines, stdout, exit code)."""
        d = Daemon(["--config", self.config], cwd=self.tmp.path)
        try:
            d.wait_event("daemon.ready")
        finally:
            code = d.stop()
        d.wait_event("daemon.stopped")
        return d.seen, d.proc.stdout.read(), code

    def test_first_start_creates_one_admin_token_shown_once(self):
        log, out, code = self.run_daemon()
        self.assertEqual(code, 0)
        token_file = os.path.join(self.state, "bootstrap-admin-token")
        self.assertEqual(os.stat(token_file).st_mode & 0o777, 0o600)
        with open(token_file) as f:
            bearer = f.read().strip()
        token_id, _, secret = bearer.partition(":")
        self.assertRegex(token_id, r"^[A-Z0-9]{16,}$")
        self.assertGreaterEqual(len(secret), 32)
        # stdout: the exports a newcomer copies; the log names the file, never the secret.
        self.assertIn("export PAMCTL_TOKEN='%s'" % bearer, out)
        self.assertIn("export PAMCTL_CA=%s/ca/ca.pem" % self.state, out)
        boot = [l for l in log if "event=store.bootstrap_admin" in l]
        self.assertEqual(len(boot), 1, log)
        self.assertIn("token_id=%s" % token_id, boot[0])
        self.assertFalse([l for l in log if secret in l], "the token secret reached the log")
        for name in ("pamproxy.db", "master.key", "audit-ed25519.key"):
            self.assertEqual(os.stat(os.path.join(self.state, name)).st_mode & 0o777, 0o600, name)

        # The bootstrap is in the audit trail (chain and signature verified), without the secret.
        audit_dir = os.path.join(self.state, "audit")
        v = subprocess.run([PAMCTL, "audit", "verify", audit_dir, "--config", self.config],
                           capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        text = "".join(open(os.path.join(audit_dir, n)).read() for n in os.listdir(audit_dir))
        self.assertIn('"eventName":"user.create"', text)
        self.assertIn('"eventName":"token.create"', text)
        self.assertIn('"sourceIPAddress":"bootstrap"', text)
        self.assertNotIn(secret, text)

        # A restart opens the same store: no second admin, no banner, the file unchanged.
        log2, out2, code2 = self.run_daemon()
        self.assertEqual(code2, 0)
        self.assertFalse([l for l in log2 if "event=store.bootstrap_admin" in l], log2)
        self.assertNotIn("PAMCTL_TOKEN", out2)
        with open(token_file) as f:
            self.assertEqual(f.read().strip(), bearer)

    def test_wrong_master_key_stops_start_and_changes_nothing(self):
        _, _, code = self.run_daemon()
        self.assertEqual(code, 0)
        db = os.path.join(self.state, "pamproxy.db")
        with open(db, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        key = os.path.join(self.state, "master.key")
        with open(key) as f:
            good = f.read()
        with open(key, "w") as f:
            f.write(("0" * 64 + "\n") if not good.startswith("0" * 64) else ("1" * 64 + "\n"))
        d = Daemon(["--config", self.config], cwd=self.tmp.path)
        failed = d.wait_event("store.open_failed")
        self.assertEqual(d.proc.wait(timeout=20), 1)
        self.assertIn("master", failed["error"].lower())
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before)


    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nsenter"),
                         "needs root: a mount namespace with a tmpfs")
    def test_full_disk_at_start_says_full_and_changes_nothing(self):
        # A namespace of the test's own, held by a sleeping process, where the state directory
        # is a 4 MiB tmpfs; both daemons run in it (nsenter execs pamproxyd: same pid).
        holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "300"])
        try:
            deadline = time.monotonic() + 10
            while os.readlink("/proc/%d/ns/mnt" % holder.pid) == os.readlink("/proc/self/ns/mnt"):
                self.assertLess(time.monotonic(), deadline, "unshare did not make a namespace")
                time.sleep(0.01)
            inside = ["nsenter", "-t", str(holder.pid), "-m", "--"]
            os.makedirs(self.state, mode=0o700)
            subprocess.run(inside + ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                                     self.state], check=True, timeout=30)
            d = Daemon(["--config", self.config], cwd=self.tmp.path, prefix=inside)
            try:
                d.wait_event("daemon.ready")
            finally:
                self.assertEqual(d.stop(), 0)

            def run_inside(*cmd):
                return subprocess.run(inside + list(cmd), capture_output=True, text=True,
                                      timeout=60)

            run_inside("sh", "-c", "cat /dev/zero > %s/filler" % self.state)
            df = run_inside("df", "--output=avail", self.state).stdout.split()
            self.assertEqual(df[-1], "0", df)
            db = os.path.join(self.state, "pamproxy.db")
            before = run_inside("sha256sum", db).stdout

            d = Daemon(["--config", self.config], cwd=self.tmp.path, prefix=inside)
            failed = d.wait_event("store.open_failed")
            self.assertEqual(d.proc.wait(timeout=20), 1)
            self.assertIn("file system is full", failed["error"])
            self.assertIn("the database was not changed", failed["error"])
            self.assertNotIn("corrupt", failed["error"])
            self.assertEqual(run_inside("sha256sum", db).stdout, before)
        finally:
            holder.kill()
            holder.wait()


if __name__ == "__main__":
    unittest.main()
