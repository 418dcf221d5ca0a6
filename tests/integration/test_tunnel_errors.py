"""Bad input on the data plane: each case ends only its own tunnel, with a specific answer where
one is possible and a counted, logged cause (tunnel.closed cause=...), and pamproxyd keeps
serving everyone else (every test ends by checking a normal request still works)."""

import socket
import ssl
import threading
import time
import unittest

from test_engine import EngineFixture


def read_head(sock, limit=65536):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_all(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return data


class TunnelErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = EngineFixture(extra_toml="""
[timeouts]
connect_head_ms = 1500
tls_handshake_ms = 1500
upstream_response_ms = 1500
""")

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def tearDown(self):
        # Whatever the case did, the daemon still serves a normal request.
        out = self.f.curl("-o", "/dev/null", "-w", "%{http_code}", self.f.origin + "/bytes/5")
        self.assertEqual(out.stdout, b"200", out.stderr)

    def dial(self):
        s = socket.create_connection(("127.0.0.1", self.f.port), timeout=20)
        return s

    def tunnel(self, host="localhost", sni="localhost"):
        s = self.dial()
        s.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" %
                  (host.encode(), self.f.upstream.port, host.encode(), self.f.upstream.port))
        head = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        ctx = ssl.create_default_context(cafile=self.f.ca)
        if sni is None:
            ctx.check_hostname = False
        return ctx.wrap_socket(s, server_hostname=sni)

    def test_garbage_instead_of_connect(self):
        s = self.dial()
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
        reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.assertIn(b"BadConnectRequest", reply)
        self.f.closed("bad_connect")

    def test_plain_get_is_told_to_use_connect(self):
        s = self.dial()
        s.sendall(b"GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.assertIn(b"send CONNECT host:port", reply)
        self.f.closed("bad_connect")

    def test_oversized_connect_head(self):
        s = self.dial()
        s.sendall(b"CONNECT localhost:1 HTTP/1.1\r\nX-Pad: " + b"a" * 5000 + b"\r\n\r\n")
        reply = read_all(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.assertIn(b"ConnectHeadTooLarge", reply)
        self.f.closed("connect_too_large")

    def test_destination_not_allowed_and_private_address(self):
        for target, needle in ((b"example.com:443", b"allowlist"),
                               (b"127.0.0.1:%d" % self.f.upstream.port, b"loopback")):
            s = self.dial()
            s.sendall(b"CONNECT " + target + b" HTTP/1.1\r\n\r\n")
            reply = read_all(s)
            self.assertTrue(reply.startswith(b"HTTP/1.1 403 "), reply)
            self.assertIn(needle, reply)
            self.f.closed("forbidden")

    def test_not_tls_after_200(self):
        s = self.dial()
        s.sendall(b"CONNECT localhost:%d HTTP/1.1\r\n\r\n" % self.f.upstream.port)
        self.assertTrue(read_head(s).startswith(b"HTTP/1.1 200 "))
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        read_all(s)
        closed = self.f.closed("client_tls_failed")
        self.assertEqual(closed["target"], "localhost:%d" % self.f.upstream.port)

    def test_client_hello_without_sni(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            self.tunnel(sni=None)
        self.f.closed("sni_mismatch")

    def test_client_hello_with_other_sni(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            self.tunnel(sni="s3.us-east-1.amazonaws.com")
        self.f.closed("sni_mismatch")

    def test_host_must_name_the_connect_target(self):
        t = self.tunnel()
        t.sendall(b"GET /bytes/5 HTTP/1.1\r\nHost: s3.us-east-1.amazonaws.com\r\n\r\n")
        reply = read_all(t)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.assertIn(b"HostMismatch", reply)
        self.assertEqual([p for p in self.f.upstream.seen if p[1] == "/bytes/5" and
                          p[2] != "localhost:%d" % self.f.upstream.port], [])
        self.f.closed("bad_request")

    def test_request_smuggling_framing_is_refused(self):
        t = self.tunnel()
        t.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost:%d\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % self.f.upstream.port)
        reply = read_all(t)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        self.f.closed("bad_request")

    def test_client_vanishes_mid_body(self):
        t = self.tunnel()
        t.sendall(b"PUT /echo HTTP/1.1\r\nHost: localhost:%d\r\nContent-Length: 10000000\r\n\r\n"
                  % self.f.upstream.port)
        t.sendall(b"x" * 1000000)
        t.close()
        self.f.closed("client_reset")

    def test_upstream_resets_mid_body(self):
        t = self.tunnel()
        t.sendall(b"GET /reset/200000 HTTP/1.1\r\nHost: localhost:%d\r\n\r\n"
                  % self.f.upstream.port)
        got = read_all(t)
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:100])
        self.assertLess(len(got), 400000)  # the response ended early, as the upstream did
        self.f.closed("upstream_reset")

    def test_upstream_never_answers(self):
        t = self.tunnel()
        t.sendall(b"GET /hang HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % self.f.upstream.port)
        self.assertEqual(read_all(t), b"")
        self.f.closed("response_timeout")

    def test_many_idle_connections_time_out_while_others_are_served(self):
        idle = [self.dial() for _ in range(300)]
        out = self.f.curl("-o", "/dev/null", "-w", "%{http_code}", self.f.origin + "/bytes/100")
        self.assertEqual(out.stdout, b"200", out.stderr)
        for _ in range(len(idle)):
            self.f.closed("connect_timeout")
        for s in idle:
            s.settimeout(5)
            self.assertEqual(s.recv(1), b"")
            s.close()


if __name__ == "__main__":
    unittest.main()
