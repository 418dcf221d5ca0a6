"""Two pamproxyd nodes on one PostgreSQL 15 store (different node_name, the same master key),
boto3 going through node B to the signature-checking AWS stand-in: a change made through
node A's admin API is in force on node B within a second; with PostgreSQL stopped while boto3
keeps calling through both nodes, every call is served, node B refuses admin changes with 503 and
reports pamproxy_store_reachable 0, and with PostgreSQL back it takes changes again without a
restart; two admins editing one record from the same version, one after the other or both at
once: one gets 200, the other 409 naming the version the record is at; a node with another master
key refuses to start and says why; PostgreSQL paused (SIGSTOP: its connections stay open and
nothing answers, as in a network partition) while boto3 calls through both nodes: every call is
served without waiting, admin changes get 503 within their bound, the metric goes to 0 and back
to 1, and the session report and the token's last use count every call exactly once."""

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import boto3
import botocore.config
import botocore.exceptions

from aws_front import AwsFront, RecordKeys, TestCA, appliance_config
from harness import Daemon, TempDir
from test_cluster import audit_events, wait_for
from tls_upstream import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
RECORD = RecordKeys("AKIAPOSTGRESQL000001", "recordSecretKey/0123456789abcdefghijklmn")
HOSTS = ["s3.us-east-1.amazonaws.com", "*.s3.us-east-1.amazonaws.com", "s3.amazonaws.com"]
PROPAGATION_S = 1.0
# The nodes' [store] bounds (docs/cluster.md: how long a node waits for an unanswered server).
CONNECT_TIMEOUT_MS = 2000
BUSY_TIMEOUT_MS = 1000
# A change answered 503 at the latest after this (the statement's own bound, then a reconnect's).
WRITE_BOUND_S = (BUSY_TIMEOUT_MS + 2 * CONNECT_TIMEOUT_MS) / 1000
# The metric at 0 at the latest after the 5 s check interval, the statement's bound, a reconnect.
UNREACHABLE_BOUND_S = 5 + (BUSY_TIMEOUT_MS + 2 * CONNECT_TIMEOUT_MS) / 1000
# Time a slow, shared machine adds to each bound.
SLACK_S = 2.0
# No request waits on the store: each is served in well under the store's bounds.
REQUEST_BOUND_S = 2.0


