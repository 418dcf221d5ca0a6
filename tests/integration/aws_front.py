"""Test endpoints that stand in for AWS: a test CA and its leaf certificates (openssl CLI), and
tests/node/aws_front.js (s3rver behind AWS's own SigV4 signer checking every request).

    ca = TestCA(tmpdir)                      # ca.cert_path is what clients trust
    with AwsFront(tmpdir, ca, keys=[RecordKeys("AKIA...", "secret")]) as front:
        front.port                           # HTTPS on 127.0.0.1
        front.requests()                     # what the endpoint saw, one dict per request
"""

import json
import os
import queue
import subprocess
import threading

from harness import SOURCE_ROOT

NODE_DIR = os.path.join(SOURCE_ROOT, "tests", "node")

# Names the endpoint answers for: AWS-looking hosts (reached through a resolve override) and
# loopback (reached directly).
DEFAULT_NAMES = ["localhost", "*.amazonaws.com", "s3.amazonaws.com", "*.s3.amazonaws.com",
                 "*.s3.us-east-1.amazonaws.com", "*.s3.eu-west-1.amazonaws.com"]


def _run(args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


class TestCA:
    """A throwaway CA (P-256) that signs leaf certificates for test endpoints."""

    def __init__(self, directory, name="pamproxy test upstream CA"):
        self.dir = os.path.join(directory, "test-ca")
        os.makedirs(self.dir, exist_ok=True)
        self.cert_path = os.path.join(self.dir, "ca.pem")
        self.key_path = os.path.join(self.dir, "ca.key")
        _run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key_path, "-out",
              self.cert_path, "-days", "2", "-subj", "/CN=" + name,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.dir)

    def issue(self, stem, dns_names, ip_addresses=("127.0.0.1",)):
        key = os.path.join(self.dir, stem + ".key")
        csr = os.path.join(self.dir, stem + ".csr")
        cert = os.path.join(self.dir, stem + ".pem")
        ext = os.path.join(self.dir, stem + ".ext")
        san = ",".join(["DNS:" + n for n in dns_names] + ["IP:" + ip for ip in ip_addresses])
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                    "basicConstraints=critical,CA:FALSE\n" % san)
        _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + dns_names[0]], self.dir)
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert_path, "-CAkey",
              self.key_path, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
             self.dir)
        return cert, key


class RecordKeys:
    def __init__(self, access_key_id, secret_access_key, session_token=None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token

    def as_json(self):
        out = {"accessKeyId": self.access_key_id, "secretAccessKey": self.secret_access_key}
        if self.session_token:
            out["sessionToken"] = self.session_token
        return out


def appliance_config(front, ca_path, hosts, state, proxy_port, admin_port=None, proxy_extra="",
                     buffer_count=128):
    """The pamproxyd TOML of the tests that reach this stand-in: the AWS host names in `hosts`
    resolved to the front (resolve overrides), its CA trusted upstream, one worker. `proxy_extra`
    goes into [proxy]; without `admin_port` the harness picks the admin port."""
    resolve = ", ".join('{ host = "%s", address = "127.0.0.1:%d" }' % (h, front.port)
                        for h in hosts)
    admin = '[admin]\nlisten = "127.0.0.1:%d"\n' % admin_port if admin_port else ""
    return """
[proxy]
listen = ["127.0.0.1:%d"]
%s
%s[upstream]
resolve = [%s]
[tls]
upstream_ca_file = "%s"
[store]
directory = "%s"
[engine]
threads = 1
pin_threads = false
buffer_count = %d
""" % (proxy_port, proxy_extra, admin, resolve, ca_path, state, buffer_count)


class AwsFront:
    def __init__(self, directory, ca, keys, names=DEFAULT_NAMES, account="123456789012"):
        self.dir = os.path.join(directory, "aws-front")
        os.makedirs(os.path.join(self.dir, "s3"), exist_ok=True)
        cert, key = ca.issue("aws-front", names)
        self.config_path = os.path.join(self.dir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump({"cert": cert, "key": key, "dataDir": os.path.join(self.dir, "s3"),
                       "keys": [k.as_json() for k in keys], "account": account}, f)
        self.proc = None
        self.port = None
        self._events = queue.Queue()
        self._requests = []
        self._lock = threading.Lock()

    def __enter__(self):
        self.proc = subprocess.Popen(["node", os.path.join(NODE_DIR, "aws_front.js"),
                                      self.config_path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=NODE_DIR)
        threading.Thread(target=self._read, daemon=True).start()
        first = self._events.get(timeout=60)
        if first is None or first.get("event") != "listening":
            raise RuntimeError("aws_front.js did not start: %s %s" %
                               (first, self.proc.stderr.read() if self.proc.poll() is not None
                                else ""))
        self.port = first["port"]
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "request":
                with self._lock:
                    self._requests.append(ev)
            self._events.put(ev)
        self._events.put(None)

    def wait_requests(self, count, timeout=30):
        """Waits until the endpoint has logged `count` requests in total; returns them all."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self._requests) >= count:
                    return list(self._requests)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("endpoint saw %d requests, expected %d" %
                                     (len(self._requests), count))
            try:
                self._events.get(timeout=left)
            except queue.Empty:
                pass

    def requests(self):
        with self._lock:
            return list(self._requests)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
