"""The web console in a real browser: pamproxyd serves it on the admin listener; a user and a
token made through the API sign in with Debian's chromium (driven by puppeteer-core, checked by
axe-core) in console/browser_test.mjs, which checks the security headers, the session cookie,
My Profile, CSRF refusals, markup shown as text and sign-out; console/browser_people_test.mjs
walks an engineer's whole day in two browser contexts: she downloads the appliance certificate,
creates a token and copies its exports, an approver grants her access request, the real AWS CLI
runs through the proxy with exactly those exports against the AWS stand-in (tests/node), and
she, then an admin, read the session's commands in the Sessions screen, the admin seeing the
audit chain verified and the requests on the dashboard; she finds her records, stars one, and
stays signed in while pamproxyd restarts; the admin disables her and her AWS CLI and console are
refused; the bootstrap admin walks the
administration screens (Settings / Parameters, Record types, Records) in
console/browser_admin_test.mjs. Screenshots land in $CONSOLE_SCREENSHOTS (the build's test
output directory)."""

import os
import subprocess
import threading
import unittest

from admin_api import AdminAppliance
from aws_front import AwsFront, RecordKeys, TestCA
from harness import SOURCE_ROOT, TempDir

SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_test.mjs")
PEOPLE_SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_people_test.mjs")
ADMIN_SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_admin_test.mjs")
RECORD_KEYS = RecordKeys("AKIACONSOLEPEOPLE001", "consolePeopleSecret/0123456789abcdefghij")
AWS_HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "s3.amazonaws.com"]


@unittest.skipIf(os.environ.get("CONSOLE_BUILT") == "0",
                 "this build has no web console (-Dconsole=disabled or no console/node_modules)")
