"""`pamctl audit verify` and `pamctl audit export-key` against logs built here by an independent
implementation of the documented format (docs/audit.md): Python's hashlib for the chain and the
`cryptography` package for Ed25519. Tampered copies must be rejected with the line named."""

import hashlib
import json
import os
import subprocess
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import harness

GENESIS = "0" * 64


def file_name(first_seq):
    return "audit-%020d-20261123T120000Z.jsonl" % first_seq


class LogBuilder:
    """Writes a chained, signed audit log the way docs/audit.md describes it."""

    def __init__(self, key, node="node-a"):
        self.key = key
        self.node = node
        self.seq = 0
        self.prev = GENESIS
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self.files = []  # [(name, [lines])]

    def new_file(self):
        self.files.append((file_name(self.seq + 1), []))

    def _append(self, obj):
        line = json.dumps(obj, separators=(",", ":"))
        self.files[-1][1].append(line)
        self.prev = hashlib.sha256(line.encode()).hexdigest()

    def event(self, **fields):
        self.seq += 1
        obj = {"seq": self.seq, "prev": self.prev, "eventTime": "2026-11-23T12:00:%02d.000000Z" %
               (self.seq % 60), "eventType": "request.forwarded", "node": self.node}
        obj.update(fields)
        self._append(obj)

    def checkpoint(self, reason):
        self.seq += 1
        t = "2026-11-23T12:01:00.000000Z"
        message = "pamproxy-audit-checkpoint/1\n%d\n%s\n%s\n%s" % (self.seq, self.prev, t,
                                                                     self.node)
        sig = self.key.sign(message.encode()).hex()
        self._append({"seq": self.seq, "prev": self.prev, "eventTime": t,
                      "eventType": "audit.checkpoint", "node": self.node,
                      "checkpoint": {"reason": reason, "key": self.key_id, "sig": sig}})

    def write(self, directory):
        os.makedirs(directory, exist_ok=True)
        for name, lines in self.files:
            with open(os.path.join(directory, name), "w") as f:
                f.write("".join(l + "\n" for l in lines))


def pamctl(*args):
    return subprocess.run([harness.PAMCTL] + list(args), capture_output=True, text=True,
                          timeout=60)


class AuditVerifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = harness.TempDir()
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.pub_path = self.tmp.file("audit.pub", self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
        self.dir = os.path.join(self.tmp.path, "audit")
        b = LogBuilder(self.key)
        for f in range(3):
            b.new_file()
            for i in range(5):
                b.event(user="alice", recordId="rec-1", eventName="GetObject", status=200)
            b.checkpoint("rotate" if f < 2 else "shutdown")
        b.write(self.dir)
        self.names = [n for n, _ in b.files]

    def tearDown(self):
        self.tmp.cleanup()

    def verify(self, *extra):
        return pamctl("audit", "verify", self.dir, "--public-key", self.pub_path, *extra)

    def lines(self, i):
        with open(os.path.join(self.dir, self.names[i])) as f:
            return f.read().splitlines()

    def put(self, i, lines):
        with open(os.path.join(self.dir, self.names[i]), "w") as f:
            f.write("".join(l + "\n" for l in lines))

    def test_valid_log(self):
        r = self.verify("--require-sealed")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("valid: 3 file(s), 18 line(s), seq 1..18, 3 checkpoint(s)", r.stdout)

    def test_edit_names_the_line(self):
        l = self.lines(1)
        l[2] = l[2].replace('"alice"', '"mallory"')
        self.put(1, l)
        r = self.verify()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("%s/%s:3: " % (self.dir, self.names[1]), r.stdout)
        self.assertIn("was edited", r.stdout)

    def test_deleted_line(self):
        l = self.lines(0)
        del l[1]
        self.put(0, l)
        r = self.verify()
        self.assertEqual(r.returncode, 1)
        self.assertIn(":2: seq jumps from 1 to 3", r.stdout)

    def test_missing_middle_file(self):
        os.unlink(os.path.join(self.dir, self.names[1]))
        r = self.verify()
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.names[2] + ":1: seq jumps from 6 to 13: a file before this one is "
                      "missing", r.stdout)

    def test_truncated_file(self):
        path = os.path.join(self.dir, self.names[2])
        with open(path, "rb+") as f:
            f.truncate(os.path.getsize(path) - 30)
        r = self.verify()
        self.assertEqual(r.returncode, 1)
        self.assertIn("no newline", r.stdout)

    def test_forged_checkpoint(self):
        # A checkpoint signed with another key but claiming the appliance's key id.
        other = LogBuilder(ed25519.Ed25519PrivateKey.generate())
        l = self.lines(0)
        cp = json.loads(l[-1])
        message = "pamproxy-audit-checkpoint/1\n%d\n%s\n%s\n%s" % (
            cp["seq"], cp["prev"], cp["eventTime"], cp["node"])
        cp["checkpoint"]["sig"] = other.key.sign(message.encode()).hex()
        l[-1] = json.dumps(cp, separators=(",", ":"))
        self.put(0, l)
        r = self.verify()
        self.assertEqual(r.returncode, 1)
        self.assertIn(":6: checkpoint signature does not verify", r.stdout)

    def test_wrong_key_file(self):
        wrong = self.tmp.file("wrong.pub", ed25519.Ed25519PrivateKey.generate().public_key()
                              .public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
                              .decode())
        r = pamctl("audit", "verify", self.dir, "--public-key", wrong)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not by the given public key", r.stdout)

    def test_usage_errors_exit_2(self):
        self.assertEqual(pamctl("audit").returncode, 2)
        self.assertEqual(pamctl("audit", "verify").returncode, 2)
        self.assertEqual(pamctl("audit", "verify", self.dir, "--bogus").returncode, 2)
        r = pamctl("audit", "verify", self.dir, "--public-key", self.tmp.file("x.pub", "junk"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no public key", r.stderr)

    def test_export_key_prints_the_public_key_only(self):
        key_path = self.tmp.file("audit-ed25519.key", self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode())
        r = pamctl("audit", "export-key", "--key", key_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.pub_path) as f:
            self.assertEqual(r.stdout, f.read())
        self.assertNotIn("PRIVATE", r.stdout)
        r = pamctl("audit", "export-key", "--key", os.path.join(self.tmp.path, "missing.key"))
        self.assertEqual(r.returncode, 1)
        # The exported key verifies the log.
        exported = self.tmp.file("exported.pub", pamctl("audit", "export-key", "--key",
                                                        key_path).stdout)
        r = pamctl("audit", "verify", self.dir, "--public-key", exported)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_export_key_from_the_configured_state_directory(self):
        state = os.path.join(self.tmp.path, "state")
        os.makedirs(state)
        with open(os.path.join(state, "audit-ed25519.key"), "w") as f:
            f.write(self.key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode())
        conf = self.tmp.file("p.toml", '[store]\ndirectory = "%s"\n' % state)
        r = pamctl("audit", "export-key", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = pamctl("audit", "verify", self.dir, "--config", conf)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
