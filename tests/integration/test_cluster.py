"""Two nodes behind HAProxy, one PostgreSQL store, one audit collector: the cluster that
docs/cluster.md describes, end to end on loopback.

HAProxy runs the configuration docs/cluster.md shows (its placeholders filled in here): TCP mode,
PROXY protocol v2 to each node's proxy listener, health checks on each node's admin API health
endpoint. It connects to the nodes from 127.0.0.2 while the clients connect from 127.0.0.1, so an
address a node records is the client's only if it came from the PROXY header. Both nodes share
the store (PostgreSQL 15), the master key and the appliance CA (one AWS_CA_BUNDLE for both), and
ship their audit logs to one rsyslogd over TLS. The real AWS CLI and boto3 go through HAProxy to
tests/node/aws_front.js, which checks every signature against the record's keys.

Proven: requests are served by both nodes with the client's address; a user's commands spread
over both nodes make one session report; node B killed with SIGKILL in the middle of an upload
loses nothing it acknowledged and the upload ends through node A; after a collector outage every
event of both nodes arrives in order and `pamctl audit verify --from-syslog` passes for each."""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from aws_front import AwsFront, TestCA, appliance_config
from harness import PAMCTL, SOURCE_ROOT, Daemon, TempDir
from syslog_collector import Collector
from test_zero_trust import AWS, HOSTS, RECORD, STORE_SEED
from tls_upstream import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
NODES = ("node-a", "node-b")
HAPROXY_SOURCE = "127.0.0.2"  # HAProxy's side of its connections to the nodes
CLIENT_ADDRESS = "127.0.0.1"


