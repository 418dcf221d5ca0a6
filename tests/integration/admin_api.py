"""A pamproxyd with its admin API, for tests: a fresh state directory, the bootstrap admin's token
read from its file, and an HTTPS client that verifies the appliance CA (as pamctl does)."""

import http.client
import json
import os
import ssl

from harness import Daemon, TempDir
from tls_upstream import free_port


class AdminAppliance:
    def __init__(self, extra_toml=""):
        self.tmp = TempDir()
        self.state = os.path.join(self.tmp.path, "state")
        self.proxy_port = free_port()
        self.admin_port = free_port()
        self.config = self.tmp.file("p.toml", (
            '[store]\ndirectory = "%s"\n[engine]\nthreads = 1\npin_threads = false\n'
            'buffer_count = 64\n[proxy]\nlisten = ["127.0.0.1:%d"]\n'
            '[admin]\nlisten = "127.0.0.1:%d"\n%s') %
            (self.state, self.proxy_port, self.admin_port, extra_toml))
        self.daemon = None
        self.start()
        with open(os.path.join(self.state, "bootstrap-admin-token")) as f:
            self.admin_token = f.read().strip()
        self.ca_file = os.path.join(self.state, "ca", "ca.pem")

    def start(self):
        self.daemon = Daemon(["--config", self.config], cwd=self.tmp.path)
        self.daemon.wait_event("admin.listening")
        self.daemon.wait_event("daemon.ready")

    def restart(self):
        self.daemon.stop()
        self.start()

    def stop(self):
        try:
            if self.daemon:
                self.daemon.stop()
        finally:
            self.tmp.cleanup()

    def connection(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return http.client.HTTPSConnection("127.0.0.1", self.admin_port, context=ctx, timeout=30)

    def raw(self, method, path, body=None, token=None, headers=None, chunked=False):
        """(status, content type, body text). `body` may be a dict (sent as JSON), bytes, or an
        iterable of bytes sent with chunked framing."""
        conn = self.connection()
        try:
            h = dict(headers or {})
            if token is not None:
                h["Authorization"] = "Bearer " + token
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=h, encode_chunked=chunked)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type"), r.read().decode()
        finally:
            conn.close()

    def call(self, method, path, body=None, token="admin"):
        """(status, parsed JSON). token="admin" is the bootstrap admin's; None sends none."""
        if token == "admin":
            token = self.admin_token
        status, ctype, text = self.raw(method, "/api/v1/" + path, body, token)
        return status, (json.loads(text) if ctype == "application/json" else text)
