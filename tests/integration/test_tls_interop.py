"""pamproxyd's TLS against other TLS stacks: OpenSSL's s_client (each TLS 1.3 suite, TLS 1.2,
with and without middlebox compatibility, resumption), GnuTLS's gnutls-cli, NSS's tstclnt, Go's
crypto/tls (tls_interop_client.go), Python's ssl, Node's tls and curl, each against the CONNECT
listener (TLS inside the tunnel, to a loopback TLS upstream) and against the admin listener.

Each client must finish its handshake on the path its ClientHello decides (pamproxy's own
handshake, or OpenSSL's: `tunnel.established` says which), move its bytes both ways byte for
byte, and see the server's close_notify. Through the tunnel that is 1 MiB up and the same 1 MiB
back (PUT /echo with `Connection: close`: the upstream closes after the answer, and pamproxyd
ends the client's session after the last byte). The admin listener has no echo: a 1 MiB request
body (refused with a 4xx once read whole) and about 1 MiB of answers (pipelined
GET /api/v1/ca.pem, the last with `Connection: close`). docs/security.md records the matrix."""

import concurrent.futures
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

from test_engine import EngineFixture, clean_env
from tls_upstream import pattern

HERE = os.path.dirname(os.path.abspath(__file__))
CURL = "/usr/bin/curl"
BODY_BYTES = 1 << 20
CA_GETS = 1500  # pipelined GET /api/v1/ca.pem on the admin listener: about 1 MiB of answers
AES128, AES256, CHACHA = "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", \
    "TLS_CHACHA20_POLY1305_SHA256"


def find_tool(name):
    for d in ("/usr/bin", "/usr/lib/nss", "/usr/lib/x86_64-linux-gnu/nss"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


class ConnectShim:
    """A loopback port that opens a tunnel through pamproxyd for each connection it accepts
    (CONNECT, then the bytes both ways as they are, half-closes passed on): for clients with no
    proxy support of their own. `tunnels` lists the address each tunnel came from, as
    pamproxyd's `tunnel.established` names it in `client`."""

    def __init__(self, proxy_port, target):
        self.proxy_port = proxy_port
        self.target = target
        self.tunnels = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        with client, socket.create_connection(("127.0.0.1", self.proxy_port)) as up:
            with self.lock:
                self.tunnels.append("127.0.0.1:%d" % up.getsockname()[1])
            up.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.target, self.target))
            head = b""
            while b"\r\n\r\n" not in head:
                byte = up.recv(1)  # one at a time: nothing after the head may be taken here
                if not byte:
                    return
                head += byte
            if not head.startswith(b"HTTP/1.1 200"):
                return
            back = threading.Thread(target=self._pipe, args=(up, client), daemon=True)
            back.start()
            self._pipe(client, up)
            back.join()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.listener.close()


def run_piped(args, request, timeout=90, ended=None):
    """Runs a client that sends its stdin and prints what it receives, with the request on its
    stdin. Stdin stays open so the server ends the session (some of these clients end it
    themselves when their stdin ends); it is closed once a line of stderr contains `ended`, for
    a client that stays after the server's end until its stdin ends too. Returns (code, stdout,
    stderr)."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env())
    out, err = [], []
    stdin_lock = threading.Lock()

    def close_stdin():
        with stdin_lock:
            if not proc.stdin.closed:
                proc.stdin.close()

    def read_err():
        for line in proc.stderr:
            err.append(line)
            if ended is not None and ended in line:
                close_stdin()

    readers = [threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),
               threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    try:
        with stdin_lock:
            proc.stdin.write(request)
            proc.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    finally:
        close_stdin()
    for r in readers:
        r.join()
    return code, out[0], b"".join(err)


class Outcome:
    """What one client saw: its exit code, the bytes it received, whether the server ended the
    session with close_notify, its diagnostics, and where its connections came from."""

    def __init__(self, code, received, close_notify, diagnostics, sources=()):
        self.code = code
        self.received = received
        self.close_notify = close_notify
        self.diagnostics = diagnostics
        self.sources = list(sources)


NODE_CLIENT = r"""
// Node's tls: the request from a file, what comes back to stdout; OpenSSL's trace (stderr)
// shows whether the server's close_notify came.
const tls = require('tls'), fs = require('fs');
const [port, name, ca, request] = process.argv.slice(2);
const s = tls.connect({host: '127.0.0.1', port: +port, servername: name,
                       ca: fs.readFileSync(ca)}, () => {
  process.stderr.write(`version=${s.getProtocol()} cipher=${s.getCipher().standardName}\n`);
  s.write(fs.readFileSync(request));
});
s.enableTrace();
s.on('data', (d) => process.stdout.write(d));
s.on('end', () => s.end());
s.on('error', (e) => { process.stderr.write(`error: ${e.message}\n`); process.exitCode = 1; });
"""


def node_saw_close_notify(trace):
    """True when OpenSSL's trace of a Node socket shows a close_notify received."""
    for record in re.split(r"(?=^(?:Sent|Received) Record)", trace, flags=re.M):
        if record.startswith("Received Record") and "description=close notify" in record:
            return True
    return False