def wait_for(what, predicate, timeout=20.0):
    """Polls `predicate` until it returns something true; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class Postgresql:
    """A private PostgreSQL 15 (as the store's unit tests start theirs): initdb as the postgres
    user in a temporary directory, trust authentication, 127.0.0.1 on a free port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pamproxy-pg-")
        self.port = free_port()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run(os.path.join(PG_BIN, "initdb"), "-D", self.dir + "/data", "-A", "trust", "-U",
                 "pamproxy", "--no-locale", "-E", "UTF8")
        self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.dir + "/data", "-o",
                 "-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off" % (self.dir, self.port),
                 "-l", self.dir + "/log", "-w", "start")
        self.url = "postgresql://pamproxy@127.0.0.1:%d/postgres" % self.port

    def run(self, *args):
        r = subprocess.run(self.as_owner + list(args), capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (args[0], r.stdout, r.stderr))

    def stop(self):
        try:
            self.run(os.path.join(PG_BIN, "pg_ctl"), "-D", self.dir + "/data", "-m", "immediate",
                     "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def haproxy_template():
    """The HAProxy configuration docs/cluster.md shows, placeholders and all."""
    with open(os.path.join(SOURCE_ROOT, "docs", "cluster.md")) as f:
        doc = f.read()
    m = re.search(r"```haproxy\n(.*?)```", doc, re.S)
    if not m:
        raise AssertionError("docs/cluster.md shows no haproxy configuration")
    return m.group(1)


class HAProxy:
    def __init__(self, directory, values):
        self.dir = directory
        self.socket = os.path.join(directory, "haproxy.sock")
        text = haproxy_template()
        for name, value in dict(values, RUNTIME_SOCKET=self.socket).items():
            text = text.replace("<%s>" % name, value)
        left = re.findall(r"<[A-Z_]+>", text)
        if left:
            raise AssertionError("placeholders left in haproxy.cfg: %r" % left)
        self.config = os.path.join(directory, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write(text)
        check = subprocess.run(["haproxy", "-c", "-f", self.config], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError("haproxy -c: " + check.stdout + check.stderr)
        self.out = open(os.path.join(directory, "haproxy.out"), "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        wait_for("haproxy's runtime socket", lambda: os.path.exists(self.socket))

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out.decode()
                out += chunk

    def status(self, server):
        """The server's health as `show stat` says it ("UP", "DOWN", "MAINT", "DRAIN"...)."""
        rows = self.command("show stat").splitlines()
        head = rows[0].lstrip("# ").split(",")
        for row in rows[1:]:
            cells = dict(zip(head, row.split(",")))
            if cells.get("pxname") == "pamproxy" and cells.get("svname") == server:
                return cells["status"]
        return None

    def wait_status(self, server, status, timeout=20.0):
        wait_for("%s %s in haproxy" % (server, status),
                 lambda: self.status(server) == status, timeout)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def audit_events(audit_dir):
    """Every event of a node's local audit log, in order (a torn last line is left out)."""
    out = []
    for name in sorted(os.listdir(audit_dir)):
        if name.startswith("audit-") and name.endswith(".jsonl"):
            with open(os.path.join(audit_dir, name), "rb") as f:
                for raw in f.read().decode(errors="replace").splitlines():
                    try:
                        out.append((raw, json.loads(raw)))
                    except ValueError:
                        pass
    return out


class Cluster(unittest.TestCase):
    def setUp(self):
        started = time.monotonic()
        self.addCleanup(lambda: print("setUp: %.1f s" % self.setup_s))
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        # PostgreSQL starts (initdb: seconds) while the upstream and the collector do.
        pg = {}

        def start_postgresql():
            try:
                pg["server"] = Postgresql()
            except Exception as e:  # reported below, on the test's thread
                pg["error"] = e

        pg_thread = threading.Thread(target=start_postgresql)
        pg_thread.start()
        self.ca = TestCA(self.tmp.path)
        self.front = AwsFront(self.tmp.path, self.ca, [RECORD], names=HOSTS + ["localhost"])
        self.front.__enter__()
        self.addCleanup(self.front.__exit__, None, None, None)
        self.collector = Collector(self.tmp.path, self.ca, free_port())
        self.collector.start()
        self.addCleanup(self.collector.stop)
        pg_thread.join()
        if "error" in pg:
            raise pg["error"]
        self.pg = pg["server"]
        self.addCleanup(self.pg.stop)

        # The first node's state: the store seeded (which makes the master key with the empty
        # database); the other node gets a copy of the key and, after the first start, of the CA.
        states = {n: os.path.join(self.tmp.path, n) for n in NODES}
        for s in states.values():
            os.makedirs(s, mode=0o700)
        key_a = os.path.join(states["node-a"], "master.key")
        seeded = subprocess.run([STORE_SEED, self.pg.url, key_a, "--access-key",
                                 RECORD.access_key_id, "--secret-key", RECORD.secret_access_key,
                                 "--admin"], capture_output=True, text=True, timeout=60)
        self.assertEqual(seeded.returncode, 0, seeded.stderr)
        self.seed = json.loads(seeded.stdout)
        shutil.copy2(key_a, os.path.join(states["node-b"], "master.key"))

        self.nodes = {}
        for name in NODES:
            n = type("Node", (), {})()
            n.name = name
            n.state = states[name]
            n.audit_dir = os.path.join(n.state, "audit")
            n.proxy_port = free_port()
            n.admin_port = free_port()
            toml = appliance_config(
                self.front, self.ca.cert_path, HOSTS, n.state, n.proxy_port, n.admin_port,
                proxy_extra='proxy_protocol_trusted = ["%s/32"]' % HAPROXY_SOURCE,
                buffer_count=256)
            toml = toml.replace("[store]\n", '[store]\nbackend = "postgresql"\n'
                                'postgresql_url = "%s"\n' % self.pg.url)
            toml += ('[audit]\nnode_name = "%s"\nship_syslog_address = "127.0.0.1:%d"\n'
                     'ship_ca_file = "%s"\nship_batch_lines_max = 8\ncheckpoint_interval_s = 2\n'
                     % (name, self.collector.port, self.ca.cert_path))
            n.config = self.tmp.file(name + ".toml", toml)
            n.daemon = None
            self.nodes[name] = n
            self.addCleanup(self.stop_node, name)
            self.start_node(name)
            if name == "node-a":
                shutil.copytree(os.path.join(n.state, "ca"), os.path.join(states["node-b"], "ca"))
        self.appliance_ca = os.path.join(states["node-a"], "ca", "ca.pem")

        self.haproxy_port = free_port()
        values = {"LISTEN_ADDRESS": "127.0.0.1:%d" % self.haproxy_port,
                  "HAPROXY_SOURCE_ADDRESS": HAPROXY_SOURCE, "APPLIANCE_CA": self.appliance_ca}
        for name, n in self.nodes.items():
            key = name.upper().replace("-", "_")
            values[key + "_PROXY"] = "127.0.0.1:%d" % n.proxy_port
            values[key + "_ADMIN_PORT"] = str(n.admin_port)
        self.haproxy = HAProxy(self.tmp.path, values)
        self.addCleanup(self.haproxy.stop)
        for name in NODES:
            self.haproxy.wait_status(name, "UP")
        self.aws_config = self.tmp.file("aws-config", "[default]\ns3 =\n  addressing_style = path\n")
        self.setup_s = time.monotonic() - started

    def start_node(self, name):
        n = self.nodes[name]
        n.daemon = Daemon(["--config", n.config], cwd=self.tmp.path)
        n.daemon.wait_event("daemon.ready")

    def stop_node(self, name):
        n = self.nodes[name]
        if n.daemon and n.daemon.proc.poll() is None:
            self.assertEqual(n.daemon.stop(), 0)

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("https_proxy", "http_proxy")}
        env.update({
            "HTTPS_PROXY": "http://127.0.0.1:%d" % self.haproxy_port,
            "AWS_CA_BUNDLE": self.appliance_ca,
            "AWS_ACCESS_KEY_ID": "%s#%s" % (self.seed["token_id"], self.seed["record_name"]),
            "AWS_SECRET_ACCESS_KEY": self.seed["token_secret"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": self.aws_config,
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "HOME": self.tmp.path,
        })
        return env

    def aws(self, *args):
        r = subprocess.run([AWS] + list(args), env=self.env(), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, "aws %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def boto3(self, calls):
        """Runs boto3 calls in one process, each with a client of its own: a new connection
        each, which HAProxy's round robin sends to the next node. `calls`: (service, method,
        keyword arguments)."""
        code = (
            "import boto3, botocore.config, json, sys\n"
            "cfg = botocore.config.Config(s3={'addressing_style': 'path'})\n"
            "for service, method, kwargs in json.loads(sys.argv[1]):\n"
            "    client = boto3.client(service, config=cfg)\n"
            "    getattr(client, method)(**kwargs)\n"
            "    client.close()\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code, json.dumps(calls)], env=self.env(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def requests_of(self, name):
        """The request.forwarded events in a node's local log."""
        return [e for _, e in audit_events(self.nodes[name].audit_dir)
                if e.get("eventType") == "request.forwarded"]

    def admin(self, path):
        ctx = ssl.create_default_context(cafile=self.appliance_ca)
        c = http.client.HTTPSConnection("127.0.0.1", self.nodes["node-a"].admin_port,
                                        context=ctx, timeout=30)
        try:
            c.request("GET", "/api/v1/" + path,
                      headers={"Authorization": "Bearer " + self.seed["admin_token"]})
            r = c.getresponse()
            body = r.read().decode()
            self.assertEqual(r.status, 200, body)
            return json.loads(body)
        finally:
            c.close()

    def test_two_nodes_behind_haproxy(self):
        for step in (self.spread_commands_make_one_session, self.kill_node_b_during_upload,
                     self.collector_outage_then_verify):
            started = time.monotonic()
            step()
            print("%s: %.1f s" % (step.__name__, time.monotonic() - started))

    def spread_commands_make_one_session(self):
        # Each CLI run and each boto3 client is a new connection: HAProxy's round robin spreads
        # them over both nodes.
        self.aws("s3", "mb", "s3://cluster-bucket")
        self.boto3([["s3", "put_object", {"Bucket": "cluster-bucket", "Key": "k%d" % i,
                                          "Body": "sixteen bytes..."}] for i in range(2)] +
                   [["s3", "list_objects_v2", {"Bucket": "cluster-bucket"}]])
        self.aws("sts", "get-caller-identity")
        served = {}
        for name in NODES:
            events = wait_for("%s's request events" % name, lambda: self.requests_of(name))
            served[name] = events
            for e in events:
                self.assertEqual(e["node"], name)
                # The client's address from the PROXY v2 header, never HAProxy's.
                self.assertEqual(e["sourceIPAddress"], CLIENT_ADDRESS, e)
        total = sum(len(v) for v in served.values())
        print("requests served: %s" % {k: len(v) for k, v in served.items()})

        # One session for the user, the record and the client address, listing every command
        # of both nodes.
        def one_session():
            items = self.admin("sessions?user=%s" % self.seed["user_id"])["items"]
            return items if items and sum(s["requests"] for s in items) == total else None

        sessions = wait_for("the session reports of %d requests" % total, one_session)
        self.assertEqual(len(sessions), 1, sessions)
        report = self.admin("sessions/%s" % sessions[0]["id"])["report"]
        self.assertEqual(report["sourceIPAddress"], CLIENT_ADDRESS)
        self.assertEqual(len(report["commands"]), total)
        names = [c["eventName"] for c in report["commands"]]
        self.assertIn("CreateBucket", names)
        self.assertEqual(names.count("PutObject"), 2)
        self.assertIn("GetCallerIdentity", names)

    def kill_node_b_during_upload(self):
        # Node A drained: the upload's connection goes to node B.
        self.haproxy.command("set server pamproxy/node-a state drain")
        self.haproxy.wait_status("node-a", "DRAIN")
        part_bytes = 1 << 20  # the stand-in takes parts below S3's 5 MiB
        parts = 4
        code = (
            "import boto3, botocore.config, hashlib, sys\n"
            "s3 = boto3.client('s3', config=botocore.config.Config(s3={'addressing_style': "
            "'path'}, retries={'max_attempts': 4, 'mode': 'standard'}))\n"
            "up = s3.create_multipart_upload(Bucket='cluster-bucket', Key='big')['UploadId']\n"
            "done, whole = [], hashlib.sha256()\n"
            "for n in range(1, %d + 1):\n"
            "    body = bytes([n]) * %d\n"
            "    whole.update(body)\n"
            "    etag = s3.upload_part(Bucket='cluster-bucket', Key='big', UploadId=up,\n"
            "                          PartNumber=n, Body=body)['ETag']\n"
            "    done.append({'PartNumber': n, 'ETag': etag})\n"
            "    print('acknowledged', n, flush=True)\n"
            "    sys.stdin.readline()\n"
            "s3.complete_multipart_upload(Bucket='cluster-bucket', Key='big', UploadId=up,\n"
            "                             MultipartUpload={'Parts': done})\n"
            "got = s3.get_object(Bucket='cluster-bucket', Key='big')['Body'].read()\n"
            "print('complete', hashlib.sha256(got).hexdigest() == whole.hexdigest(), flush=True)\n"
            % (parts, part_bytes))
        env = self.env()
        env["AWS_MAX_ATTEMPTS"] = "4"
        up = subprocess.Popen(["/usr/bin/python3", "-c", code], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(up.kill)
        acknowledged = []
        for n in (1, 2):
            line = up.stdout.readline()
            self.assertEqual(line.split(), ["acknowledged", str(n)], up.stderr.read()
                             if not line else line)
            acknowledged.append(n)
            if n == 1:
                up.stdin.write("\n")
                up.stdin.flush()
        # Part 3 goes out once the client is told to go on; node B dies as it starts.
        self.haproxy.command("set server pamproxy/node-a state ready")
        b = self.nodes["node-b"]
        up.stdin.write("\n")
        up.stdin.flush()
        b.daemon.proc.kill()
        b.daemon.proc.wait(timeout=20)

        # Everything node B acknowledged is in its log: the multipart upload's creation and each
        # acknowledged part (durability before-forward: an event is on disk before the request
        # goes upstream).
        uploads = [e for e in self.requests_of("node-b")
                   if e.get("eventName") in ("CreateMultipartUpload", "UploadPart")]
        self.assertEqual(uploads[0]["eventName"], "CreateMultipartUpload")
        self.assertGreaterEqual(len(uploads) - 1, len(acknowledged), uploads)

        # The rest of the upload goes through node A (HAProxy redispatches what node B cannot
        # take; its health check takes node B out).
        for _ in range(parts - 2):
            up.stdin.write("\n")
            up.stdin.flush()
        out, err = up.communicate(timeout=60)
        self.assertEqual(up.returncode, 0, err)
        self.assertIn("complete True", out)
        self.haproxy.wait_status("node-b", "DOWN")
        a_names = [e.get("eventName") for e in self.requests_of("node-a")]
        self.assertIn("CompleteMultipartUpload", a_names)
        self.aws("s3", "ls", "s3://cluster-bucket/")

        # Node B comes back on its state (as after an upgrade) and HAProxy takes it in again.
        self.start_node("node-b")
        self.haproxy.wait_status("node-b", "UP")

    def collector_outage_then_verify(self):
        self.collector.stop()
        self.boto3([["s3", "put_object", {"Bucket": "cluster-bucket", "Key": "outage%d" % i,
                                          "Body": "eight.."}] for i in range(2)])
        for n in self.nodes.values():
            n.daemon.wait_event_or_seen("audit.ship_disconnected")
        self.collector.start()
        for n in self.nodes.values():
            n.daemon.wait_event("audit.ship_connected")
        # A clean stop seals each log with a checkpoint the collector confirms.
        for name in NODES:
            self.stop_node(name)
        for name, n in self.nodes.items():
            local = [raw for raw, _ in audit_events(n.audit_dir)]
            # rsyslogd may still be writing what it confirmed.
            wait_for("%s's %d lines at the collector" % (name, len(local)),
                     lambda: {json.loads(l)["seq"] for l in self.collected(name)} >=
                     set(range(1, len(local) + 1)))
            collected = self.collected(name)
            first = {}
            for line in collected:
                first.setdefault(json.loads(line)["seq"], line)
            self.assertEqual(sorted(first), list(range(1, len(local) + 1)), name)
            self.assertEqual([first[s] for s in sorted(first)], local, name)
            order = []
            for line in collected:
                seq = json.loads(line)["seq"]
                if seq not in order:
                    order.append(seq)
            self.assertEqual(order, sorted(order), "%s: out of order" % name)
        self.collector.stop()
        for name, n in self.nodes.items():
            v = subprocess.run([PAMCTL, "audit", "verify", "--from-syslog", self.collector.out,
                                "--node", name, "--config", n.config, "--require-sealed"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertIn("valid", v.stdout)
            print("%s: %s" % (name, v.stdout.strip().splitlines()[-1]))

    def collected(self, node):
        """The node's audit lines as the collector wrote them, in file order."""
        out = []
        for line in self.collector.lines():
            parts = line.split(" ", 7)
            if line.startswith("<110>1 ") and len(parts) == 8 and parts[2] == node and \
                    parts[3] == "pamproxy":
                out.append(parts[7])
        return out


if __name__ == "__main__":
    unittest.main()
