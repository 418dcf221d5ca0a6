"""The web console in a real browser: pamproxyd serves it on the admin listener; a user and a
token made through the API sign in with Debian's chromium (driven by puppeteer-core, checked by
axe-core) in console/browser_test.mjs, which checks the security headers, the session cookie,
My Profile, CSRF refusals, markup shown as text and sign-out; the bootstrap admin walks the
administration screens (Settings / Parameters, Record types, Records) in
console/browser_admin_test.mjs. Screenshots land in $CONSOLE_SCREENSHOTS (the build's test output
directory)."""

import os
import subprocess
import unittest

from admin_api import AdminAppliance
from harness import SOURCE_ROOT

SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_test.mjs")
ADMIN_SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_admin_test.mjs")


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
                           timeout=120)
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
