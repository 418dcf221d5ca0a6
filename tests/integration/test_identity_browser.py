"""Console sign-in through a real OpenID provider in a real browser: tests/node/oidc_provider.js
(the oidc-provider package over HTTPS, its own login and consent pages) with one client (the
appliance's redirect URI) and one person in a group mapped to a role with pamctl. Debian's
chromium (console/browser_identity_test.mjs) clicks "Sign in with your identity provider", fills
the provider's forms and lands in the console as that person, who then holds the role."""

import json
import os
import signal
import subprocess
import unittest

from admin_api import AdminAppliance
from harness import PAMCTL, SOURCE_ROOT, TempDir
from tls_upstream import make_ca_and_leaf

NODE_DIR = os.path.join(SOURCE_ROOT, "tests", "node")
SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_identity_test.mjs")


class NodeProvider:
    """tests/node/oidc_provider.js on a port of its own; `issuer` once it listens."""

    def __init__(self, directory, redirect_uri):
        self.tls = make_ca_and_leaf(directory)
        config = os.path.join(directory, "provider.json")
        with open(config, "w") as f:
            json.dump({
                "cert": self.tls["cert"], "key": self.tls["key"],
                "client": {"client_id": "pamproxy", "client_secret": "s3cret",
                           "redirect_uri": redirect_uri},
                "user": {"login": "ada", "email": "ada@example.com", "name": "Ada Lovelace",
                         "groups": ["pam-ops"]}}, f)
        self.proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "oidc_provider.js"), config],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     cwd=NODE_DIR)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise RuntimeError("oidc_provider.js exited with %s" % self.proc.returncode)
        self.issuer = json.loads(line)["issuer"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@unittest.skipIf(os.environ.get("CONSOLE_BUILT") == "0",
                 "this build has no web console (-Dconsole=disabled or no console/node_modules)")
class IdentityBrowser(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.app = AdminAppliance()
        self.console_url = "https://127.0.0.1:%d" % self.app.admin_port
        self.provider = NodeProvider(self.tmp.path, self.console_url + "/auth/oidc/callback")
        secret = self.tmp.file("client-secret", "s3cret\n")
        with open(self.app.config, "a") as f:
            f.write('\n[identity]\nenabled = true\nissuer = "%s"\nclient_id = "pamproxy"\n'
                    'client_secret_file = "%s"\nca_file = "%s"\nconsole_url = "%s"\n'
                    'scopes = ["openid", "email", "profile", "groups"]\n'
                    'provider_timeout_ms = 5000\n' % (
                        self.provider.issuer, secret, self.provider.tls["ca"], self.console_url))
        self.app.daemon.signal(signal.SIGHUP)
        self.app.daemon.wait_event("config.reloaded")

    def tearDown(self):
        self.app.stop()
        self.provider.stop()
        self.tmp.cleanup()

    def pamctl(self, *args):
        token = self.app.tmp.file("admin.token", self.app.admin_token + "\n")
        os.chmod(token, 0o600)
        r = subprocess.run([PAMCTL, *args, "--url", self.console_url, "--token-file", token,
                            "--ca", self.app.ca_file], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_sign_in_through_the_providers_pages_in_chromium(self):
        status, role = self.app.call("POST", "roles", {"name": "operators"})
        self.assertEqual(status, 201, role)
        self.pamctl("roles", "map-group", "pam-ops", role["id"])
        status, ca_pem = self.app.call("GET", "ca.pem", token=None)
        self.assertEqual(status, 200)
        env = dict(os.environ, CONSOLE_URL=self.console_url,
                   CA_FILE=self.app.tmp.file("api-ca.pem", ca_pem),
                   IDP_ISSUER=self.provider.issuer, IDP_LOGIN="ada", IDP_PASSWORD="any",
                   USER_NAME="Ada Lovelace",
                   SCREENSHOT_DIR=os.environ.get("CONSOLE_SCREENSHOTS",
                                                 os.path.join(self.app.tmp.path, "shots")))
        r = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True, timeout=90)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        user_id = r.stdout.strip().splitlines()[-1].removeprefix("user ")
        status, roles = self.app.call("GET", "roles")
        self.assertEqual(status, 200, roles)
        members = [x for x in roles["items"] if x["id"] == role["id"]][0]["members"]
        self.assertEqual(members, [user_id])


if __name__ == "__main__":
    unittest.main()
