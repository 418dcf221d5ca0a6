"""The README's "Use it with real AWS" commands, run as written against a real pamproxyd, so a
newcomer who copies them gets what the README promises. A failing command fails the test.

The README marks each shell block to run with an HTML comment on the line before its fence:

    <!-- test: admin -->   run in the administrator's shell
    <!-- test: user -->    run in the user's shell (each block in a fresh shell)

What the test provides around the blocks, and the only substitutions it makes (each is asserted
to be present, so README and test cannot drift apart silently):

- The daemon: the README starts it with `scripts/run` on 127.0.0.1:8081/8443; the test starts the
  built pamproxyd on free loopback ports, with AWS's host names resolved to a SigV4-checking
  stand-in for AWS (tests/node/aws_front.js) that accepts only the record's keys (AWS's documented
  example keys, AKIAIOSFODNN7EXAMPLE, the ones the README stores in the record).
- The admin shell: the `export PAMCTL_...` lines the daemon printed on its first start (the
  README says to paste them), then the admin blocks; in its working directory the file
  `prod-billing.secret` (mode 0600) that the README says holds the record's secret key.
- The handoff: the admin's `alice.token` becomes the user's `~/.pamproxy-token` (mode 0600), as
  the README says ("over a safe channel").
- In user blocks: `pam.example.com:8443` -> the admin API's 127.0.0.1:PORT and
  `pam.example.com:8081` -> the proxy's 127.0.0.1:PORT.
- Both shells: `pamctl` and `aws` (/usr/bin/aws, the AWS CLI v2) first on PATH, a HOME of their
  own, no inherited proxy, AWS or PAMCTL variables; the user's shell also has
  AWS_DEFAULT_REGION=us-east-1 (a real user has a region configured) and
  AWS_EC2_METADATA_DISABLED=true.
"""

import os
import queue
import re
import shutil
import subprocess
import threading
import time
import unittest

from aws_front import AwsFront, RecordKeys, TestCA, appliance_config
from harness import PAMCTL, SOURCE_ROOT, Daemon, TempDir
from tls_upstream import free_port

RECORD = RecordKeys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
HOSTS = ["s3.us-east-1.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com",
         "sts.us-east-1.amazonaws.com"]
MARK = re.compile(r"^<!-- test: (\w+) -->\n```sh\n(.*?)^```$", re.M | re.S)


def readme_blocks():
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        return [(m.group(1), m.group(2)) for m in MARK.finditer(f.read())]


def clean_env(home, bin_dir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PAMCTL_")) and
           k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy") and
           k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "STATE_DIRECTORY",
                     "CREDENTIALS_DIRECTORY", "XDG_CONFIG_HOME")}
    env["HOME"] = home
    env["PATH"] = bin_dir + ":" + env.get("PATH", "/usr/bin:/bin")
    return env


class ReadmeQuickStart(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        ca = TestCA(self.tmp.path)
        self.front = AwsFront(self.tmp.path, ca, [RECORD], names=HOSTS + ["localhost"])
        self.front.__enter__()
        self.addCleanup(self.front.__exit__, None, None, None)
        self.proxy_port, self.admin_port = free_port(), free_port()
        config = self.tmp.file("pamproxy.toml", appliance_config(
            self.front, ca.cert_path, HOSTS, os.path.join(self.tmp.path, "pamproxy-state"),
            self.proxy_port, self.admin_port))
        self.daemon = Daemon(["--config", config], cwd=self.tmp.path)
        self.addCleanup(self.daemon.stop)
        self.stdout = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.daemon.wait_event("daemon.ready")

        self.bin = os.path.join(self.tmp.path, "bin")
        os.makedirs(self.bin)
        os.symlink(os.path.abspath(PAMCTL), os.path.join(self.bin, "pamctl"))
        os.symlink("/usr/bin/aws", os.path.join(self.bin, "aws"))

    def _read_stdout(self):
        for line in self.daemon.proc.stdout:
            self.stdout.put(line.rstrip("\n"))

    def banner_exports(self):
        """The `export PAMCTL_...` lines of the first start's banner (printed before ready)."""
        lines, deadline = [], time.monotonic() + 10
        while len(lines) < 3:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "no export PAMCTL_ lines from pamproxyd: %s" % lines)
            try:
                line = self.stdout.get(timeout=left)
            except queue.Empty:
                continue
            if line.strip().startswith("export PAMCTL_"):
                lines.append(line.strip())
        return "\n".join(lines) + "\n"

    def run_block(self, name, script, env, cwd):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd,
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, "README block '%s' failed (exit %d):\n%s\n--- stdout:\n"
                         "%s\n--- stderr:\n%s" % (name, r.returncode, script, r.stdout, r.stderr))
        self.assertNotIn(RECORD.secret_access_key, r.stdout + r.stderr)
        return r.stdout

    def test_use_it_with_real_aws_blocks_run_as_written(self):
        blocks = readme_blocks()
        kinds = [k for k, _ in blocks]
        self.assertEqual(set(kinds), {"admin", "user"}, kinds)
        self.assertEqual(kinds.index("admin"), 0, "the admin's blocks come first")

        # The administrator.
        admin_dir = os.path.join(self.tmp.path, "admin")
        os.makedirs(admin_dir)
        secret = os.path.join(admin_dir, "prod-billing.secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(RECORD.secret_access_key + "\n")
        admin_env = clean_env(admin_dir, self.bin)
        admin_script = self.banner_exports()
        for kind, code in blocks:
            if kind == "admin":
                admin_script += code
        self.run_block("admin", admin_script, admin_env, admin_dir)

        # The handoff of the token file.
        home = os.path.join(self.tmp.path, "alice")
        os.makedirs(home, mode=0o700)
        token = os.path.join(home, ".pamproxy-token")
        shutil.copyfile(os.path.join(admin_dir, "alice.token"), token)
        os.chmod(token, 0o600)

        # The user, each block in a fresh shell.
        user_env = clean_env(home, self.bin)
        user_env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
        subs = {"pam.example.com:8443": "127.0.0.1:%d" % self.admin_port,
                "pam.example.com:8081": "127.0.0.1:%d" % self.proxy_port}
        user_code = "".join(code for kind, code in blocks if kind == "user")
        for placeholder in subs:
            self.assertIn(placeholder, user_code)
        outputs = []
        for i, (kind, code) in enumerate(blocks):
            if kind != "user":
                continue
            for placeholder, real in subs.items():
                code = code.replace(placeholder, real)
            outputs.append(self.run_block("user #%d" % i, code, user_env, home))
        self.assertIn("alice", outputs[0])            # pamctl whoami
        self.assertIn("123456789012", outputs[0])     # aws sts get-caller-identity

        # Every AWS call reached the stand-in signed with the record's keys, which the user never
        # held: sts get-caller-identity and one s3 ls per user block.
        seen = [(r.get("service"), r.get("operation") or r.get("method") + " " + r.get("path"),
                 r.get("verified")) for r in self.front.requests()]
        self.assertIn(("sts", "GetCallerIdentity", True), seen)
        self.assertEqual(seen.count(("s3", "GET /", True)), len(outputs), seen)  # ListBuckets
        self.assertTrue(all(v for _, _, v in seen), seen)


class ReadmeQuickStartScripts(unittest.TestCase):
    def test_quick_start_scripts_exist(self):
        with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
            text = f.read()
        for script in ["scripts/demo", "scripts/run", "scripts/test"]:
            self.assertIn("\n%s " % script, text)
            self.assertTrue(os.access(os.path.join(SOURCE_ROOT, script), os.X_OK), script)


if __name__ == "__main__":
    unittest.main()