class Postgresql:
    """A private PostgreSQL 15 (it refuses to run as root: the package's postgres user runs it),
    on a free port, in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pamproxy-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.log = os.path.join(self.dir, "log")
        self._as_postgres([PG_BIN + "/initdb", "-D", self.dir + "/data", "-A", "trust",
                           "-U", "pamproxy", "-E", "UTF8", "--locale=C", "-N"])
        self.start()

    def _as_postgres(self, args):
        out = subprocess.run(["runuser", "-u", "postgres", "--"] + args, capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (args[0], out.stdout, out.stderr))

    def conninfo(self):
        return "host=127.0.0.1 port=%d user=pamproxy dbname=postgres" % self.port

    def start(self):
        self._as_postgres([PG_BIN + "/pg_ctl", "-D", self.dir + "/data", "-o",
                           "-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off" %
                           (self.dir, self.port), "-l", self.log, "-w", "start"])

    def stop(self):
        self._as_postgres([PG_BIN + "/pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w",
                           "stop"])

    def signal_all(self, sig):
        """`sig` to the postmaster, then to each of its children (the backends, each in a
        session of its own, and the server's other processes)."""
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        os.kill(postmaster, sig)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == postmaster:
                os.kill(int(entry), sig)

    def cleanup(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    """One pamproxyd on the shared store, with its own state directory (certificates, audit
    log) and admin API."""

    def __init__(self, tmp, name, front, ca, pg, master_key=None):
        self.name = name
        self.state = os.path.join(tmp.path, name)
        os.makedirs(self.state, mode=0o700)
        if master_key is not None:
            path = os.path.join(self.state, "master.key")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(master_key)
        self.proxy_port = free_port()
        self.admin_port = free_port()
        config = appliance_config(front, ca.cert_path, HOSTS, self.state, self.proxy_port,
                                  admin_port=self.admin_port)
        config = config.replace("[store]\n", '[store]\nbackend = "postgresql"\n'
                                'postgresql_url = "%s"\nconnect_timeout_ms = %d\n'
                                'busy_timeout_ms = %d\n' %
                                (pg.conninfo(), CONNECT_TIMEOUT_MS, BUSY_TIMEOUT_MS))
        config += '[audit]\nnode_name = "%s"\n' % name
        self.config = tmp.file(name + ".toml", config)
        self.daemon = Daemon(["--config", self.config], cwd=tmp.path)
        self.token = None

    def ready(self):
        self.daemon.wait_event("daemon.ready")
        self.ca_file = os.path.join(self.state, "ca", "ca.pem")
        return self

    def raw(self, method, path, body=None, bearer=None):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.admin_port, context=ctx, timeout=30)
        try:
            headers = {"Authorization": "Bearer " + (bearer or self.token)}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, "/api/v1/" + path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read().decode()
            return r.status, (json.loads(text) if r.getheader("Content-Type") ==
                              "application/json" else text)
        finally:
            conn.close()

    def call(self, method, path, body=None, expect=200):
        status, answer = self.raw(method, path, body)
        if status != expect:
            raise AssertionError("%s %s on %s: %d %r" % (method, path, self.name, status, answer))
        return answer

    def metric(self, name):
        for line in self.call("GET", "metrics").splitlines():
            if line.startswith(name + " "):
                return line.split()[1]
        raise AssertionError("no metric %s on %s" % (name, self.name))


def s3_client(node, token):
    """A boto3 S3 client through `node`'s proxy listener, as `token`'s user, without retries."""
    return boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="%s#front" % token["id"],
        aws_secret_access_key=token["secret"], verify=node.ca_file,
        config=botocore.config.Config(
            proxies={"https": "http://127.0.0.1:%d" % node.proxy_port},
            retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


class Load(threading.Thread):
    """ListBuckets through each node in turn, paced, until stopped. Each call: (node, seconds it
    took, error or None, when it ended)."""

    def __init__(self, nodes, token):
        super().__init__(daemon=True)
        self.clients = [(n.name, s3_client(n, token)) for n in nodes]
        self.calls = []
        self.done = threading.Event()

    def run(self):
        i = 0
        while not self.done.is_set():
            name, client = self.clients[i % len(self.clients)]
            i += 1
            t0 = time.monotonic()
            try:
                client.list_buckets()
                error = None
            except Exception as e:  # reported by the test, with the call's node and time
                error = repr(e)
            self.calls.append((name, time.monotonic() - t0, error, time.monotonic()))
            self.done.wait(0.05)

    def served_since(self, t):
        """How many calls each node served that ended after `t`."""
        out = {}
        for name, _, error, ended in list(self.calls):
            if ended > t and error is None:
                out[name] = out.get(name, 0) + 1
        return out

    def stop(self):
        self.done.set()
        self.join(timeout=60)

    def check(self, test):
        """Every call served, none waiting on anything near the store's bounds."""
        test.assertEqual([c for c in self.calls if c[2] is not None], [])
        slowest = max(c[1] for c in self.calls)
        print("\n%d calls through both nodes, the slowest %.0f ms" %
              (len(self.calls), slowest * 1000))
        test.assertLess(slowest, REQUEST_BOUND_S)


class TwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PG_BIN + "/pg_ctl"):
            raise unittest.SkipTest("PostgreSQL 15 is not installed")
        cls.started = time.monotonic()
        cls.tmp = TempDir()
        cls.pg = Postgresql()
        cls.ca = TestCA(cls.tmp.path)
        cls.front = AwsFront(cls.tmp.path, cls.ca, [RECORD], names=HOSTS + ["localhost"])
        cls.front.__enter__()
        cls.nodes = []
        try:
            # The first node creates the schema, the master key and the bootstrap admin.
            a = cls.add(Node(cls.tmp, "node-a", cls.front, cls.ca, cls.pg)).ready()
            with open(os.path.join(a.state, "bootstrap-admin-token")) as f:
                a.token = f.read().strip()
            with open(os.path.join(a.state, "master.key")) as f:
                cls.master_key = f.read()
            b = cls.add(Node(cls.tmp, "node-b", cls.front, cls.ca, cls.pg,
                             master_key=cls.master_key)).ready()
            b.token = a.token  # one store: the same admin
            cls.a, cls.b = a, b
            cls.seed()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def add(cls, node):
        cls.nodes.append(node)
        return node

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            n.daemon.stop()
        cls.front.__exit__(None, None, None)
        cls.pg.cleanup()
        cls.tmp.cleanup()
        print("\n%s: %.1f s in all" % (cls.__name__, time.monotonic() - cls.started))

    @classmethod
    def seed(cls):
        """Through node A: a record, a user who may connect to it, two tokens, the proxy on."""
        a = cls.a
        a.call("POST", "record-types/aws-access-keys/enable")
        user = a.call("POST", "users", {"name": "alice"}, expect=201)
        cls.record = a.call("POST", "records", {
            "name": "front", "access_key_id": RECORD.access_key_id,
            "secret_access_key": RECORD.secret_access_key, "default_region": "us-east-1"},
            expect=201)
        a.call("POST", "grants", {"user_id": user["id"], "record_id": cls.record["id"],
                                  "permissions": ["view", "connect"]}, expect=201)
        cls.token = a.call("POST", "tokens", {"name": "cli", "user_id": user["id"]}, expect=201)
        cls.other_token = a.call("POST", "tokens", {"name": "cli2", "user_id": user["id"]},
                                 expect=201)
        a.call("PATCH", "settings", {"proxy.enabled": True})

    def s3_via_b(self, token=None):
        """ListBuckets with boto3 through node B: None when it worked, else the error's code and
        message."""
        client = s3_client(self.b, token or self.token)
        try:
            client.list_buckets()
            return None
        except botocore.exceptions.ClientError as e:
            return "%s: %s" % (e.response["Error"]["Code"], e.response["Error"]["Message"])

    def until_on_b(self, done, what):
        """Polls node B until `done()`; the time it took from now, at most PROPAGATION_S."""
        t0 = time.monotonic()
        while not done():
            if time.monotonic() - t0 > PROPAGATION_S:
                self.fail("%s: not on node B within %.1f s" % (what, PROPAGATION_S))
            time.sleep(0.01)
        took = time.monotonic() - t0
        print("\n%s reached node B in %.0f ms" % (what, took * 1000))
        return took

    def test_1_change_on_a_is_in_force_on_b_within_a_second(self):
        self.assertIsNone(self.s3_via_b())

        self.a.call("PATCH", "settings", {"proxy.enabled": False})
        self.until_on_b(lambda: not self.b.call("GET", "settings")["proxy.enabled"],
                        "proxy.enabled=false")
        refused = self.s3_via_b()
        self.assertIn("AccessDenied", refused)
        self.assertIn("disabled", refused)
        self.b.daemon.wait_event_or_seen("store.followed", timeout=1)

        self.a.call("PATCH", "settings", {"proxy.enabled": True})
        self.until_on_b(lambda: self.b.call("GET", "settings")["proxy.enabled"],
                        "proxy.enabled=true")
        self.assertIsNone(self.s3_via_b(self.other_token))

        # A token revoked on node A: node B refuses its next request. Node B's admin API
        # authenticates against its snapshot, as its proxy does.
        self.a.call("POST", "tokens/%s/revoke" % self.other_token["id"])
        self.until_on_b(lambda: self.b.raw("GET", "whoami", bearer=self.other_token["bearer"])[0]
                        == 401, "token revocation")
        self.assertIn("InvalidClientTokenId", self.s3_via_b(self.other_token))

    def test_1b_median_of_ten_changes(self):
        """The figure bench/RESULTS.md quotes: ten changes made on node A, each timed from the
        moment node A answered until node B's snapshot holds it."""
        took = []
        for i in range(10):
            enabled = i % 2 == 1
            self.a.call("PATCH", "settings", {"proxy.enabled": enabled})
            took.append(self.until_on_b(
                lambda: self.b.call("GET", "settings")["proxy.enabled"] == enabled,
                "change %d" % (i + 1)))
        took.sort()
        print("\nchange propagation A -> B over 10 changes: median %.0f ms, max %.0f ms" %
              ((took[4] + took[5]) / 2 * 1000, took[-1] * 1000))
        self.assertTrue(self.b.call("GET", "settings")["proxy.enabled"])

    def test_2_database_away_node_b_fails_static_and_resumes(self):
        load = Load([self.a, self.b], self.token)
        load.start()
        wait_for("calls through both nodes", lambda: len(load.served_since(0)) == 2)
        self.pg.stop()
        stopped = time.monotonic()
        try:
            self.b.daemon.wait_event("store.unreachable", timeout=10)
            # Requests are still decided against the last snapshot.
            self.assertIsNone(self.s3_via_b())
            status, answer = self.b.raw("PATCH", "settings", {"proxy.enabled": False})
            self.assertEqual(status, 503, answer)
            self.assertIn("database PostgreSQL (", answer["error"]["message"])
            self.assertIn("unreachable", answer["error"]["message"])
            self.assertEqual(self.b.metric("pamproxy_store_reachable"), "0")
            # What the snapshot holds is still read; what only the database holds waits.
            self.assertEqual(self.b.raw("GET", "records")[0], 200)
            self.assertEqual(self.b.raw("GET", "users")[0], 503)
        finally:
            self.pg.start()
        self.b.daemon.wait_event("store.reachable", timeout=10)
        self.assertEqual(self.b.metric("pamproxy_store_reachable"), "1")
        self.b.call("PATCH", "settings", {"proxy.enabled": True})
        self.a.daemon.wait_event_or_seen("store.reachable", timeout=10)
        self.assertEqual(self.a.metric("pamproxy_store_reachable"), "1")
        restarted = time.monotonic()
        wait_for("calls after the restart", lambda: len(load.served_since(restarted)) == 2)
        load.stop()
        # Requests ran through both nodes while the database was away, and none failed.
        self.assertEqual(len(load.served_since(stopped)), 2)
        load.check(self)

    def test_3_two_admins_one_version_the_second_gets_409(self):
        path = "records/" + self.record["id"]
        version = self.a.call("GET", path)["version"]
        self.assertEqual(self.b.call("GET", path)["version"], version)
        edited = self.a.call("PATCH", path, {"description": "from A", "version": version})
        self.assertEqual(edited["version"], version + 1)
        status, answer = self.b.raw("PATCH", path, {"description": "from B", "version": version})
        self.assertEqual(status, 409, answer)
        self.assertIn("is at version %d" % (version + 1), answer["error"]["message"])
        self.assertEqual(self.a.call("GET", path)["description"], "from A")

    def test_3b_two_admins_at_once_one_wins_the_other_gets_409(self):
        path = "records/" + self.record["id"]
        version = self.a.call("GET", path)["version"]
        wait_for("the version on node B", lambda: self.b.call("GET", path)["version"] == version)
        answers = {}
        start = threading.Barrier(2)

        def edit(node):
            start.wait()
            answers[node.name] = node.raw("PATCH", path, {"description": "at once from " +
                                                          node.name, "version": version})

        threads = [threading.Thread(target=edit, args=(n,)) for n in (self.a, self.b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        statuses = sorted(status for status, _ in answers.values())
        self.assertEqual(statuses, [200, 409], answers)
        winner = next(name for name, (status, _) in answers.items() if status == 200)
        _, refused = next(a for a in answers.values() if a[0] == 409)
        self.assertIn("is at version %d" % (version + 1), refused["error"]["message"])
        # The winner's edit, never both, never neither.
        for n in (self.a, self.b):
            wait_for("the edit on " + n.name, lambda: n.call("GET", path)["version"] == version + 1)
            self.assertEqual(n.call("GET", path)["description"], "at once from " + winner)

    def test_4_other_master_key_refuses_to_start(self):
        c = self.add(Node(self.tmp, "node-c", self.front, self.ca, self.pg,
                          master_key="b" * 64 + "\n"))
        failed = c.daemon.wait_event("store.open_failed", timeout=20)
        self.assertIn("does not open database PostgreSQL (", failed["error"])
        self.assertIn("wrong key?", failed["error"])
        self.assertNotEqual(c.daemon.proc.wait(timeout=20), 0)

    def test_5_partition_both_nodes_serve_and_nothing_is_lost(self):
        a, b = self.a, self.b
        # A user of its own: its sessions and its token count this test's calls only.
        user = a.call("POST", "users", {"name": "partition"}, expect=201)
        a.call("POST", "grants", {"user_id": user["id"], "record_id": self.record["id"],
                                  "permissions": ["view", "connect"]}, expect=201)
        token = a.call("POST", "tokens", {"name": "partition", "user_id": user["id"]},
                       expect=201)
        path = "records/" + self.record["id"]
        a.call("PATCH", path, {"description": "before the pause"})
        for n in (a, b):
            wait_for("the token on " + n.name,
                     lambda: n.raw("GET", "whoami", bearer=token["bearer"])[0] == 200)
            wait_for("the change before the pause on " + n.name,
                     lambda: n.call("GET", path)["description"] == "before the pause")

        load = Load([a, b], token)
        load.start()
        self.addCleanup(load.stop)  # a failed check must not leave the nodes busy to their drain
        wait_for("calls through both nodes", lambda: len(load.served_since(0)) == 2)
        self.pg.signal_all(signal.SIGSTOP)
        paused = time.monotonic()
        try:
            # A change made before the node has noticed waits at most for its bound.
            status, answer = b.raw("PATCH", path, {"description": "during the pause"})
            took = time.monotonic() - paused
            print("\nchange during the pause: %d after %.1f s" % (status, took))
            self.assertEqual(status, 503, answer)
            self.assertIn("database PostgreSQL (", answer["error"]["message"])
            self.assertLess(took, WRITE_BOUND_S + SLACK_S)
            for n in (a, b):
                wait_for("pamproxy_store_reachable 0 on " + n.name,
                         lambda: n.metric("pamproxy_store_reachable") == "0",
                         timeout=UNREACHABLE_BOUND_S + SLACK_S - (time.monotonic() - paused))
            print("both nodes at 0 after %.1f s" % (time.monotonic() - paused))
            # Known away: changes are refused at once; the snapshot still answers its reads.
            t0 = time.monotonic()
            self.assertEqual(a.raw("PATCH", path, {"description": "during the pause"})[0], 503)
            self.assertLess(time.monotonic() - t0, 1.0)
            self.assertEqual(a.raw("GET", path)[0], 200)
            self.assertEqual(b.raw("GET", "records")[0], 200)
            noticed = time.monotonic()
            wait_for("calls served during the pause",
                     lambda: len(load.served_since(noticed)) == 2)
        finally:
            self.pg.signal_all(signal.SIGCONT)
        resumed = time.monotonic()
        for n in (a, b):
            wait_for("pamproxy_store_reachable 1 on " + n.name,
                     lambda: n.metric("pamproxy_store_reachable") == "1", timeout=30)
        print("both nodes at 1 after %.1f s" % (time.monotonic() - resumed))
        wait_for("calls after the pause", lambda: len(load.served_since(resumed)) == 2)
        load.stop()
        load.check(self)

        # Changes after the pause reach every node.
        b.call("PATCH", path, {"description": "after the pause"})
        wait_for("the change after the pause on node A",
                 lambda: a.call("GET", path)["description"] == "after the pause")

        # Every call in the user's sessions exactly once, whichever node served it and whenever
        # its node's indexer could save it.
        calls = len(load.calls)
        forwarded = [e for n in (a, b) for _, e in audit_events(os.path.join(n.state, "audit"))
                     if e.get("eventType") == "request.forwarded" and
                     e.get("tokenId") == token["id"]]
        self.assertEqual(len(forwarded), calls)

        def counted():
            items = a.call("GET", "sessions?user=%s&limit=1000" % user["id"])["items"]
            return sum(s["requests"] for s in items)

        wait_for("%d calls in the sessions" % calls, lambda: counted() >= calls)
        self.assertEqual(counted(), calls)
        # The token's last use is the last call's, saved after the pause.
        last_used = a.call("GET", "tokens/" + token["id"])["last_used_at"]
        self.assertIsNotNone(last_used)


if __name__ == "__main__":
    unittest.main()