def s_client_saw_close_notify(msgs):
    return re.search(r"^<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify$", msgs,
                     re.M) is not None


class TlsInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = EngineFixture(extra_toml='[admin]\nlisten = "127.0.0.1:0"\n'
                                         'body_bytes_max = %d\n' % (2 * BODY_BYTES))
        try:
            cls._prepare()
        except BaseException:
            cls.f.stop()
            raise

    @classmethod
    def _prepare(cls):
        f = cls.f
        cls.admin_port = int(f.daemon.wait_event_or_seen("admin.listening")["port"])
        cls.dir = f.tmp.path
        cls.target = b"localhost:%d" % f.upstream.port
        cls.body = pattern(BODY_BYTES)
        cls.tunnel_request = cls._file("tunnel.req", (
            b"PUT /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (cls.target, len(cls.body))) + cls.body)
        get = b"GET /api/v1/ca.pem HTTP/1.1\r\nHost: localhost\r\n\r\n"
        cls.admin_request = cls._file("admin.req", (
            b"POST /api/v1/echo-nothing HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
            % len(cls.body)) + cls.body + get * (CA_GETS - 1) +
            get.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        with open(f.ca, "rb") as fh:
            cls.ca_pem = fh.read()
        # Go's client, built offline from the standard library into this test's directory.
        go_env = clean_env(GOCACHE=os.path.join(cls.dir, "gocache"),
                           GOPATH=os.path.join(cls.dir, "gopath"), GOPROXY="off",
                           GOFLAGS="-mod=mod", CGO_ENABLED="0")
        cls.go_client = os.path.join(cls.dir, "tls-interop-client")
        out = subprocess.run(["go", "build", "-o", cls.go_client,
                              os.path.join(HERE, "tls_interop_client.go")],
                             env=go_env, capture_output=True, timeout=300)
        if out.returncode != 0:
            raise AssertionError("go build: %s" % out.stderr.decode())
        cls.node_client = os.path.join(cls.dir, "tls-interop-client.js")
        with open(cls.node_client, "w") as fh:
            fh.write(NODE_CLIENT)
        # NSS's trust: a database holding the appliance CA.
        cls.nssdb = "sql:" + os.path.join(cls.dir, "nssdb")
        os.mkdir(os.path.join(cls.dir, "nssdb"))
        certutil = find_tool("certutil")
        subprocess.run([certutil, "-N", "-d", cls.nssdb, "--empty-password"], check=True,
                       capture_output=True, timeout=30)
        subprocess.run([certutil, "-A", "-d", cls.nssdb, "-n", "pamproxy-ca", "-t", "C,,",
                        "-i", f.ca], check=True, capture_output=True, timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    @classmethod
    def _file(cls, name, data):
        path = os.path.join(cls.dir, name)
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    # ------------------------------------------------------------------ the clients
    # Each takes the port to connect to (a shim's, or the admin listener's), the request file,
    # and a tag for its own files; returns an Outcome.

    def s_client(self, port, request, tag, *options):
        msgs = os.path.join(self.dir, tag + ".msgs")
        with open(request, "rb") as fh:
            data = fh.read()
        code, out, err = run_piped(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
             "-CAfile", self.f.ca, "-verify_return_error", "-verify_hostname", "localhost",
             "-quiet", "-ign_eof", "-msg", "-msgfile", msgs] + list(options), data)
        with open(msgs) as fh:
            text = fh.read()
        outcome = Outcome(code, out, s_client_saw_close_notify(text), err.decode())
        outcome.msgs = text
        return outcome

    def gnutls_cli(self, port, request, tag):
        log = os.path.join(self.dir, tag + ".log")
        with open(request, "rb") as fh:
            data = fh.read()
        code, out, err = run_piped(
            ["gnutls-cli", "--x509cafile", self.f.ca, "--sni-hostname", "localhost",
             "--verify-hostname", "localhost", "--logfile", log, "-p", str(port), "127.0.0.1"],
            data)
        with open(log) as fh:
            text = fh.read()
        return Outcome(code, out, "Peer has closed the GnuTLS connection" in text + err.decode(),
                       text + err.decode())

    def tstclnt(self, port, request, tag):
        # Its stdin is the request file: tstclnt stays after the server's end until its stdin
        # ends, and a pipe that ends makes it spin.
        with open(request, "rb") as stdin:
            out = subprocess.run(
                [find_tool("tstclnt"), "-h", "127.0.0.1", "-p", str(port), "-a", "localhost",
                 "-d", self.nssdb, "-V", "tls1.2:tls1.3", "-v"], stdin=stdin, env=clean_env(),
                capture_output=True, timeout=90)
        # NSS reads a close_notify and a TCP end alike as the end of the data (0 bytes): this
        # client shows the session's end, not how it ended.
        return Outcome(out.returncode, out.stdout, None, out.stderr.decode(errors="replace"))

    def go(self, port, request, tag):
        out = subprocess.run([self.go_client, "127.0.0.1:%d" % port, "localhost", self.f.ca,
                              request], env=clean_env(), capture_output=True, timeout=90)
        # The client exits 0 only after the server's close_notify.
        return Outcome(out.returncode, out.stdout, out.returncode == 0, out.stderr.decode())

    def python(self, port, request, tag):
        ctx = ssl.create_default_context(cafile=self.f.ca)
        received = bytearray()
        with open(request, "rb") as fh:
            data = memoryview(fh.read())
        with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
            # suppress_ragged_eofs=False: a TCP end without close_notify raises SSLEOFError.
            with ctx.wrap_socket(raw, server_hostname="localhost",
                                 suppress_ragged_eofs=False) as s:
                # Sending and reading from this one thread, without blocking: one SSL object must
                # not be written and read by two threads at once (records sealed under such a
                # race reach the peer corrupt), and an echo must be read while it is sent.
                s.setblocking(False)
                sent = 0
                close_notify = False
                deadline = time.monotonic() + 60
                try:
                    while True:
                        want_write = [s] if sent < len(data) else []
                        readable, writable, _ = select.select([s], want_write, [], 1)
                        if time.monotonic() > deadline:
                            raise TimeoutError("python client: no end within 60 s")
                        if writable:
                            try:
                                sent += s.send(data[sent:sent + 65536])
                            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                                pass
                        while readable or s.pending():
                            readable = []
                            try:
                                chunk = s.recv(65536)
                            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                                break
                            if not chunk:
                                close_notify = True
                                break
                            received += chunk
                        if close_notify:
                            break
                except ssl.SSLEOFError:
                    pass
                info = "version=%s cipher=%s" % (s.version(), s.cipher()[0])
        return Outcome(0, bytes(received), close_notify, info)

    def node(self, port, request, tag):
        out = subprocess.run(["node", self.node_client, str(port), "localhost", self.f.ca,
                              request], env=clean_env(), capture_output=True, timeout=90)
        err = out.stderr.decode(errors="replace")
        return Outcome(out.returncode, out.stdout, node_saw_close_notify(err), err)

    def curl(self, *args):
        """curl, with its own CONNECT when `args` name a --proxy. A close_notify either way shows
        in its -v log when the session ends before curl does (the admin listener's answer to
        `Connection: close`); one that curl sends as it exits with the connection still open is
        not logged, and pamproxyd's end of the tunnel says how it ended instead. The Outcome's
        source is the local address of its (last) connection."""
        out = subprocess.run([CURL, "-sS", "-v", "-o", "-", "-w", "%{stderr}local=%{local_port}"] +
                             list(args), env=clean_env(), capture_output=True, timeout=90)
        err = out.stderr.decode(errors="replace")
        ports = re.findall(r"local=(\d+)", err)
        close_notify = re.search(r"\((?:IN|OUT)\), TLS alert, close notify", err) is not None
        return Outcome(out.returncode, out.stdout, close_notify, err,
                       ["127.0.0.1:%s" % ports[-1]] if ports else [])

    # ------------------------------------------------------------------ checks

    def through_tunnel(self, client, *args):
        """Runs a client against a shim of its own; the Outcome lists the tunnels it opened."""
        shim = ConnectShim(self.f.port, self.target)
        try:
            outcome = client(shim.port, self.tunnel_request, *args)
        finally:
            shim.close()
        outcome.sources = list(shim.tunnels)
        return outcome

    def assert_echoed(self, outcome, http=True):
        """The PUT /echo answer: 200 and the 1 MiB body back, byte for byte."""
        received = outcome.received
        if http:
            head, _, received = received.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:200])
        self.assertEqual(len(received), len(self.body))
        self.assertTrue(received == self.body, "the echoed body differs")

    def assert_admin_answers(self, outcome, upload=True):
        """The admin listener's answers: the upload's refusal, then each ca.pem whole."""
        data = outcome.received
        statuses = []
        bodies = []
        while data:
            head, sep, data = data.partition(b"\r\n\r\n")
            self.assertTrue(sep, "an answer cut short: %r" % head[:200])
            length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
            statuses.append(head.split(b" ", 2)[1])
            bodies.append(data[:length])
            data = data[length:]
        if upload:
            self.assertEqual(statuses[0][:1], b"4", statuses[0])
            statuses, bodies = statuses[1:], bodies[1:]
        self.assertEqual(len(statuses), CA_GETS)
        self.assertEqual(set(statuses), {b"200"})
        self.assertTrue(all(b == self.ca_pem for b in bodies), "a ca.pem answer differs")

    def established(self, source):
        return self.f.daemon.wait_event_or_seen("tunnel.established", timeout=30, client=source)

    def assert_path(self, outcome, handshake, cipher, version="TLSv1.3", resumed="false"):
        self.assertEqual(len(outcome.sources), 1, outcome.sources)
        est = self.established(outcome.sources[0])
        self.assertEqual(est["client_handshake"], handshake)
        self.assertEqual(est["client_cipher"], cipher)
        self.assertEqual(est["client_tls"], version)
        self.assertEqual(est["client_resumed"], resumed)
        # Outside the kernel (no tls module here), TLS 1.3 records are pamproxy's either way.
        self.assertEqual(est["client_records"], "pamproxy" if version == "TLSv1.3" else "openssl")
        return est

    def resume(self, port, request, tag, *options):
        """Two s_client runs: the first keeps its session (-sess_out), the second offers it."""
        sess = os.path.join(self.dir, tag + ".sess")
        first = self.s_client(port, request, tag + "-1", "-sess_out", sess, *options)
        second = self.s_client(port, request, tag + "-2", "-sess_in", sess, *options)
        return first, second

    # ------------------------------------------------------------------ the matrix

    def test_connect_listener(self):
        def tunnel_resume(*options):
            shim = ConnectShim(self.f.port, self.target)
            try:
                first, second = self.resume(shim.port, self.tunnel_request, "resume" +
                                            "".join(options), *options)
            finally:
                shim.close()
            first.sources, second.sources = shim.tunnels[:1], shim.tunnels[1:]
            return first, second

        proxy = "http://127.0.0.1:%d" % self.f.port
        upload = self._file("body.bin", self.body)
        origin = "https://localhost:%d/echo" % self.f.upstream.port
        # (name, run, expected client_handshake, cipher, version)
        runs = [
            ("s_client default", lambda: self.through_tunnel(self.s_client, "a"),
             "pamproxy", AES128, "TLSv1.3"),
            ("s_client " + AES128, lambda: self.through_tunnel(
                self.s_client, "b", "-ciphersuites", AES128), "pamproxy", AES128, "TLSv1.3"),
            ("s_client " + AES256, lambda: self.through_tunnel(
                self.s_client, "c", "-ciphersuites", AES256), "openssl", AES256, "TLSv1.3"),
            ("s_client " + CHACHA, lambda: self.through_tunnel(
                self.s_client, "d", "-ciphersuites", CHACHA), "pamproxy", CHACHA, "TLSv1.3"),
            ("s_client -no_middlebox", lambda: self.through_tunnel(
                self.s_client, "e", "-no_middlebox"), "pamproxy", AES128, "TLSv1.3"),
            ("s_client -tls1_2", lambda: self.through_tunnel(self.s_client, "f", "-tls1_2"),
             "openssl", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2"),
            ("gnutls-cli", lambda: self.through_tunnel(self.gnutls_cli, "g"),
             "pamproxy", AES128, "TLSv1.3"),
            ("tstclnt", lambda: self.through_tunnel(self.tstclnt, "h"),
             "pamproxy", AES128, "TLSv1.3"),
            ("go", lambda: self.through_tunnel(self.go, "i"), "pamproxy", AES128, "TLSv1.3"),
            ("python", lambda: self.through_tunnel(self.python, "j"),
             "pamproxy", AES128, "TLSv1.3"),
            ("node", lambda: self.through_tunnel(self.node, "k"), "pamproxy", AES128, "TLSv1.3"),
            ("curl", lambda: self.curl("--cacert", self.f.ca, "--proxy", proxy, "-T", upload,
                                       "-H", "Expect:", origin),
             "pamproxy", AES128, "TLSv1.3"),
        ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = [(r, pool.submit(r[1])) for r in runs]
            resumed = {v: pool.submit(tunnel_resume, *o) for v, o in
                       (("TLSv1.3", ("-ciphersuites", AES256)), ("TLSv1.2", ("-tls1_2",)))}
            for (name, _, handshake, cipher, version), future in futures:
                with self.subTest(client=name):
                    outcome = future.result()
                    self.assertEqual(outcome.code, 0, outcome.diagnostics[-2000:])
                    self.assert_echoed(outcome, http=name != "curl")
                    if outcome.close_notify is not None and name != "curl":
                        self.assertTrue(outcome.close_notify, outcome.diagnostics[-3000:])
                    self.assert_path(outcome, handshake, cipher, version)
                    # pamproxyd's side: the tunnel ended without a fault (after the answer's
                    # last byte, with its close_notify, or on the client's).
                    closed = self.f.daemon.wait_event_or_seen("tunnel.closed", timeout=30,
                                                              client=outcome.sources[0])
                    self.assertIn(closed["cause"], ("upstream_closed", "client_closed"))
            # Resumption: OpenSSL's path issues the tickets (pamproxy's issues none), and
            # resumes the session offered back.
            for version, future in resumed.items():
                with self.subTest(client="s_client resumption", version=version):
                    first, second = future.result()
                    for outcome in (first, second):
                        self.assertEqual(outcome.code, 0, outcome.diagnostics[-2000:])
                        self.assert_echoed(outcome)
                        self.assertTrue(outcome.close_notify)
                    cipher = AES256 if version == "TLSv1.3" else "ECDHE-ECDSA-AES128-GCM-SHA256"
                    self.assert_path(first, "openssl", cipher, version)
                    self.assert_path(second, "openssl", cipher, version, resumed="true")
                    self.assertNotIn("Certificate\n", second.msgs)

    def test_admin_listener(self):
        """The admin API's context has one fixed certificate and neither own path: OpenSSL
        answers every client there, resumption included."""
        port = self.admin_port
        req = self.admin_request
        runs = [
            ("s_client default", lambda: self.s_client(port, req, "A")),
            ("s_client " + AES128, lambda: self.s_client(port, req, "B", "-ciphersuites", AES128)),
            ("s_client " + AES256, lambda: self.s_client(port, req, "C", "-ciphersuites", AES256)),
            ("s_client " + CHACHA, lambda: self.s_client(port, req, "D", "-ciphersuites", CHACHA)),
            ("s_client -no_middlebox", lambda: self.s_client(port, req, "E", "-no_middlebox")),
            ("s_client -tls1_2", lambda: self.s_client(port, req, "F", "-tls1_2")),
            ("gnutls-cli", lambda: self.gnutls_cli(port, req, "G")),
            ("tstclnt", lambda: self.tstclnt(port, req, "H")),
            ("go", lambda: self.go(port, req, "I")),
            ("python", lambda: self.python(port, req, "J")),
            ("node", lambda: self.node(port, req, "K")),
        ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = [(name, pool.submit(run)) for name, run in runs]
            resumed = {v: pool.submit(self.resume, port, req, "admin-resume" + v, *o)
                       for v, o in (("1.3", ()), ("1.2", ("-tls1_2",)))}
            common = ["--cacert", self.f.ca, "--resolve", "localhost:%d:127.0.0.1" % port]
            url = "https://localhost:%d/api/v1/ca.pem" % port
            curl = pool.submit(self.curl, *common, url + "?[1-%d]" % (CA_GETS - 1), "--next",
                               *common, "-H", "Connection: close", url)
            for name, future in futures:
                with self.subTest(client=name):
                    outcome = future.result()
                    self.assertEqual(outcome.code, 0, outcome.diagnostics[-2000:])
                    self.assert_admin_answers(outcome)
                    if outcome.close_notify is not None:
                        self.assertTrue(outcome.close_notify, outcome.diagnostics[-3000:])
            for version, future in resumed.items():
                with self.subTest(client="s_client resumption", version=version):
                    first, second = future.result()
                    for outcome in (first, second):
                        self.assertEqual(outcome.code, 0, outcome.diagnostics[-2000:])
                        self.assert_admin_answers(outcome)
                        self.assertTrue(outcome.close_notify)
                    self.assertIn("Certificate\n", first.msgs)
                    self.assertNotIn("Certificate\n", second.msgs)  # resumed: no certificate
            with self.subTest(client="curl"):
                outcome = curl.result()
                self.assertEqual(outcome.code, 0, outcome.diagnostics[-2000:])
                self.assertEqual(outcome.received, self.ca_pem * CA_GETS)
                self.assertTrue(outcome.close_notify, outcome.diagnostics[-3000:])


if __name__ == "__main__":
    unittest.main()
