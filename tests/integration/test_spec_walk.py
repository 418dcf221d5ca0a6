"""SPEC.md's "Instructions", steps 1 to 9, done with pamctl against a fresh appliance over its
HTTPS admin API, ending with the four environment variables a user exports, and the AWS CLI
using them. The upstream is the SigV4-checking stand-in for AWS (tests/node/aws_front.js), which
accepts only requests signed with the record's keys: the user never holds them.

Beats step 3 ("restart and wait 2 minutes"): the setting is live at once, in the same daemon."""

import json
import os
import shlex
import subprocess
import time
import unittest

from aws_front import AwsFront, RecordKeys, TestCA, appliance_config
from harness import PAMCTL, Daemon, TempDir
from tls_upstream import free_port

AWS = "/usr/bin/aws"
RECORD = RecordKeys("AKIASPECWALK00000001", "specWalkSecretKey/0123456789abcdefghijkl")
HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "sts.amazonaws.com",
         "sts.us-east-1.amazonaws.com", "s3.amazonaws.com"]


class SpecWalk(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.ca = TestCA(self.tmp.path)
        self.front = AwsFront(self.tmp.path, self.ca, [RECORD], names=HOSTS + ["localhost"])
        self.front.__enter__()
        self.state = os.path.join(self.tmp.path, "state")
        self.proxy_port, self.admin_port = free_port(), free_port()
        self.config = self.tmp.file("p.toml", appliance_config(
            self.front, self.ca.cert_path, HOSTS, self.state, self.proxy_port, self.admin_port))
        self.daemon = Daemon(["--config", self.config], cwd=self.tmp.path)
        self.daemon.wait_event("daemon.ready")
        self.home = os.path.join(self.tmp.path, "home")
        os.makedirs(self.home)

    def tearDown(self):
        try:
            self.daemon.stop()
        finally:
            self.front.__exit__(None, None, None)
            self.tmp.cleanup()

    def pamctl(self, *args, token=None, ok=True):
        """Runs pamctl as the admin (the bootstrap token, as its banner says) or as `token`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAMCTL_", "AWS_"))}
        env["HOME"] = self.home
        env["PAMCTL_URL"] = "https://127.0.0.1:%d" % self.admin_port
        env["PAMCTL_CA"] = os.path.join(self.state, "ca", "ca.pem")
        if token is None:
            with open(os.path.join(self.state, "bootstrap-admin-token")) as f:
                token = f.read().strip()
        if token:
            env["PAMCTL_TOKEN"] = token
        r = subprocess.run([PAMCTL] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, "pamctl %s: %s%s" % (args, r.stdout, r.stderr))
        return r

    def aws(self, exports, *args):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy")}
        env.update(exports)
        env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
                    "AWS_CONFIG_FILE": self.tmp.file("aws-config", "[default]\n"),
                    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_EC2_METADATA_DISABLED": "true", "HOME": self.home})
        return subprocess.run([AWS] + list(args), env=env, capture_output=True, text=True,
                              timeout=120)

    def test_instructions_steps_1_to_9(self):
        # Step 1: the proxy starts disabled; the admin enables it.
        settings = json.loads(self.pamctl("settings", "get", "--json").stdout)
        self.assertEqual(settings, {"proxy.enabled": False})
        self.pamctl("settings", "set", "proxy.enabled", "true")
        # Step 3, beaten: no restart; the next step already runs against the new setting.
        self.assertEqual(json.loads(self.pamctl("settings", "get", "--json").stdout),
                         {"proxy.enabled": True})

        # Step 4: the record type, disabled until enabled; a record cannot be added before.
        secret_file = self.tmp.file("secret-key", RECORD.secret_access_key + "\n")
        early = self.pamctl("records", "add", "--name", "prod-billing", "--access-key-id",
                            RECORD.access_key_id, "--secret-key-file", secret_file, ok=False)
        self.assertEqual(early.returncode, 1)
        self.assertIn("record-types enable aws-access-keys", early.stderr)
        self.pamctl("record-types", "enable", "aws-access-keys")
        types = json.loads(self.pamctl("record-types", "list", "--json").stdout)
        self.assertIn({"name": "aws-access-keys", "enabled": True}, types["items"])

        # Steps 5-7: the record: a name (required), a description, the access key id, and the
        # raw secret key (read from a file, never from the command line).
        rec = json.loads(self.pamctl(
            "records", "add", "--name", "prod-billing", "--description", "billing exports",
            "--access-key-id", RECORD.access_key_id, "--secret-key-file", secret_file,
            "--json").stdout)
        self.assertEqual(rec["name"], "prod-billing")
        self.assertTrue(rec["secret_access_key_set"])
        shown = self.pamctl("records", "show", "prod-billing")
        self.assertIn(RECORD.access_key_id, shown.stdout)
        self.assertNotIn(RECORD.secret_access_key, shown.stdout + shown.stderr)

        # Step 8: a user with Connect permission on the record, and their REST API token.
        user = json.loads(self.pamctl("users", "add", "alice", "--json").stdout)
        self.pamctl("grants", "add", "--user", user["id"], "--record", rec["id"],
                    "--permissions", "view,connect")
        token_file = os.path.join(self.home, "pam-token")
        self.pamctl("tokens", "create", "laptop", "--user", user["id"], "--save", token_file)
        self.assertEqual(os.stat(token_file).st_mode & 0o777, 0o600)
        with open(token_file) as f:
            bearer = f.read().strip()
        token_id, _, secret = bearer.partition(":")

        # The user: downloads the certificate (no token needed), checks who they are.
        ca_file = os.path.join(self.home, "pam-ca.pem")
        self.pamctl("ca", "export", ca_file, token="")
        with open(ca_file) as f, open(os.path.join(self.state, "ca", "ca.pem")) as g:
            self.assertEqual(f.read(), g.read())
        who = json.loads(self.pamctl("whoami", "--json", token=bearer).stdout)
        self.assertEqual(who["user"]["name"], "alice")

        # Step 9: the four variables, by record name (a search) as SPEC.md allows.
        out = self.pamctl("env", "--record", "prod-billing", "--token-file", token_file,
                          "--proxy", "127.0.0.1:%d" % self.proxy_port, "--ca", ca_file).stdout
        exports = {}
        for line in out.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                exports[name] = shlex.split(value)[0]
        self.assertEqual(set(exports), {"HTTPS_PROXY", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID",
                                        "AWS_SECRET_ACCESS_KEY"})
        self.assertEqual(exports["AWS_ACCESS_KEY_ID"], token_id + "#prod-billing")
        self.assertEqual(exports["AWS_SECRET_ACCESS_KEY"], secret)
        self.assertNotIn(RECORD.secret_access_key, out)

        # Without --ca, the CA pamctl already trusts for the admin API is the one to use.
        out2 = self.pamctl("env", "--record", "prod-billing", "--token-file", token_file,
                           "--proxy", "127.0.0.1:%d" % self.proxy_port).stdout
        self.assertIn("export AWS_CA_BUNDLE='%s'" % os.path.join(self.state, "ca", "ca.pem"), out2)
        missing = self.pamctl("env", "--record", "prod-billing", "--token-file", token_file,
                              "--ca", os.path.join(self.home, "nope.pem"), ok=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("pamctl ca export", missing.stderr)

        # And the AWS CLI works through the appliance with them, holding no AWS key.
        r = self.aws(exports, "sts", "get-caller-identity")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("123456789012", r.stdout)
        r = self.aws(exports, "s3", "mb", "s3://spec-walk")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.aws(exports, "s3", "ls")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("spec-walk", r.stdout)
        self.assertTrue(self.front.requests(), "the stand-in for AWS saw nothing")

        # Settings apply live both ways: disabling refuses the next command at once.
        self.pamctl("settings", "set", "proxy.enabled", "false")
        r = self.aws(exports, "s3", "ls")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("disabled", r.stderr)

        # The session report and the audit trail, through the API: the user sees her session,
        # the admin sees everything; the audit log is the admin's.
        deadline = time.monotonic() + 20
        while True:  # the session indexer follows the log every 500 ms
            listed = json.loads(self.pamctl("sessions", "list", "--json", token=bearer).stdout)
            if listed["items"] and listed["items"][0]["requests"] >= 3:
                break
            self.assertLess(time.monotonic(), deadline, listed)
            time.sleep(0.2)
        session = listed["items"][0]
        self.assertEqual((session["user"], session["user_name"], session["record_name"]),
                         (user["id"], "alice", "prod-billing"))
        table = self.pamctl("sessions", "list").stdout
        self.assertIn("alice", table)
        report = self.pamctl("sessions", "show", session["id"], token=bearer).stdout
        for needle in ("aws sts get-caller-identity", "aws s3 mb", "aws s3 ls", "CreateBucket"):
            self.assertIn(needle, report)
        self.assertIn("  user:     alice (%s, token " % user["id"], report)
        self.assertIn("  record:   prod-billing (", report)
        admin_view = json.loads(self.pamctl("sessions", "list", "--user", user["id"],
                                            "--json").stdout)
        self.assertEqual([x["id"] for x in admin_view["items"]], [session["id"]])
        events = json.loads(self.pamctl("audit", "search", "--type", "request.completed",
                                        "--json").stdout)["items"]
        self.assertIn("CreateBucket", [e["eventName"] for e in events])
        self.assertTrue(all(e["user"] == user["id"] for e in events))
        denied = self.pamctl("audit", "search", token=bearer, ok=False)
        self.assertEqual(denied.returncode, 1)
        self.assertIn("Forbidden", denied.stderr)


if __name__ == "__main__":
    unittest.main()
