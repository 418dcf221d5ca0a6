"""scripts/demo, the newcomer's first command, run as they would run it (CI-sized: a 4 MiB file,
no setup or build inside the test, the binaries under test through PAMPROXYD / PAMCTL). It
starts the stand-in for AWS and pamproxyd itself, walks SPEC.md's Instructions with pamctl, runs
the AWS CLI through the proxy, and prints the evidence; this checks what it prints, and that it
cleans up after itself (or, with --keep, leaves a working stack and a correct way to stop it)."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import unittest

from harness import PAMCTL, PAMPROXYD, SOURCE_ROOT

DEMO = os.path.join(SOURCE_ROOT, "scripts", "demo")
FILE_MB = 4


def run_demo(*args):
    env = dict(os.environ)
    env.update({"DEMO_SKIP_BUILD": "1", "DEMO_FILE_MB": str(FILE_MB), "PAMPROXYD": PAMPROXYD,
                "PAMCTL": PAMCTL})
    return subprocess.run([DEMO] + list(args), env=env, capture_output=True, text=True,
                          timeout=540, stdin=subprocess.DEVNULL)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A process that exited but is not yet reaped by its new parent is not alive either.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


class Demo(unittest.TestCase):
    def check_walk(self, r):
        out = r.stdout
        self.assertEqual(r.returncode, 0, "scripts/demo failed:\n%s\n%s" % (out, r.stderr))

        # Every step of SPEC.md's Instructions, announced before it is done, in order.
        steps = [
            "Step 1: enable the proxy (pamctl settings set proxy.enabled true)",
            "Step 2: no license needed",
            "Step 3: no restart, no waiting: settings apply live",
            "Step 4: enable the AWS Access Keys record type "
            "(pamctl record-types enable aws-access-keys)",
            "Step 5-7: add an AWS Access Keys record",
            "Step 8: a user with Connect permission on the record",
            "Step 9: the user points the AWS CLI at the proxy",
        ]
        at = 0
        for s in steps:
            i = out.find(s, at)
            self.assertGreaterEqual(i, 0, "missing or out of order: %r\n%s" % (s, out))
            at = i
        for cmd in ["$ pamctl settings set proxy.enabled true",
                    "$ pamctl record-types enable aws-access-keys",
                    "$ pamctl records add --name demo-s3",
                    "--secret-key-file", "$ pamctl tokens create demo-laptop --user u-",
                    "$ pamctl grants add --user u-", "$ pamctl ca export",
                    "$ pamctl env --record demo-s3"]:
            self.assertIn(cmd, out)
        # The record's secret key never shows.
        self.assertNotIn("demoSecretKey", out + r.stderr)

        # The four exports of step 9.
        exports = dict(re.findall(r"^\s*export (HTTPS_PROXY|AWS_CA_BUNDLE|AWS_ACCESS_KEY_ID|"
                                  r"AWS_SECRET_ACCESS_KEY)=(.*)$", out, re.M))
        self.assertEqual(len(exports), 4, out)
        self.assertRegex(shlex.split(exports["HTTPS_PROXY"])[0], r"^127\.0\.0\.1:\d+$")
        self.assertTrue(shlex.split(exports["AWS_CA_BUNDLE"])[0].endswith("pamproxy-ca.pem"))
        self.assertRegex(shlex.split(exports["AWS_ACCESS_KEY_ID"])[0], r"^PAM[A-Z2-7]+#demo-s3$")
        self.assertRegex(shlex.split(exports["AWS_SECRET_ACCESS_KEY"])[0], r"^[A-Za-z0-9]{40}$")

        # The AWS CLI through the proxy: the bucket, the upload, the listings.
        name = "demo-%dMiB.bin" % FILE_MB
        self.assertIn("$ aws s3 mb s3://pamproxy-demo", out)
        self.assertIn("make_bucket: pamproxy-demo", out)
        self.assertIn("upload: ", out)
        self.assertRegex(out, r"\d\d:\d\d:\d\d pamproxy-demo\n")
        self.assertRegex(out, r"\s%d %s\n" % (FILE_MB << 20, re.escape(name)))

        # The denied command, with the proxy's reason as the CLI prints it.
        self.assertIn("$ pamctl policies set demo-s3 --deny s3:DeleteBucket", out)
        self.assertIn("$ aws s3 rb s3://pamproxy-demo", out)
        self.assertRegex(out, r"An error occurred \(AccessDenied\) when calling the DeleteBucket "
                              r"operation( \(reached max retries: \d+\))?: s3:DeleteBucket is denied on record 'demo-s3' by the "
                              r"rule 'deny s3:DeleteBucket'")

        # The session report names who, which record, and every command.
        report = out[out.index("$ pamctl sessions show"):]
        self.assertRegex(report, r"user:     u-[a-z0-9]+ \(token PAM")
        self.assertRegex(report, r"record:   demo-s3 \(")
        for cmd in ["aws s3 mb", "aws s3 cp", "aws s3 ls", "aws s3 rb"]:
            self.assertIn(cmd, report)
        self.assertRegex(report, r"DeleteBucket +DENIED +s3:DeleteBucket is denied")
        self.assertRegex(report, r"aws s3 cp -> s3://pamproxy-demo/%s\n +PutObject +200 +in %d\.0 MiB\n"
                         % (re.escape(name), FILE_MB))
        # The upload's bytes, exactly: the only request with a body.
        self.assertRegex(report, r"requests: \d+ \(1 denied\), bytes in %d," % (FILE_MB << 20))

        # The audit trail verifies.
        verify = out[out.index("$ pamctl audit verify"):]
        self.assertRegex(verify, r"\n    .*/audit: valid: \d+ file")
        return out

    def test_demo_walks_the_instructions_and_cleans_up(self):
        r = run_demo()
        out = self.check_walk(r)
        work = re.search(r"^demo: working in (\S+)", out, re.M).group(1)
        self.assertIn("Everything is stopped and %s removed" % work, out)
        self.assertFalse(os.path.exists(work))

    def test_keep_leaves_a_working_stack_and_says_how_to_stop_it(self):
        r = run_demo("--keep")
        stop = re.search(r"^  (kill (\d+) (\d+); rm -rf (\S+))$", r.stdout, re.M)
        if stop:
            pids = [int(stop.group(2)), int(stop.group(3))]
            self.addCleanup(shutil.rmtree, stop.group(4), ignore_errors=True)
            self.addCleanup(self.kill_all, pids)
        self.check_walk(r)
        self.assertIsNotNone(stop, r.stdout)
        work = stop.group(4)
        self.assertTrue(all(alive(p) for p in pids))

        # The printed exports work as printed: the user's AWS CLI still reaches the bucket.
        user = r.stdout[r.stdout.index("As the user"):r.stdout.index("To stop it all:")]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "PAMCTL_")) and
               k.lower() not in ("https_proxy", "http_proxy")}
        script = "\n".join(line.strip() for line in user.splitlines()[1:]) + \
            "\nexec /usr/bin/aws s3 ls s3://pamproxy-demo\n"
        ls = subprocess.run(["bash", "-euc", script], env=env, capture_output=True, text=True,
                            timeout=120)
        self.assertEqual(ls.returncode, 0, ls.stderr)
        self.assertIn("demo-%dMiB.bin" % FILE_MB, ls.stdout)

        # And the admin's lines reach the admin API.
        admin = r.stdout[r.stdout.index("As the admin:"):r.stdout.index("As the user")]
        script = "\n".join(line.strip() for line in admin.splitlines()[1:]) + \
            "\nexec %s settings get proxy.enabled\n" % shlex.quote(PAMCTL)
        got = subprocess.run(["bash", "-euc", script], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual((got.returncode, got.stdout.strip()), (0, "true"), got.stderr)

        # The printed stop command stops everything and removes the files.
        done = subprocess.run(["bash", "-euc", stop.group(1)], capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        deadline = time.monotonic() + 20
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)  # the processes are not our children: nothing to wait on
        self.assertFalse(any(alive(p) for p in pids))
        self.assertFalse(os.path.exists(work))

    @staticmethod
    def kill_all(pids):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    unittest.main()
