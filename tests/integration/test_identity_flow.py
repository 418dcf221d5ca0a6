"""Console sign-in through an OpenID provider, over real HTTPS: pamproxyd against a small
provider written here (discovery, JWKS, authorization and token endpoints, RS256 ID tokens, PKCE
S256 checked, client_secret_basic checked), driven step by step as a browser would follow the
redirects. The first sign-in creates the user with her group's role (mapped with pamctl);
removed from the group she signs in again as the same user without the role; a provider that is
down sends the browser back to the sign-in page with provider_unreachable while token calls keep
working."""

import base64
import hashlib
import http.client
import json
import os
import signal
import ssl
import subprocess
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_api import AdminAppliance
from harness import PAMCTL, TempDir
from tls_upstream import free_port, make_ca_and_leaf


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """The provider: one client, one person whose groups the test changes."""

    def __init__(self, directory):
        self.tls = make_ca_and_leaf(directory)
        self.port = free_port()
        self.issuer = "https://127.0.0.1:%d" % self.port
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.groups = ["pam-ops"]
        self.codes = {}
        self.server = None
        # The device authorization endpoint answers once `release` is set; `asked` says it has
        # been asked.
        self.asked = threading.Event()
        self.release = threading.Event()

    def jwks(self):
        n = self.key.public_key().public_numbers()
        def num(i):
            return b64url(i.to_bytes((i.bit_length() + 7) // 8, "big"))
        return {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                          "n": num(n.n), "e": num(n.e)}]}

    def id_token(self, nonce):
        now = int(time.time())
        header = b64url(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        claims = b64url(json.dumps({
            "iss": self.issuer, "aud": "pamproxy", "sub": "00u-ada", "exp": now + 300,
            "iat": now, "nonce": nonce, "email": "ada@example.com", "name": "Ada Lovelace",
            "groups": self.groups}).encode())
        signature = self.key.sign((header + "." + claims).encode(), padding.PKCS1v15(),
                                  hashes.SHA256())
        return header + "." + claims + "." + b64url(signature)

    def start(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body=None, location=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self.answer(200, {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                        "device_authorization_endpoint": provider.issuer + "/device",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"]})
                if url.path == "/jwks":
                    return self.answer(200, provider.jwks())
                if url.path == "/authorize":
                    assert q["response_type"] == "code" and q["client_id"] == "pamproxy", q
                    assert q["code_challenge_method"] == "S256", q
                    assert "openid" in q["scope"].split(" "), q
                    code = b64url(os.urandom(16))
                    provider.codes[code] = q
                    return self.answer(302, location=q["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": q["state"]}))
                self.answer(404, {"error": "not_found"})

            def do_POST(self):
                form = dict(urllib.parse.parse_qsl(
                    self.rfile.read(int(self.headers["Content-Length"])).decode()))
                basic = "Basic " + base64.b64encode(b"pamproxy:s3cret").decode()
                if self.path == "/device" and self.headers.get("Authorization") == basic:
                    provider.asked.set()
                    provider.release.wait(20)
                    return self.answer(200, {
                        "device_code": "dc-1", "user_code": "WDJB-MJHT",
                        "verification_uri": provider.issuer + "/activate",
                        "expires_in": 600, "interval": 5})
                if self.path != "/token" or self.headers.get("Authorization") != basic:
                    return self.answer(401, {"error": "invalid_client"})
                asked = provider.codes.pop(form.get("code"), None)
                if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
                    return self.answer(400, {"error": "invalid_grant"})
                challenge = b64url(hashlib.sha256(form["code_verifier"].encode()).digest())
                if challenge != asked["code_challenge"]:
                    return self.answer(400, {"error": "invalid_grant",
                                             "error_description": "PKCE"})
                self.answer(200, {"access_token": "at", "token_type": "Bearer",
                                  "id_token": provider.id_token(asked["nonce"])})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class IdentitySignIn(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.provider = Provider(self.tmp.path)
        self.provider.start()
        secret = self.tmp.file("client-secret", "s3cret\n")
        self.app = AdminAppliance(extra_toml=(
            '[identity]\nenabled = true\nissuer = "%s"\nclient_id = "pamproxy"\n'
            'client_secret_file = "%s"\nca_file = "%s"\nconsole_url = "https://127.0.0.1:%d"\n'
            'provider_timeout_ms = 3000\n') % (
                self.provider.issuer, secret, self.provider.tls["ca"], 0))
        # console_url must name the admin listener, known only now: write it and reload.
        with open(self.app.config) as f:
            text = f.read().replace("https://127.0.0.1:0", "https://127.0.0.1:%d" %
                                    self.app.admin_port)
        with open(self.app.config, "w") as f:
            f.write(text)
        self.app.daemon.signal(signal.SIGHUP)
        self.app.daemon.wait_event("config.reloaded")

    def tearDown(self):
        self.app.stop()
        try:
            self.provider.stop()
        except Exception:
            pass
        self.tmp.cleanup()

    def appliance_get(self, path, cookie=None):
        conn = self.app.connection()
        try:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            r.read()
            return r.status, r.getheader("Location"), r.msg.get_all("Set-Cookie") or []
        finally:
            conn.close()

    def provider_get(self, url):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10,
                                           context=ssl.create_default_context(
                                               cafile=self.provider.tls["ca"]))
        try:
            conn.request("GET", u.path + "?" + u.query)
            r = conn.getresponse()
            r.read()
            return r.status, r.getheader("Location")
        finally:
            conn.close()

    def sign_in(self):
        """Follows the redirects as a browser does; returns the session cookie."""
        status, location, cookies = self.appliance_get("/auth/oidc/start")
        self.assertEqual(status, 302)
        self.assertTrue(location.startswith(self.provider.issuer + "/authorize?"), location)
        state_cookie = [c.split(";")[0] for c in cookies
                        if c.startswith("__Host-pamproxy-oidc=")]
        self.assertEqual(len(state_cookie), 1, cookies)
        self.assertIn("SameSite=Lax", cookies[0])
        status, back = self.provider_get(location)
        self.assertEqual(status, 302)
        callback = urllib.parse.urlsplit(back)
        self.assertEqual(callback.path, "/auth/oidc/callback")
        status, location, cookies = self.appliance_get(
            callback.path + "?" + callback.query, cookie=state_cookie[0])
        self.assertEqual((status, location), (302, "/"), cookies)
        session = [c.split(";")[0] for c in cookies if c.startswith("__Host-pamproxy=")]
        self.assertEqual(len(session), 1, cookies)
        # The same callback again: the sign-in was single use.
        status, location, _ = self.appliance_get(callback.path + "?" + callback.query,
                                                 cookie=state_cookie[0])
        self.assertEqual(location, "/?signin_error=expired")
        return session[0]

    def whoami(self, cookie):
        conn = self.app.connection()
        try:
            conn.request("GET", "/api/v1/console/session", headers={"Cookie": cookie})
            r = conn.getresponse()
            body = json.loads(r.read().decode())
            self.assertEqual(r.status, 200, body)
            return body["user"]
        finally:
            conn.close()

    def pamctl(self, *args):
        token = self.app.tmp.file("admin.token", self.app.admin_token + "\n")
        os.chmod(token, 0o600)
        r = subprocess.run([PAMCTL, *args, "--url", "https://127.0.0.1:%d" % self.app.admin_port,
                            "--token-file", token, "--ca", self.app.ca_file],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def members(self, role_id):
        status, roles = self.app.call("GET", "roles")
        self.assertEqual(status, 200, roles)
        return [r for r in roles["items"] if r["id"] == role_id][0]["members"]

    def test_a_provider_that_holds_a_call_holds_no_other_admin_call(self):
        """pamctl's device sign-in waits for the provider on the admin server's worker: while the
        provider holds it, the health endpoint (what a load balancer checks) answers at once, and
        the held call then gets the provider's answer."""
        held = {}
        caller = threading.Thread(
            target=lambda: held.update(answer=self.app.call("POST", "auth/device", token=None)))
        caller.start()
        try:
            self.assertTrue(self.provider.asked.wait(20), "the provider was never asked")
            began = time.monotonic()
            status, health = self.app.call("GET", "health", token=None)
            took = time.monotonic() - began
        finally:
            self.provider.release.set()
            caller.join(30)
        self.assertEqual(status, 200, health)
        self.assertLess(took, 1.0)
        status, started = held["answer"]
        self.assertEqual(status, 200, started)
        self.assertEqual(started["user_code"], "WDJB-MJHT")
        self.assertEqual(started["interval"], 5)

    def test_user_from_the_provider_with_her_groups_roles(self):
        status, identity = self.app.call("GET", "console/identity", token=None)
        self.assertEqual((status, identity["enabled"]), (200, True))
        status, role = self.app.call("POST", "roles", {"name": "operators"})
        self.assertEqual(status, 201, role)
        self.pamctl("roles", "map-group", "pam-ops", role["id"])
        self.assertIn("pam-ops", self.pamctl("roles", "list-groups"))

        user = self.whoami(self.sign_in())
        self.assertEqual(user["name"], "Ada Lovelace")
        self.assertIn(user["id"], self.members(role["id"]))

        self.provider.groups = []
        again = self.whoami(self.sign_in())
        self.assertEqual(again["id"], user["id"])
        self.assertNotIn(user["id"], self.members(role["id"]))
        self.pamctl("roles", "unmap-group", "pam-ops", role["id"])
        self.assertNotIn("pam-ops", self.pamctl("roles", "list-groups"))

        # The provider goes away; after a reload (which drops what was read from it) the
        # sign-in page is told why, and a token still works.
        self.provider.stop()
        self.app.daemon.signal(signal.SIGHUP)
        self.app.daemon.wait_event("config.reloaded")
        status, location, _ = self.appliance_get("/auth/oidc/start")
        self.assertEqual((status, location), (302, "/?signin_error=provider_unreachable"))
        self.app.daemon.wait_event("admin.identity_sign_in_failed", error="provider_unreachable")
        status, _ = self.app.call("GET", "whoami")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