class Console(unittest.TestCase):
    def setUp(self):
        self.app = AdminAppliance()

    def tearDown(self):
        self.app.stop()

    def test_sign_in_profile_csrf_and_sign_out_in_chromium(self):
        status, user = self.app.call("POST", "users", {"name": "alice"})
        self.assertEqual(status, 201, user)
        status, token = self.app.call("POST", "tokens", {
            "name": "<img src=x onerror=alert(1)>", "user_id": user["id"]})
        self.assertEqual(status, 201, token)
        status, ca_pem = self.app.call("GET", "ca.pem", token=None)
        self.assertEqual(status, 200)
        ca_file = self.app.tmp.file("api-ca.pem", ca_pem)
        env = dict(os.environ,
                   CONSOLE_URL="https://127.0.0.1:%d" % self.app.admin_port,
                   TOKEN_ID=token["id"], TOKEN_SECRET=token["secret"], CA_FILE=ca_file,
                   SCREENSHOT_DIR=os.environ.get("CONSOLE_SCREENSHOTS",
                                                 os.path.join(self.app.tmp.path, "shots")))
        r = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True, timeout=50)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The session cookie never reaches the log.
        self.app.daemon.wait_event_or_seen("admin.console_signed_out")
        log = "\n".join(str(line) for line in self.app.daemon.seen)
        self.assertNotIn("__Host-pamproxy", log)

    def test_an_engineers_day_from_sign_in_to_her_session_report(self):
        # The AWS stand-in, reached through the proxy's resolve overrides.
        front_dir = TempDir()
        self.addCleanup(front_dir.cleanup)
        ca = TestCA(front_dir.path)
        front = AwsFront(front_dir.path, ca, [RECORD_KEYS], names=AWS_HOSTS + ["localhost"])
        front.__enter__()
        self.addCleanup(front.__exit__, None, None, None)
        self.app.stop()
        resolve = ", ".join('{ host = "%s", address = "127.0.0.1:%d" }' % (h, front.port)
                            for h in AWS_HOSTS)
        self.app = AdminAppliance('[upstream]\nresolve = [%s]\n[tls]\nupstream_ca_file = "%s"\n'
                                  % (resolve, ca.cert_path))

        def made(r, code=201):
            self.assertEqual(r[0], code, r[1])
            return r[1]
        made(self.app.call("PATCH", "settings", {"proxy.enabled": True}), 200)
        made(self.app.call("POST", "record-types/aws-access-keys/enable"), 200)
        approvers = made(self.app.call("POST", "roles", {"name": "approvers"}))
        user = made(self.app.call("POST", "users", {"name": "alice"}))
        approver = made(self.app.call("POST", "users", {"name": "bob"}))
        made(self.app.call("PUT", "roles/%s/members/%s" % (approvers["id"], approver["id"])), 200)
        record = made(self.app.call("POST", "records", {
            "name": "billing", "access_key_id": RECORD_KEYS.access_key_id,
            "secret_access_key": RECORD_KEYS.secret_access_key}))
        made(self.app.call("PUT", "records/%s/policy" % record["id"], {
            "approval": {"required": True, "approver_role_id": approvers["id"],
                         "max_duration_s": 86400}}), 200)
        made(self.app.call("POST", "grants", {"user_id": user["id"], "record_id": record["id"],
                                              "permissions": ["view", "connect"]}))
        # One more record she may view, and one she may not.
        logs = made(self.app.call("POST", "records", {
            "name": "logs", "access_key_id": RECORD_KEYS.access_key_id,
            "secret_access_key": RECORD_KEYS.secret_access_key, "tags": ["ops"]}))
        made(self.app.call("POST", "grants", {"user_id": user["id"], "record_id": logs["id"],
                                              "permissions": ["view"]}))
        made(self.app.call("POST", "records", {
            "name": "payroll", "access_key_id": RECORD_KEYS.access_key_id,
            "secret_access_key": RECORD_KEYS.secret_access_key}))
        user_token = made(self.app.call("POST", "tokens", {"name": "web", "user_id": user["id"]}))
        approver_token = made(self.app.call("POST", "tokens", {"name": "web",
                                                               "user_id": approver["id"]}))
        status, ca_pem = self.app.call("GET", "ca.pem", token=None)
        self.assertEqual(status, 200)
        home = os.path.join(self.app.tmp.path, "home", "alice")
        os.makedirs(os.path.join(home, ".aws"))
        aws_config = self.app.tmp.file("aws-config", "[default]\ns3 =\n  addressing_style = path\n")
        env = dict(os.environ,
                   CONSOLE_URL="https://127.0.0.1:%d" % self.app.admin_port,
                   CA_FILE=self.app.tmp.file("api-ca.pem", ca_pem), RECORD=record["name"],
                   VIEW_RECORD="logs", HIDDEN_RECORD="payroll",
                   USER_TOKEN=user_token["bearer"], APPROVER_TOKEN=approver_token["bearer"],
                   ADMIN_TOKEN=self.app.admin_token, USER_HOME=home, AWS_CLI_CONFIG=aws_config,
                   SCREENSHOT_DIR=os.environ.get("CONSOLE_SCREENSHOTS",
                                                 os.path.join(self.app.tmp.path, "shots")))
        returncode, out, err = self.run_restarting(PEOPLE_SCRIPT, env, 300)
        print(out)
        self.assertEqual(returncode, 0, out + err)
        self.assertIn("RESTART_PAMPROXYD", out)
        # Disabled in the console: the API says so, and kept her tokens.
        status, alice = self.app.call("GET", "users/" + user["id"])
        self.assertEqual((status, alice["disabled"]), (200, True), alice)
        status, tokens = self.app.call("GET", "tokens?user=" + user["id"])
        self.assertFalse(next(t for t in tokens["items"] if t["id"] == user_token["id"])["revoked"])
        # The approval is the API's, not only the screen's.
        status, requests = self.app.call("GET", "requests")
        self.assertEqual(status, 200, requests)
        self.assertEqual([(q["state"], q["decided_by"], q["decision_note"])
                          for q in requests["items"]],
                         [("approved", approver["id"], "ok for today")])
        # The CLI's requests reached the stand-in, re-signed with the record's keys.
        self.assertTrue(any(q.get("method") == "PUT" for q in front.requests()), front.requests())

    def run_restarting(self, script, env, timeout_s):
        """Runs a browser test that may print RESTART_PAMPROXYD: pamproxyd is restarted (same
        configuration, database and ports) and the script told so by a line on its stdin.
        Returns (exit status, stdout, stderr)."""
        proc = subprocess.Popen(["node", script], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            out = []
            for line in proc.stdout:
                out.append(line)
                if line.strip() == "RESTART_PAMPROXYD":
                    self.app.restart()
                    proc.stdin.write("restarted\n")
                    proc.stdin.flush()
            err = proc.stderr.read()
            proc.wait()
        finally:
            timer.cancel()
        return proc.returncode, "".join(out), err

    def test_admin_enables_the_proxy_and_the_type_and_adds_a_record_in_chromium(self):
        token_id, secret = self.app.admin_token.split(":", 1)
        status, ca_pem = self.app.call("GET", "ca.pem", token=None)
        self.assertEqual(status, 200)
        env = dict(os.environ,
                   CONSOLE_URL="https://127.0.0.1:%d" % self.app.admin_port,
                   TOKEN_ID=token_id, TOKEN_SECRET=secret,
                   CA_FILE=self.app.tmp.file("api-ca.pem", ca_pem),
                   SCREENSHOT_DIR=os.environ.get("CONSOLE_SCREENSHOTS",
                                                 os.path.join(self.app.tmp.path, "shots")))
        r = subprocess.run(["node", ADMIN_SCRIPT], env=env, capture_output=True, text=True,
                           timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_turned_off_the_console_answers_404(self):
        self.app.stop()
        self.app = AdminAppliance("[console]\nenabled = false\n")
        status, _, _ = self.app.raw("GET", "/")
        self.assertEqual(status, 404)
        status, _ = self.app.call("POST", "console/session", {"token_id": "x", "secret": "y"},
                                  token=None)
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
