"""pamproxyd's data plane end to end: real curl and the real AWS CLI v2 through the CONNECT
proxy, TLS intercepted with the appliance CA, to a local TLS upstream that trusts nothing of
ours (its own test CA, given to pamproxyd as [tls] upstream_ca_file)."""

import hashlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import unittest

from harness import Daemon, TempDir
from tls_upstream import TlsUpstream, free_port, make_ca_and_leaf, pattern

CURL = "/usr/bin/curl"
AWS = "/usr/bin/aws"


def clean_env(**extra):
    env = dict(os.environ)
    for k in ("AWS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
              "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY", "no_proxy",
              "AWS_PROFILE"):
        env.pop(k, None)
    env.update(extra)
    return env


class EngineFixture:
    """A TLS upstream and a pamproxyd whose resolve override points localhost at it. The engine
    is tested on its own: requests pass through unverified ([proxy] mode = "pass-through",
    accepted only toward loopback destinations)."""

    def __init__(self, extra_toml="", threads=1, tls_toml="", tmp=None):
        self.tmp = tmp or TempDir()
        self.certs = make_ca_and_leaf(self.tmp.path)
        self.upstream = TlsUpstream(self.certs["cert"], self.certs["key"])
        self.port = free_port()
        self.state = os.path.join(self.tmp.path, "state")
        toml = """
[proxy]
listen = ["127.0.0.1:%d"]
destination_allowlist = ["localhost:%d", "127.0.0.1:%d"]
mode = "pass-through"
[upstream]
resolve = [{ host = "localhost", address = "127.0.0.1:%d" }]
[tls]
upstream_ca_file = "%s"
%s
[store]
directory = "%s"
[engine]
threads = %d
pin_threads = false
buffer_count = 256
%s
""" % (self.port, self.upstream.port, self.upstream.port, self.upstream.port,
       self.certs["ca"], tls_toml, self.state, threads, extra_toml)
        self.config = self.tmp.file("p.toml", toml)
        self.daemon = Daemon(["--config", self.config], cwd=self.tmp.path)
        self.daemon.wait_event("engine.listening", address="127.0.0.1:%d" % self.port)
        self.daemon.wait_event("daemon.ready")
        self.ca = os.path.join(self.state, "ca", "ca.pem")
        self.proxy = "http://127.0.0.1:%d" % self.port
        self.origin = "https://localhost:%d" % self.upstream.port

    def curl(self, *args, timeout=60):
        return subprocess.run([CURL, "-sS", "--proxy", self.proxy, "--cacert", self.ca] +
                              list(args), env=clean_env(), capture_output=True,
                              timeout=timeout)

    def closed(self, cause, timeout=20):
        return self.daemon.wait_event("tunnel.closed", timeout=timeout, cause=cause)

    def stop(self):
        try:
            code = self.daemon.stop()
        finally:
            self.upstream.stop()
            self.tmp.cleanup()
        return code


class CurlThroughProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = EngineFixture()

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def test_get_keepalive_content_length_and_chunked(self):
        out = self.f.curl("-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                          "-w", "%{http_code} %{size_download} %{num_connects}\\n",
                          self.f.origin + "/bytes/1000000", self.f.origin + "/chunked/300001",
                          self.f.origin + "/bytes/7")
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.decode().split("\n")
        self.assertEqual(lines[0], "200 1000000 1")
        self.assertEqual(lines[1], "200 300001 0")  # the same tunnel (keep-alive)
        self.assertEqual(lines[2], "200 7 0")
        est = self.f.daemon.wait_event("tunnel.established")
        # kTLS ("auto") for the client leg when this kernel offers the tls ULP (the upstream leg
        # stays in user space so the pool can keep it); user-space TLS otherwise.
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            ulp = f.read().split()
        self.assertEqual(est["tls_path"], "ktls-client" if "tls" in ulp else "userspace")
        # Outside the kernel, TLS 1.3 records are sealed by pamproxy ([tls] own_records).
        self.assertEqual(est["client_records"], "kernel" if "tls" in ulp else "pamproxy")
        # And curl's TLS 1.3 handshake was pamproxy's own ([tls] own_handshake), kTLS or not.
        self.assertEqual(est["client_handshake"], "pamproxy")
        self.assertEqual(est["target"], "localhost:%d" % self.f.upstream.port)
        self.f.closed("client_closed")

    def test_large_download_arrives_to_the_last_byte(self):
        # Regression: plaintext left inside the upstream session when the relay buffer was full
        # must still be delivered once the client drains it, although no more bytes arrive.
        out = self.f.curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                          self.f.origin + "/bytes/20000000", timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"200 20000000")

    def test_body_bytes_arrive_exactly(self):
        body = os.path.join(self.f.tmp.path, "body.bin")
        data = pattern(3 * 1024 * 1024 + 17)
        with open(body, "wb") as fh:
            fh.write(data)
        out = self.f.curl("-T", body, self.f.origin + "/echo")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(hashlib.sha256(out.stdout).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_head_request(self):
        out = self.f.curl("-I", self.f.origin + "/bytes/12345")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"Content-Length: 12345", out.stdout)

    def test_leaf_is_minted_for_the_connect_host(self):
        out = self.f.curl("-v", "-o", "/dev/null", self.f.origin + "/bytes/1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b'subjectAltName: host "localhost" matched', out.stderr)
        self.assertIn(b"pamproxy", out.stderr)  # issued by the appliance CA, not the upstream's


def make_org_pki(directory):
    """An organisation's root and an intermediate CA under it (P-256), made with the openssl
    CLI: the intermediate is what the appliance signs with. Returns the paths."""
    def run(*args):
        subprocess.run(args, check=True, cwd=directory, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    with open(os.path.join(directory, "org-ca.ext"), "w") as f:
        f.write(ca_ext + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "org-root.key", "-out", "org-root.pem", "-days", "2",
        "-subj", "/O=Example Org/CN=Example Org Root",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "org-ca.key", "-out", "org-ca.csr",
        "-subj", "/O=Example Org/CN=Example Org pamproxy CA")
    run("openssl", "x509", "-req", "-in", "org-ca.csr", "-CA", "org-root.pem", "-CAkey",
        "org-root.key", "-CAcreateserial", "-out", "org-ca.pem", "-days", "2", "-extfile",
        "org-ca.ext")
    j = lambda n: os.path.join(directory, n)
    with open(j("org-bundle.pem"), "w") as out:
        for name in ("org-ca.pem", "org-root.pem"):
            with open(j(name)) as f:
                out.write(f.read())
    os.chmod(j("org-ca.key"), 0o600)
    return {"root": j("org-root.pem"), "ca": j("org-ca.pem"), "bundle": j("org-bundle.pem"),
            "key": j("org-ca.key")}


class OrganisationIntermediateCa(unittest.TestCase):
    """[tls] ca_cert_file lists an intermediate of the organisation's PKI, then its root: the
    clients trust only the root, and every handshake carries the intermediate."""

    @classmethod
    def setUpClass(cls):
        tmp = TempDir()
        cls.pki = make_org_pki(tmp.path)
        cls.f = EngineFixture(tmp=tmp, tls_toml='ca_cert_file = "%s"\nca_key_file = "%s"' % (
            cls.pki["bundle"], cls.pki["key"]))

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def test_curl_trusting_only_the_root_verifies_the_minted_leaf(self):
        out = subprocess.run([CURL, "-sS", "-v", "--proxy", self.f.proxy, "--cacert",
                              self.pki["root"], "-o", "/dev/null", "-w", "%{http_code}",
                              self.f.origin + "/bytes/10"],
                             env=clean_env(), capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, b"200")
        self.assertIn(b"issuer: O=Example Org; CN=Example Org pamproxy CA", out.stderr)

    def test_python_ssl_trusting_only_the_root_verifies_the_leaf(self):
        # What the AWS CLI's TLS stack does: verify against the root alone, through CONNECT.
        sock = socket.create_connection(("127.0.0.1", self.f.port), timeout=20)
        target = "localhost:%d" % self.f.upstream.port
        sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
        self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 200"))
        ctx = ssl.create_default_context(cafile=self.pki["root"])
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            self.assertEqual(tls.getpeercert()["issuer"],
                             ((("organizationName", "Example Org"),),
                              (("commonName", "Example Org pamproxy CA"),)))

    def test_admin_api_serves_the_whole_bundle_over_a_chain_the_root_verifies(self):
        admin = self.f.daemon.wait_event_or_seen("admin.listening")
        # The admin API's own certificate is minted by the intermediate too.
        ctx = ssl.create_default_context(cafile=self.pki["root"])
        conn = http.client.HTTPSConnection("127.0.0.1", int(admin["port"]), context=ctx,
                                           timeout=20)
        conn.request("GET", "/api/v1/ca.pem")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        self.assertEqual(resp.status, 200)
        with open(self.pki["bundle"]) as f:
            self.assertEqual(body, f.read())


class QuietTunnel(unittest.TestCase):
    def test_quiet_tunnel_gives_buffers_back_and_serves_again(self):
        f = EngineFixture(extra_toml='[log]\nlevel = "debug"\n')
        try:
            ctx = ssl.create_default_context(cafile=f.ca)
            conn = http.client.HTTPSConnection("127.0.0.1", f.port, context=ctx, timeout=30)
            conn.set_tunnel("localhost", f.upstream.port)
            conn.request("GET", "/bytes/100000")
            first = conn.getresponse().read()
            self.assertEqual(first, pattern(100000))
            # Quiet for a while: the relay and TLS record buffers go back.
            f.daemon.wait_event("tunnel.idle_release", timeout=15)
            conn.request("GET", "/bytes/300001")  # the same tunnel, buffers allocated again
            second = conn.getresponse().read()
            self.assertEqual(second, pattern(300001))
            conn.close()
        finally:
            f.stop()


class UpstreamPool(unittest.TestCase):
    """A tunnel that ends between exchanges leaves its upstream connection to the next tunnel to
    the same host:port: no new TCP connection, no handshake, the same bytes."""

    def setUp(self):
        self.f = EngineFixture()

    def tearDown(self):
        self.f.stop()

    def get(self, path, *extra):
        out = self.f.curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                          *extra, self.f.origin + path)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.decode()

    def test_next_tunnel_takes_the_kept_connection(self):
        self.assertEqual(self.get("/bytes/70000"), "200 70000")
        first = self.f.daemon.wait_event("tunnel.established")
        self.assertEqual(first["upstream_reused"], "false")
        self.f.daemon.wait_event("tunnel.closed", cause="client_closed", upstream_kept="true")
        for _ in range(3):
            self.assertEqual(self.get("/chunked/30001"), "200 30001")
            est = self.f.daemon.wait_event("tunnel.established")
            self.assertEqual(est["upstream_reused"], "true")
            self.f.daemon.wait_event("tunnel.closed", cause="client_closed", upstream_kept="true")
        self.assertEqual(self.f.upstream.accepted, 1)  # four tunnels, one upstream connection
        self.assertEqual(len(self.f.upstream.seen), 4)

    def test_connection_close_is_not_kept(self):
        self.assertEqual(self.get("/bytes/10", "-H", "Connection: close"), "200 10")
        self.f.daemon.wait_event("tunnel.closed", upstream_kept="false")
        self.assertEqual(self.get("/bytes/10"), "200 10")
        est = self.f.daemon.wait_event("tunnel.established")
        self.assertEqual(est["upstream_reused"], "false")
        self.assertEqual(self.f.upstream.accepted, 2)

    def test_a_kept_connection_the_upstream_closed_is_not_handed_out(self):
        self.assertEqual(self.get("/bytes/10"), "200 10")
        self.f.daemon.wait_event("tunnel.closed", upstream_kept="true")
        # The upstream ends its idle connection (as AWS does after a while): the next tunnel
        # finds it closed on reuse and connects anew.
        self.assertEqual(self.f.upstream.close_connections(), 1)
        self.assertEqual(self.get("/bytes/20"), "200 20")
        est = self.f.daemon.wait_event("tunnel.established")
        self.assertEqual(est["upstream_reused"], "false")
        self.assertEqual(self.f.upstream.accepted, 2)

    def test_a_tunnel_left_mid_response_does_not_keep_its_connection(self):
        # curl gives up after 1 byte of a 20 MB body: the response never ended on this tunnel.
        out = self.f.curl("-o", "/dev/null", "--max-filesize", "1", self.f.origin + "/bytes/20000000")
        self.assertNotEqual(out.returncode, 0)
        self.f.daemon.wait_event("tunnel.closed", upstream_kept="false")
        self.assertEqual(self.get("/bytes/10"), "200 10")
        est = self.f.daemon.wait_event("tunnel.established")
        self.assertEqual(est["upstream_reused"], "false")


class Reload(unittest.TestCase):
    """SIGHUP puts the file's reloadable keys in force on every worker: new tunnels follow the
    new allowlist at once, a tunnel already open keeps the values it started with, the upstream
    pool's new bound closes what it no longer keeps, and restart-only keys are named, not
    applied."""

    def tearDown(self):
        self.f.stop()

    def rewrite(self, old, new):
        with open(self.f.config) as fh:
            text = fh.read()
        self.assertIn(old, text)
        with open(self.f.config, "w") as fh:
            fh.write(text.replace(old, new))

    def open_tunnel(self):
        ctx = ssl.create_default_context(cafile=self.f.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.f.port, context=ctx, timeout=20)
        conn.set_tunnel("localhost", self.f.upstream.port)
        return conn

    def get(self, conn, path):
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, len(r.read())

    def connect_code(self):
        out = self.f.curl("-o", "/dev/null", "-w", "%{http_connect}", self.f.origin + "/bytes/5")
        return out.stdout.decode()

    def test_reload_applies_to_new_tunnels_pool_at_once_restart_keys_named(self):
        self.f = EngineFixture(threads=2)
        d = self.f.daemon
        # A tunnel that stays open across the reload, and one whose upstream connection is kept
        # in the pool after it closes.
        held = self.open_tunnel()
        self.assertEqual(self.get(held, "/bytes/10"), (200, 10))
        self.assertEqual(self.connect_code(), "200")
        d.wait_event("tunnel.closed", cause="client_closed", upstream_kept="true")
        self.assertTrue(self.f.upstream.wait_open(2))

        self.rewrite('destination_allowlist = ["localhost:%d", ' % self.f.upstream.port,
                     'destination_allowlist = [')
        self.rewrite("buffer_count = 256\n", "buffer_count = 512\n")
        self.rewrite("[upstream]\n", "[upstream]\npool_idle_per_host = 0\n")
        d.signal(signal.SIGHUP)
        reloaded = d.wait_event("config.reloaded")
        self.assertEqual(reloaded["changed"],
                         "proxy.destination_allowlist,upstream.pool_idle_per_host")
        self.assertEqual(reloaded["restart_required"], "engine.buffer_count")
        # Both workers take the new settings up at once, busy or not.
        for worker in ("0", "1"):
            d.wait_event_or_seen("proxy.settings_followed", worker=worker, generation="2")

        # The kept connection is closed by the new bound without any traffic; only the held
        # tunnel's stays.
        self.assertTrue(self.f.upstream.wait_open(1))
        # New tunnels: localhost is no longer allowed.
        for _ in range(4):
            self.assertEqual(self.connect_code(), "403")
            refused = d.wait_event("tunnel.refused")
            self.assertEqual(refused["cause"], "forbidden")
            self.assertIn("is not on the proxy's destination allowlist", refused["detail"])
        # A tunnel opened before the reload is not cut by it.
        self.assertEqual(self.get(held, "/bytes/20"), (200, 20))
        held.close()

        # The restart-only key keeps its running value, so the next reload names it again.
        d.signal(signal.SIGHUP)
        again = d.wait_event("config.reloaded")
        self.assertEqual((again["changed"], again["restart_required"]), ("", "engine.buffer_count"))

    def test_reload_that_would_widen_pass_through_is_refused_whole(self):
        self.f = EngineFixture(threads=1)  # one worker, one pool
        d = self.f.daemon
        # pass-through only toward destinations pinned to loopback: a wildcard is refused, and
        # the other change in the same file (the pool bound) is not applied either.
        self.rewrite('destination_allowlist = [', 'destination_allowlist = ["*.amazonaws.com:443", ')
        self.rewrite('[upstream]\n', '[upstream]\npool_idle_per_host = 0\n')
        d.signal(signal.SIGHUP)
        refused = d.wait_event("config.reload_refused")
        self.assertIn("pass-through", refused["error"])
        d.wait_event("config.kept")
        self.assertEqual(self.connect_code(), "200")
        self.assertEqual(d.wait_event("tunnel.established")["upstream_reused"], "false")
        d.wait_event("tunnel.closed", cause="client_closed", upstream_kept="true")
        self.assertEqual(self.connect_code(), "200")
        # The pool still keeps connections: its bound stayed at the running value.
        self.assertEqual(d.wait_event("tunnel.established")["upstream_reused"], "true")
        self.assertEqual(self.f.upstream.accepted, 1)


class AwsCliThroughProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = EngineFixture()

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def aws(self, *args):
        env = clean_env(HTTPS_PROXY=self.f.proxy, AWS_CA_BUNDLE=self.f.ca,
                        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                        AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                        HOME=self.f.tmp.path)
        return subprocess.run([AWS, "--endpoint-url", self.f.origin] + list(args), env=env,
                              capture_output=True, timeout=120)

    def test_list_buckets_and_upload(self):
        out = self.aws("s3api", "list-buckets", "--query", "Buckets[].Name", "--output", "text")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().strip(), "engine-bucket")
        src = os.path.join(self.f.tmp.path, "object.bin")
        data = pattern(2 * 1024 * 1024 + 5)
        with open(src, "wb") as fh:
            fh.write(data)
        out = self.aws("s3", "cp", src, "s3://engine-bucket/dir/object.bin")
        self.assertEqual(out.returncode, 0, out.stderr)
        stored = self.f.upstream.server.objects.get("/engine-bucket/dir/object.bin")
        self.assertIsNotNone(stored, self.f.upstream.seen)
        # The CLI may frame the body (aws-chunked); the payload must be inside, intact.
        self.assertIn(hashlib.sha256(data).hexdigest(),
                      [hashlib.sha256(stored).hexdigest()] +
                      [hashlib.sha256(stored[i:i + len(data)]).hexdigest()
                       for i in range(0, min(len(stored) - len(data) + 1, 64))])
        self.assertIn("localhost", self.f.upstream.seen[-1][2])


if __name__ == "__main__":
    unittest.main()
