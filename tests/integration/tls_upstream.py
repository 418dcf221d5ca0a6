"""A small HTTPS upstream for engine tests: a throwaway CA and leaf made with the openssl
command line, and a threaded HTTP/1.1 server (keep-alive) with a few behaviours:

  GET  /bytes/N       N bytes of a known pattern (Content-Length)
  GET  /chunked/N     N bytes in chunked encoding
  PUT  /echo          the request body back, plus its length in x-received-bytes
  GET  /hang          reads the request and never answers
  GET  /reset/N       sends headers announcing 2N bytes, N of them, then resets the connection
  HEAD /bytes/N       the head only

Every request's path is recorded, so a test can check what reached the upstream."""

import os
import random
import socket
import ssl
import struct
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def pattern(n):
    block = bytes(range(256)) * 64
    out = bytearray()
    while len(out) < n:
        out += block[: n - len(out)]
    return bytes(out)


def make_ca_and_leaf(directory, names=("localhost",), ips=("127.0.0.1",)):
    """Writes ca.pem/ca.key and leaf.pem/leaf.key (P-256) into `directory`; returns paths."""
    def run(*args):
        subprocess.run(args, check=True, cwd=directory, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "up-ca.key", "-out", "up-ca.pem", "-days", "2",
        "-subj", "/CN=pamproxy test upstream CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "up-leaf.key", "-out", "up-leaf.csr", "-subj", "/CN=%s" % names[0])
    san = ",".join(["DNS:%s" % n for n in names] + ["IP:%s" % i for i in ips])
    with open(os.path.join(directory, "up-leaf.ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                % san)
    run("openssl", "x509", "-req", "-in", "up-leaf.csr", "-CA", "up-ca.pem", "-CAkey",
        "up-ca.key", "-CAcreateserial", "-out", "up-leaf.pem", "-days", "2", "-extfile",
        "up-leaf.ext")
    j = lambda n: os.path.join(directory, n)
    return {"ca": j("up-ca.pem"), "cert": j("up-leaf.pem"), "key": j("up-leaf.key")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections.append(self.connection)
            self.server.accepted += 1
            self.server.changed.notify_all()

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.lock:
                if self.connection in self.server.connections:
                    self.server.connections.remove(self.connection)
                self.server.changed.notify_all()

    def _record(self):
        self.server.seen.append((self.command, self.path, self.headers.get("Host")))

    def _number(self):
        try:
            return int(self.path.rsplit("/", 1)[1])
        except ValueError:
            return 0

    def do_HEAD(self):
        self._record()
        self.send_response(200)
        self.send_header("Content-Length", str(self._number()))
        self.end_headers()

    def do_GET(self):
        self._record()
        if self.path == "/":
            # S3 ListBuckets, enough for `aws s3 ls` / `aws s3api list-buckets`.
            body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult '
                    b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID>'
                    b'<DisplayName>o</DisplayName></Owner><Buckets><Bucket><Name>engine-bucket'
                    b'</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>'
                    b'</Buckets></ListAllMyBucketsResult>')
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/bytes/"):
            body = pattern(self._number())
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/chunked/"):
            body = pattern(self._number())
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 10000):
                part = body[i:i + 10000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/hang":
            self.server.hung.set()
            self.server.release.wait(60)
            self.close_connection = True
        elif self.path.startswith("/reset/"):
            n = self._number()
            self.send_response(200)
            self.send_header("Content-Length", str(2 * n))
            self.end_headers()
            self.wfile.write(pattern(n))
            self.wfile.flush()
            # SO_LINGER 0 then shutdown+close of the raw descriptor: the peer sees a RST, and
            # no close_notify is sent.
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw = socket.socket(fileno=os.dup(sock.fileno()))
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
            os.close(sock.detach())
            self.close_connection = True
            self.server.reset_done.set()
        else:
            self.send_error(404)

    def do_PUT(self):
        self._record()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        if self.path == "/echo":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-received-bytes", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            # S3 PutObject: the body is stored by path (aws s3 cp), an ETag returned.
            self.server.objects[self.path] = body
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.send_header("ETag", '"%s"' % __import__("hashlib").md5(body).hexdigest())
            self.send_header("x-received-bytes", str(len(body)))
            self.end_headers()


class TlsUpstream:
    """Serves Handler over TLS on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, cert, key):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # resets are deliberate
        self.server.seen = []
        self.server.lock = threading.Lock()
        self.server.changed = threading.Condition(self.server.lock)  # connections came or went
        self.server.connections = []  # open now
        self.server.accepted = 0
        self.server.objects = {}
        self.server.hung = threading.Event()
        self.server.release = threading.Event()
        self.server.reset_done = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def seen(self):
        return self.server.seen

    @property
    def accepted(self):
        """TLS connections accepted so far."""
        with self.server.lock:
            return self.server.accepted

    def wait_open(self, n, timeout=10):
        """Waits until exactly n connections are open; False when the timeout came first."""
        with self.server.lock:
            return self.server.changed.wait_for(lambda: len(self.server.connections) == n,
                                                timeout)

    def close_connections(self):
        """Ends every open connection from this side (FIN), as an upstream does to idle ones."""
        with self.server.lock:
            conns = list(self.server.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(conns)

    def stop(self):
        self.server.release.set()
        self.server.shutdown()
        self.server.server_close()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port that was free a moment ago (pamproxyd's listen addresses need a real port).

    Taken below the kernel's ephemeral range: a port the kernel hands out is soon the local port
    of some client connection (the proxies under test open many), which then holds it when the
    daemon binds. Below the range only another test's listener can take it, which bind() sees."""
    low = 10000
    high = _ephemeral_low() - 1
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(low, high) if high > low else 0
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port below the ephemeral range")
