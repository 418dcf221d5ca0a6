"""pamctl's sign-in through a real OpenID provider (tests/node/oidc_provider.js: the oidc-provider
package, its own pages, the device flow and refresh tokens) and the real AWS CLI through the proxy
to the AWS stand-in with the token it gets. Device flow: `pamctl login --device` prints the code,
the provider's pages are filled as a person would (plain HTTP forms), login.json is 0600, and
`aws --profile` works through credential_process. With [identity] cli_recheck_s = 0 every aws
command renews the token through the provider: removed from her group there, the next command is
refused by the proxy; disabled there, credential_process fails with the provider's refusal.
Browser flow: `pamctl login` with BROWSER set to a script that hands the URL over, which Debian's
chromium (console/browser_cli_login.mjs) follows through the provider's pages to pamctl's
listener on 127.0.0.1. The refusals: a replayed exchange code, a wrong verifier, an
unknown device handle, a cli_port that is not a port."""

import base64
import hashlib
import html.parser
import json
import os
import signal
import stat
import subprocess
import time
import unittest
import urllib.parse

import requests

from admin_api import AdminAppliance
from aws_front import AwsFront, RecordKeys, TestCA
from harness import PAMCTL, SOURCE_ROOT, TempDir
from test_identity_browser import NodeProvider

AWS = "/usr/bin/aws"  # Debian's AWS CLI v2 (another `aws` may come first on PATH)
BROWSER_SCRIPT = os.path.join(SOURCE_ROOT, "console", "browser_cli_login.mjs")
# The browser part in Debian's chromium (puppeteer-core from console/node_modules) where the
# build has the console; else the same pages as plain HTTP forms.
CHROMIUM = os.environ.get("CONSOLE_BUILT") != "0" and os.path.isdir(
    os.path.join(SOURCE_ROOT, "console", "node_modules", "puppeteer-core"))
RECORD_KEYS = RecordKeys("AKIAIDENTITYCLI00001", "identityCliSecret/0123456789abcdefghijk")
AWS_HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "s3.amazonaws.com"]


class FirstForm(html.parser.HTMLParser):
    """The first <form> of a page: its action, method and inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.method = "get"
        self.fields = {}
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
            self.method = a.get("method", "get").lower()
            self.depth = 1
        elif tag == "input" and self.depth and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth = 0


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdentityCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir()
        ca = TestCA(cls.tmp.path)
        cls.front = AwsFront(cls.tmp.path, ca, [RECORD_KEYS], names=AWS_HOSTS + ["localhost"])
        cls.front.__enter__()
        resolve = ", ".join('{ host = "%s", address = "127.0.0.1:%d" }' % (h, cls.front.port)
                            for h in AWS_HOSTS)
        cls.app = AdminAppliance('[upstream]\nresolve = [%s]\n[tls]\nupstream_ca_file = "%s"\n'
                                 % (resolve, ca.cert_path))
        cls.admin_url = "https://127.0.0.1:%d" % cls.app.admin_port
        cls.provider = NodeProvider(cls.tmp.path, cls.admin_url + "/auth/oidc/callback")
        secret = cls.tmp.file("client-secret", "s3cret\n")
        with open(cls.app.config, "a") as f:
            f.write('\n[identity]\nenabled = true\nissuer = "%s"\nclient_id = "pamproxy"\n'
                    'client_secret_file = "%s"\nca_file = "%s"\nconsole_url = "%s"\n'
                    'scopes = ["openid", "email", "profile", "groups"]\n'
                    'provider_timeout_ms = 5000\ncli_recheck_s = 0\n' % (
                        cls.provider.issuer, secret, cls.provider.tls["ca"], cls.admin_url))
        cls.app.daemon.signal(signal.SIGHUP)
        cls.app.daemon.wait_event("config.reloaded")
        status, ca_pem = cls.app.call("GET", "ca.pem", token=None)
        assert status == 200
        cls.api_ca = cls.tmp.file("api-ca.pem", ca_pem)
        with open(cls.provider.tls["ca"]) as f:
            cls.both_cas = cls.tmp.file("both-ca.pem", ca_pem + f.read())

        def made(r, code=201):
            assert r[0] == code, r
            return r[1]
        made(cls.app.call("PATCH", "settings", {"proxy.enabled": True}), 200)
        made(cls.app.call("POST", "record-types/aws-access-keys/enable"), 200)
        role = made(cls.app.call("POST", "roles", {"name": "operators"}))
        made(cls.app.call("POST", "group-roles", {"group": "pam-ops", "role_id": role["id"]}))
        record = made(cls.app.call("POST", "records", {
            "name": "billing", "access_key_id": RECORD_KEYS.access_key_id,
            "secret_access_key": RECORD_KEYS.secret_access_key}))
        made(cls.app.call("POST", "grants", {"role_id": role["id"], "record_id": record["id"],
                                             "permissions": ["view", "connect"]}))

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()
        cls.provider.stop()
        cls.front.__exit__(None, None, None)
        cls.tmp.cleanup()

    def setUp(self):
        self.set_user(groups=["pam-ops"], disabled=False)
        self.home = os.path.join(self.tmp.path, "home-" + self._testMethodName)
        os.makedirs(self.home)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "PAMCTL_", "XDG_")) and
                    k.lower() not in ("https_proxy", "http_proxy", "curl_ca_bundle",
                                      "ssl_cert_file", "requests_ca_bundle")}
        self.env.update({"HOME": self.home, "AWS_EC2_METADATA_DISABLED": "true",
                         "AWS_DEFAULT_REGION": "us-east-1",
                         "AWS_CONFIG_FILE": os.path.join(self.home, "aws-config")})

    def set_user(self, **change):
        with requests.Session() as session:
            session.trust_env = False  # loopback only, never through a proxy from the environment
            r = session.post(self.provider.issuer + "/test/user", json=change,
                             verify=self.provider.tls["ca"], timeout=10)
        self.assertEqual(r.status_code, 200, r.text)

    def fill_provider_pages(self, session, response, stop_at=None):
        """Submits each page's first form (the person's login where it asks for one) until a
        page has none, or a redirect leaves for `stop_at`; the last response."""
        for _ in range(10):
            if response.is_redirect:
                location = urllib.parse.urljoin(response.url, response.headers["Location"])
                if stop_at and location.startswith(stop_at):
                    return location
                response = session.get(location, allow_redirects=False)
                continue
            form = FirstForm()
            form.feed(response.text)
            if form.action is None:
                return response
            fields = dict(form.fields)
            if "login" in fields or "password" in fields:
                fields.update({"login": "ada", "password": "any"})
            if "user_code" in fields and not fields["user_code"]:
                self.fail("the provider asks for the user code: %s" % response.text[:500])
            action = urllib.parse.urljoin(response.url, form.action)
            response = session.request(form.method.upper(), action, data=fields,
                                       allow_redirects=False)
        self.fail("the provider's pages did not end")

    def pamctl(self, *args, **kw):
        return subprocess.run([PAMCTL, *args], env=self.env, capture_output=True, text=True,
                              timeout=kw.get("timeout", 60))

    def aws(self, *args):
        env = dict(self.env, HTTPS_PROXY="http://127.0.0.1:%d" % self.app.proxy_port)
        return subprocess.run([AWS, "--profile", "pam", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    def login_json(self):
        path = os.path.join(self.home, ".config", "pamctl", "login.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        with open(path) as f:
            return json.load(f)

    def test_device_flow_then_the_aws_cli_until_the_provider_drops_her(self):
        proc = subprocess.Popen([PAMCTL, "login", "--device", "--admin", self.admin_url,
                                 "--ca", self.api_ca], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()
            self.assertIn("enter the code", first)
            complete = proc.stdout.readline().strip()
            self.assertTrue(complete.startswith("(or open https://"), complete)
            url = complete[len("(or open "):-1]
            session = requests.Session()
            session.trust_env = False
            session.verify = self.provider.tls["ca"]
            last = self.fill_provider_pages(session, session.get(url, allow_redirects=False))
            self.assertIn("Sign-in Success", last.text)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("Signed in as Ada Lovelace until ", out)
        login = self.login_json()
        self.assertNotIn(login["secret"], first + out + err)
        self.assertNotIn(login["refresh"], first + out + err)

        r = self.pamctl("aws-profile", "pam", "--record", "billing", "--login", "--ca",
                        self.app.ca_file, "--proxy", "127.0.0.1:%d" % self.app.proxy_port)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.env["AWS_CONFIG_FILE"]) as f:
            written = f.read()
        self.assertIn("credential-process --record 'billing' --login", written)
        self.assertNotIn(login["secret"], written)

        listed = self.aws("s3", "ls")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        # cli_recheck_s = 0: that command renewed the token, and the first one is revoked.
        renewed = self.login_json()
        self.assertNotEqual(renewed["token_id"], login["token_id"])
        status, old = self.app.call("GET", "tokens/" + login["token_id"])
        self.assertEqual(status, 200, old)
        self.assertIsNotNone(old.get("revoked_at"), old)

        # Out of the group at the provider: the next command's refresh takes the role away.
        self.set_user(groups=[])
        denied = self.aws("s3", "ls")
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("AccessDenied", denied.stderr)

        # Disabled at the provider: no token at all, and why.
        self.set_user(groups=["pam-ops"], disabled=True)
        refused = self.aws("s3", "ls")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("the identity provider refused to renew this sign-in", refused.stderr)
        self.assertIn("pamctl login", refused.stderr)
        status, last = self.app.call("GET", "tokens/" + self.login_json()["token_id"])
        self.assertEqual(status, 200, last)
        self.assertIsNotNone(last.get("revoked_at"), last)

    def browser_code(self, challenge, port=45678):
        """The appliance's one-time code after a browser sign-in started with `challenge`."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.both_cas
        start = session.get(self.admin_url + "/auth/oidc/start",
                            params={"cli_port": str(port), "cli_challenge": challenge},
                            allow_redirects=False)
        self.assertEqual(start.status_code, 302, start.text)
        back = self.fill_provider_pages(session, start,
                                        stop_at="http://127.0.0.1:%d/callback?" % port)
        self.assertIsInstance(back, str, "no redirect to pamctl's listener")
        return urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]

    def test_browser_flow_and_the_refusals(self):
        # pamctl login with a browser: BROWSER hands the URL to this test, which plays the
        # browser up to pamctl's listener on 127.0.0.1.
        url_file = os.path.join(self.home, "browser-url")
        browser = os.path.join(self.home, "browser.sh")
        with open(browser, "w") as f:
            f.write('#!/bin/sh\nprintf %%s "$1" > %s.tmp && mv %s.tmp %s\n' % (
                url_file, url_file, url_file))
        os.chmod(browser, 0o755)
        env = dict(self.env, BROWSER=browser)
        proc = subprocess.Popen([PAMCTL, "login", "--admin", self.admin_url, "--ca", self.api_ca],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            deadline = time.time() + 20
            while not os.path.exists(url_file) and time.time() < deadline:
                time.sleep(0.1)
            with open(url_file) as f:
                url = f.read()
            self.assertTrue(url.startswith(self.admin_url + "/auth/oidc/start?cli_port="), url)
            if CHROMIUM:
                env = dict(os.environ, START_URL=url, CONSOLE_URL=self.admin_url,
                           CA_FILE=self.api_ca, IDP_LOGIN="ada", IDP_PASSWORD="any")
                r = subprocess.run(["node", BROWSER_SCRIPT], env=env, capture_output=True,
                                   text=True, timeout=60)
                print(r.stdout)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            else:
                session = requests.Session()
                session.trust_env = False
                session.verify = self.both_cas
                last = self.fill_provider_pages(session, session.get(url, allow_redirects=False))
                self.assertIn("go back to the terminal", last.text)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(url, out)  # always printed
        self.assertIn("Signed in as Ada Lovelace", out)
        self.assertTrue(self.login_json()["token_id"])

        # A code is spent by its first exchange; a wrong verifier spends it too.
        verifier = b64url(os.urandom(32))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        code = self.browser_code(challenge)
        status, answer = self.app.call("POST", "auth/cli/exchange",
                                       {"code": code, "verifier": verifier}, token=None)
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["secret"] and answer["refresh"])
        status, replayed = self.app.call("POST", "auth/cli/exchange",
                                         {"code": code, "verifier": verifier}, token=None)
        self.assertEqual(status, 400, replayed)
        self.assertIn("already used", replayed["error"]["message"])
        code = self.browser_code(challenge)
        status, wrong = self.app.call("POST", "auth/cli/exchange",
                                      {"code": code, "verifier": b64url(os.urandom(32))},
                                      token=None)
        self.assertEqual(status, 400, wrong)
        self.assertEqual(wrong["error"]["code"], "InvalidVerifier")
        status, unknown = self.app.call("POST", "auth/device/poll", {"handle": "no-such"},
                                        token=None)
        self.assertEqual(status, 404, unknown)
        self.assertIn("device sign-in is unknown", unknown["error"]["message"])
        status, _, text = self.app.raw(
            "GET", "/auth/oidc/start?cli_port=99999&cli_challenge=" + challenge)
        self.assertEqual(status, 400, text)
        self.assertIn("cli_port: expected a port number", text)

        # Signing out revokes the token and forgets the login.
        token_id = self.login_json()["token_id"]
        r = self.pamctl("logout")
        self.assertEqual(r.returncode, 0, r.stderr)
        status, token = self.app.call("GET", "tokens/" + token_id)
        self.assertIsNotNone(token.get("revoked_at"), token)
        self.assertFalse(os.path.exists(os.path.join(self.home, ".config", "pamctl",
                                                     "login.json")))


if __name__ == "__main__":
    unittest.main()
