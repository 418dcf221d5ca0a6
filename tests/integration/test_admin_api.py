"""The admin REST API over real HTTPS against a real SQLite store: authentication, the
authorization matrix (admin / approver / plain user / revoked token / expired token), secrets
never leaving, bad input named by field, pagination, the access request workflow, audit events
of every change, favorites, and persistence across a restart."""

import json
import os
import socket
import ssl
import subprocess
import time
import unittest

from admin_api import AdminAppliance
from harness import PAMCTL

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"


class World:
    """Users, roles, tokens and a record with an approval policy, made through the API."""

    def __init__(self, app, test):
        self.app = app
        ok = lambda r, code=201: (test.assertEqual(r[0], code, r[1]), r[1])[1]
        p = os.urandom(4).hex()  # each test's world has names of its own
        ok(app.call("POST", "record-types/aws-access-keys/enable"), 200)
        self.approvers = ok(app.call("POST", "roles", {"name": p + "-approvers"}))
        self.alice = ok(app.call("POST", "users", {"name": p + "-alice"}))
        self.bob = ok(app.call("POST", "users", {"name": p + "-bob"}))
        self.carol = ok(app.call("POST", "users", {"name": p + "-carol"}))
        self.dave = ok(app.call("POST", "users", {"name": p + "-dave"}))  # only ever a grantee
        ok(app.call("PUT", "roles/%s/members/%s" % (self.approvers["id"], self.bob["id"])), 200)
        self.record = ok(app.call("POST", "records", {
            "name": p + "-billing", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": SECRET_KEY, "session_token": SESSION_TOKEN,
            "default_region": "eu-west-1", "tags": [p + "-prod"]}))
        self.other = ok(app.call("POST", "records", {
            "name": p + "-sandbox", "access_key_id": "AKIAIOSFODNN7EXAMPL2",
            "secret_access_key": SECRET_KEY, "tags": ["dev"]}))
        ok(app.call("POST", "grants", {"user_id": self.alice["id"],
                                       "record_id": self.record["id"],
                                       "permissions": ["view", "connect"]}))
        ok(app.call("PUT", "records/%s/policy" % self.record["id"], {
            "approval": {"required": True, "approver_role_id": self.approvers["id"],
                         "max_duration_s": 7200}}), 200)
        self.tokens = {}
        for who in ("alice", "bob", "carol"):
            t = ok(app.call("POST", "tokens", {"name": who, "user_id": getattr(self, who)["id"]}))
            self.tokens[who] = t["bearer"]
        revoked = ok(app.call("POST", "tokens", {"name": "old", "user_id": self.alice["id"]}))
        ok(app.call("POST", "tokens/%s/revoke" % revoked["id"]), 200)
        self.tokens["revoked"] = revoked["bearer"]
        expiring = ok(app.call("POST", "tokens", {"name": "brief", "user_id": self.alice["id"],
                                                  "expires_in_s": 1}))
        self.tokens["expired"] = expiring["bearer"]
        self.expires_at = expiring["expires_at"]


class AdminApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = AdminAppliance()

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()

    def test_health_and_ca_need_no_token_and_the_ca_verifies_the_api(self):
        status, body = self.app.call("GET", "health", token=None)
        self.assertEqual((status, body["status"]), (200, "ok"))
        status, pem = self.app.call("GET", "ca.pem", token=None)
        self.assertEqual(status, 200)
        with open(self.app.ca_file) as f:
            self.assertEqual(pem, f.read())
        # Everything else needs a token, and says how to send one.
        status, body = self.app.call("GET", "records", token=None)
        self.assertEqual(status, 401)
        self.assertIn("Bearer", body["error"]["message"])

    def test_bad_tokens_are_refused_without_telling_which_half_was_wrong(self):
        token_id, _, secret = self.app.admin_token.partition(":")
        wrong = "%s:%s" % (token_id, "x" * len(secret))
        unknown = "%s:%s" % ("Z" * len(token_id), secret)
        answers = {}
        for name, bearer in (("wrong secret", wrong), ("unknown id", unknown),
                             ("no colon", token_id), ("empty secret", token_id + ":")):
            status, body = self.app.call("GET", "whoami", token=bearer)
            self.assertEqual(status, 401, name)
            self.assertEqual(body["error"]["code"], "Unauthenticated")
            self.assertNotIn(secret, json.dumps(body))
            answers[name] = body["error"]["message"]
        self.assertEqual(answers["wrong secret"].replace(token_id, "ID"),
                         answers["unknown id"].replace("Z" * len(token_id), "ID"))
        status, body = self.app.call("GET", "whoami")
        self.assertEqual((status, body["user"]["name"], body["user"]["admin"]),
                         (200, "admin", True))

    def test_token_networks_are_enforced_for_the_api_too(self):
        status, t = self.app.call("POST", "tokens", {"name": "office",
                                                     "allowed_networks": ["10.0.0.0/8"]})
        self.assertEqual(status, 201, t)
        status, body = self.app.call("GET", "whoami", token=t["bearer"])
        self.assertEqual(status, 401)
        self.assertIn("10.0.0.0/8", body["error"]["message"])

    def test_authorization_matrix(self):
        w = World(self.app, self)
        rec, other = w.record["id"], w.other["id"]
        # (call, expected status for admin, bob the approver, alice the plain user with a grant,
        #  carol the plain user without, a revoked token, an expired token)
        matrix = [
            (("GET", "whoami"), 200, 200, 200, 200, 401, 401),
            (("GET", "settings"), 200, 200, 200, 200, 401, 401),
            (("PATCH", "settings", {"proxy.enabled": False}), 200, 403, 403, 403, 401, 401),
            (("GET", "record-types"), 200, 200, 200, 200, 401, 401),
            (("POST", "record-types/aws-access-keys/enable"), 200, 403, 403, 403, 401, 401),
            (("GET", "records/" + rec), 200, 404, 200, 404, 401, 401),
            (("GET", "records/" + other), 200, 404, 404, 404, 401, 401),
            (("PATCH", "records/" + rec, {"description": "x"}), 200, 404, 403, 404, 401, 401),
            (("GET", "records/%s/policy" % rec), 200, 404, 200, 404, 401, 401),
            (("PUT", "records/%s/policy" % other, {}), 200, 404, 404, 404, 401, 401),
            (("POST", "records", {"name": "n", "access_key_id": "AKIAIOSFODNN7EXAMPL3",
                                  "secret_access_key": "s"}), 201, 403, 403, 403, 401, 401),
            (("GET", "users"), 200, 403, 403, 403, 401, 401),
            (("GET", "users/" + w.alice["id"]), 200, 403, 200, 403, 401, 401),
            (("POST", "users", {"name": "mallory", "admin": True}), 201, 403, 403, 403, 401, 401),
            (("GET", "roles"), 200, 403, 403, 403, 401, 401),
            (("POST", "grants", {"user_id": w.dave["id"], "record_id": rec,
                                 "permissions": ["connect"]}), 201, 404, 403, 404, 401, 401),
            (("POST", "tokens", {"name": "for-alice", "user_id": w.alice["id"]}),
             201, 403, 201, 403, 401, 401),
            (("GET", "audit/events?limit=1"), 200, 403, 403, 403, 401, 401),
            (("GET", "metrics"), 200, 403, 403, 403, 401, 401),
            (("GET", "audit/verify"), 200, 403, 403, 403, 401, 401),
            (("GET", "dashboard"), 200, 403, 403, 403, 401, 401),
            (("GET", "sessions?resource=arn:aws:s3:::b/*"), 200, 200, 200, 200, 401, 401),
        ]
        callers = [self.app.admin_token, w.tokens["bob"], w.tokens["alice"], w.tokens["carol"],
                   w.tokens["revoked"], w.tokens["expired"]]
        names = ["admin", "approver", "user", "no-grant user", "revoked", "expired"]
        # The expired token must have expired before the table is run (it lives 1 s).
        deadline = time.monotonic() + 10
        while self.app.call("GET", "whoami", token=w.tokens["expired"])[0] != 401:
            self.assertLess(time.monotonic(), deadline, "the 1 s token never expired")
            time.sleep(0.1)
        failures = []
        for call, *expected in matrix:
            method, path, body = (call + (None,))[:3]
            for who, token, want in zip(names, callers, expected):
                b = body
                if method == "POST" and path in ("records", "users"):
                    b = dict(b, name="%s-%s" % (b["name"], who.replace(" ", "-")))
                status, answer = self.app.call(method, path, b, token=token)
                if status != want:
                    failures.append("%s %s as %s: %d, expected %d: %s" %
                                    (method, path, who, status, want, answer))
                if status >= 400:
                    self.assertIn("message", answer["error"])
        self.assertEqual(failures, [], "\n".join(failures))
        # The denials say why.
        _, body = self.app.call("GET", "whoami", token=w.tokens["revoked"])
        self.assertIn("revoked", body["error"]["message"])
        _, body = self.app.call("GET", "whoami", token=w.tokens["expired"])
        self.assertIn("expired at", body["error"]["message"])
        # A plain user lists only what they may view, never a secret.
        status, page = self.app.call("GET", "records", token=w.tokens["alice"])
        self.assertEqual([r["name"] for r in page["items"]], [w.record["name"]])
        self.assertEqual(page["items"][0]["secret_access_key_set"], True)
        self.assertEqual(page["items"][0]["session_token_set"], True)
        status, page = self.app.call("GET", "tokens", token=w.tokens["alice"])
        self.assertTrue(page["items"])
        self.assertEqual({t["user_id"] for t in page["items"]}, {w.alice["id"]})

    def test_access_request_workflow(self):
        w = World(self.app, self)
        status, req = self.app.call("POST", "requests", {
            "record": w.record["name"], "duration_s": 3600, "reason": "INC-1234 billing export"},
            token=w.tokens["alice"])
        self.assertEqual((status, req["state"]), (201, "pending"), req)
        path = "requests/%s" % req["id"]
        # The requester cannot approve her own; a plain user cannot see it; the approver can.
        status, body = self.app.call("POST", path + "/approve", token=w.tokens["alice"])
        self.assertEqual(status, 403, body)
        self.assertEqual(self.app.call("GET", path, token=w.tokens["carol"])[0], 404)
        status, listed = self.app.call("GET", "requests?state=pending", token=w.tokens["bob"])
        self.assertIn(req["id"], [r["id"] for r in listed["items"]])
        status, body = self.app.call("POST", path + "/approve", {"note": "ok for today"},
                                     token=w.tokens["bob"])
        self.assertEqual((status, body["state"], body["decided_by"]),
                         (200, "approved", w.bob["id"]), body)
        # Deciding twice is a conflict; the requester may revoke.
        self.assertEqual(self.app.call("POST", path + "/deny", token=w.tokens["bob"])[0], 409)
        status, body = self.app.call("POST", path + "/revoke", token=w.tokens["alice"])
        self.assertEqual((status, body["state"]), (200, "revoked"), body)

    def test_secrets_never_leave(self):
        w = World(self.app, self)
        seen = []
        for path in ("records", "records/" + w.record["id"], "records/" + w.record["name"],
                     "records/tag:" + w.record["tags"][0], "records/%s/policy" % w.record["id"], "tokens",
                     "audit/events?limit=1000", "users", "grants"):
            status, body = self.app.call("GET", path)
            self.assertEqual(status, 200, (path, body))
            seen.append(json.dumps(body))
        text = "".join(seen)
        self.assertNotIn(SECRET_KEY, text)
        self.assertNotIn(SESSION_TOKEN, text)
        for bearer in w.tokens.values():
            self.assertNotIn(bearer.partition(":")[2], text)
        self.assertNotIn(self.app.admin_token.partition(":")[2], text)
        # Nor the log.
        log = "\n".join(self.app.daemon.seen)
        self.assertNotIn(SECRET_KEY, log)

    def test_access_key_ids_of_s3_compatible_stores_are_kept_with_a_warning(self):
        self.app.call("POST", "record-types/aws-access-keys/enable")
        warning = ("the access key id does not look like an AWS one (AKIA or ASIA and 12-124 "
                   "upper-case letters and digits): right for an S3-compatible store, but AWS "
                   "will refuse it")
        status, rec = self.app.call("POST", "records", {
            "name": "minio-" + os.urandom(3).hex(), "access_key_id": "minioadmin",
            "secret_access_key": "minio-secret"})
        self.assertEqual(status, 201, rec)
        self.assertEqual(rec["access_key_id"], "minioadmin")
        self.assertEqual(rec["warnings"], [warning])
        status, rec = self.app.call("PATCH", "records/" + rec["id"],
                                    {"access_key_id": "GK31c2f218a2e44f485b94239e"})
        self.assertEqual(status, 200, rec)
        self.assertEqual(rec["warnings"], [warning])
        status, rec = self.app.call("PATCH", "records/" + rec["id"],
                                    {"access_key_id": "AKIAIOSFODNN7EXAMPL5"})
        self.assertEqual(status, 200, rec)
        self.assertNotIn("warnings", rec)
        status, rec = self.app.call("PATCH", "records/" + rec["id"], {"description": "d"})
        self.assertNotIn("warnings", rec)
        status, answer = self.app.call("PATCH", "records/" + rec["id"], {"access_key_id": "a b"})
        self.assertEqual(status, 400, answer)
        self.assertIn("3-128 printable ASCII characters without spaces",
                      answer["error"]["message"])
        # pamctl shows the warning on stderr; stdout keeps the record.
        token = self.app.tmp.file("admin.token", self.app.admin_token + "\n")
        os.chmod(token, 0o600)
        secret = self.app.tmp.file("secret", "ceph-secret\n")
        r = subprocess.run(
            [PAMCTL, "records", "add", "--name", "ceph-" + os.urandom(3).hex(),
             "--access-key-id", "0555b35654ad1656d804", "--secret-key-file", secret,
             "--url", "https://127.0.0.1:%d" % self.app.admin_port, "--token-file", token,
             "--ca", self.app.ca_file], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("pamctl records add: warning: " + warning, r.stderr)
        self.assertIn("0555b35654ad1656d804", r.stdout)

    def test_favorites_are_each_users_own_stars(self):
        w = World(self.app, self)
        rec, other = w.record["id"], w.other["id"]
        alice = w.tokens["alice"]
        status, answer = self.app.call("PUT", "records/%s/favorite" % rec, token=alice)
        self.assertEqual((status, answer), (200, {"record_id": rec, "favorite": True}))
        self.assertEqual(self.app.call("PUT", "records/%s/favorite" % rec, token=alice)[0], 200)
        # Only on a record the caller may view; a star grants nothing.
        self.assertEqual(self.app.call("PUT", "records/%s/favorite" % other, token=alice)[0], 404)
        self.assertEqual(self.app.call("GET", "records/" + other, token=alice)[0], 404)
        self.assertEqual(self.app.call("POST", "records/%s/favorite" % rec, token=alice)[0], 405)
        status, page = self.app.call("GET", "records?favorites=1", token=alice)
        self.assertEqual(status, 200, page)
        self.assertEqual([(r["id"], r["favorite"]) for r in page["items"]], [(rec, True)])
        self.assertTrue(self.app.call("GET", "records/" + rec, token=alice)[1]["favorite"])
        # The admin's list marks nothing: the star is alice's.
        status, page = self.app.call("GET", "records?limit=1000")
        mine = {r["id"]: r["favorite"] for r in page["items"]}
        self.assertEqual((mine[rec], mine[other]), (False, False))
        status, page = self.app.call("GET", "records?favorites=1&limit=1000")
        self.assertNotIn(rec, [r["id"] for r in page["items"]])
        status, answer = self.app.call("GET", "records?favorites=yes")
        self.assertEqual((status, answer["error"].get("field")), (400, "favorites"), answer)
        # pamctl: favorite, list --favorites, unfavorite (by name, as every REF).
        token = self.app.tmp.file("alice.token", alice + "\n")
        os.chmod(token, 0o600)
        common = ["--url", "https://127.0.0.1:%d" % self.app.admin_port, "--token-file", token,
                  "--ca", self.app.ca_file]
        run = lambda *args: subprocess.run([PAMCTL, "records", *args, *common],
                                           capture_output=True, text=True, timeout=60)
        r = run("unfavorite", w.record["name"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("false", r.stdout)
        r = run("list", "--favorites")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(w.record["name"], r.stdout)
        r = run("favorite", w.record["name"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("list", "--favorites")
        self.assertIn(w.record["name"], r.stdout)
        r = run("favorite", w.other["name"])
        self.assertNotEqual(r.returncode, 0)
        # Deleting the record takes its stars with it.
        self.assertEqual(self.app.call("DELETE", "records/" + rec)[0], 200)
        status, page = self.app.call("GET", "records?favorites=1", token=alice)
        self.assertEqual(page["items"], [])

    def test_bad_input_is_a_400_naming_the_field(self):
        cases = [
            ("POST", "users", {"name": "x", "admn": True}, "admn", "unknown field"),
            ("POST", "users", {"name": 7}, "name", "expected a string"),
            ("POST", "tokens", {"name": "t", "allowed_networks": ["10.0.0.0/33"]},
             "allowed_networks", None),
            ("POST", "tokens", {"name": "t", "expires_in_s": -5}, "expires_in_s", None),
            ("PATCH", "settings", {"proxy.enabled": "yes"}, "proxy.enabled", "expected true or false"),
        ]
        self.app.call("POST", "record-types/aws-access-keys/enable")
        status, rec = self.app.call("POST", "records", {
            "name": "bad-input-target", "access_key_id": "AKIAIOSFODNN7EXAMPL4",
            "secret_access_key": "k"})
        self.assertEqual(status, 201, rec)
        cases += [
            ("PUT", "records/%s/policy" % rec["id"], {"time_zone": "Mars/Olympus"},
             "time_zone", None),
            ("PUT", "records/%s/policy" % rec["id"], {"windows": ["Mon-Fri 18:00-08:00"]},
             "windows", None),
            ("PUT", "records/%s/policy" % rec["id"],
             {"windows": ["Mon-Fri 08:00-18:00", "Mon 17:00-19:00"]}, "windows", "overlap"),
            ("PUT", "records/%s/policy" % rec["id"],
             {"command_rules": [{"effect": "maybe", "pattern": "s3:*"}]},
             "command_rules[0].effect", None),
            ("PUT", "records/%s/policy" % rec["id"],
             {"command_rules": [{"effect": "deny", "pattern": "s3:*", "resource": "prod-*"}]},
             "command_rules[0].resource", "is not an ARN"),
        ]
        for method, path, body, field, words in cases:
            status, answer = self.app.call(method, path, body)
            self.assertEqual(status, 400, (path, body, answer))
            self.assertEqual(answer["error"]["code"], "InvalidField", answer)
            self.assertTrue(answer["error"]["field"].startswith(field), (field, answer))
            if words:
                self.assertIn(words, answer["error"]["message"])
        # Not JSON, oversize, chunked.
        status, _, text = self.app.raw("POST", "/api/v1/users", b"{nope", self.app.admin_token)
        self.assertEqual(status, 400, text)
        # Oversize: refused from the head alone, before the body is sent.
        ctx = ssl.create_default_context(cafile=self.app.ca_file)
        with socket.create_connection(("127.0.0.1", self.app.admin_port), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"POST /api/v1/users HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " +
                          self.app.admin_token.encode() + b"\r\nContent-Length: 2097152\r\n\r\n")
                answer = b""
                while b"}}" not in answer:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertIn(b"body_bytes_max", answer)
        status, _, text = self.app.raw("POST", "/api/v1/users", iter([b'{"name":"c"}']),
                                       self.app.admin_token, chunked=True)
        self.assertEqual(status, 411, text)

    def test_command_rules_scoped_to_resources_round_trip(self):
        self.app.call("POST", "record-types/aws-access-keys/enable")
        status, rec = self.app.call("POST", "records", {
            "name": "scoped-" + os.urandom(3).hex(), "access_key_id": "AKIAIOSFODNN7EXAMPL7",
            "secret_access_key": "k"})
        self.assertEqual(status, 201, rec)
        rules = [{"effect": "deny", "pattern": "s3:DeleteObject",
                  "resource": "arn:aws:s3:::prod-*/with space/*"},
                 {"effect": "allow", "pattern": "s3:*"}]
        status, body = self.app.call("PUT", "records/%s/policy" % rec["id"],
                                     {"command_rules": rules})
        self.assertEqual(status, 200, body)
        status, body = self.app.call("GET", "records/%s/policy" % rec["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["command_rules"], rules)

    def test_records_carry_an_aws_account_id_of_12_digits(self):
        self.app.call("POST", "record-types/aws-access-keys/enable")
        status, rec = self.app.call("POST", "records", {
            "name": "account-" + os.urandom(3).hex(), "access_key_id": "AKIAIOSFODNN7EXAMPL8",
            "secret_access_key": "k", "aws_account_id": "012345678901"})
        self.assertEqual(status, 201, rec)
        self.assertEqual(rec["aws_account_id"], "012345678901")
        status, rec = self.app.call("GET", "records/" + rec["id"])
        self.assertEqual((status, rec["aws_account_id"]), (200, "012345678901"))
        for bad in ("12345678901", "1234-5678-9012", "12345678901x"):
            status, answer = self.app.call("PATCH", "records/" + rec["id"], {"aws_account_id": bad})
            self.assertEqual(status, 400, answer)
            self.assertEqual(answer["error"]["code"], "InvalidField", answer)
            self.assertEqual(answer["error"]["field"], "aws_account_id", answer)
            self.assertIn("12 digits", answer["error"]["message"])
        status, rec = self.app.call("PATCH", "records/" + rec["id"],
                                    {"aws_account_id": "210987654321"})
        self.assertEqual((status, rec["aws_account_id"]), (200, "210987654321"), rec)
        status, rec = self.app.call("PATCH", "records/" + rec["id"], {"aws_account_id": ""})
        self.assertEqual((status, rec["aws_account_id"]), (200, ""), rec)
        # A record made without one has it empty.
        status, rec = self.app.call("POST", "records", {
            "name": "no-account-" + os.urandom(3).hex(), "access_key_id": "AKIAIOSFODNN7EXAMPL8",
            "secret_access_key": "k"})
        self.assertEqual((status, rec["aws_account_id"]), (201, ""), rec)

    def test_records_need_their_type_enabled_and_references_must_be_unique(self):
        self.app.call("POST", "record-types/aws-access-keys/disable")
        status, body = self.app.call("POST", "records", {
            "name": "early", "access_key_id": "AKIAIOSFODNN7EXAMPL5", "secret_access_key": "k"})
        self.assertEqual(status, 409, body)
        self.assertIn("record-types enable aws-access-keys", body["error"]["message"])
        self.app.call("POST", "record-types/aws-access-keys/enable")
        for name in ("web-eu-1", "web-eu-2"):
            status, body = self.app.call("POST", "records", {
                "name": name, "access_key_id": "AKIAIOSFODNN7EXAMPL6",
                "secret_access_key": "k", "tags": ["web"]})
            self.assertEqual(status, 201, body)
        status, body = self.app.call("GET", "records/name:web-eu-*")
        self.assertEqual(status, 409, body)
        self.assertIn("matches 2 records", body["error"]["message"])
        status, body = self.app.call("GET", "records/name:web-eu-2")
        self.assertEqual((status, body["name"]), (200, "web-eu-2"))
        status, body = self.app.call("POST", "records", {
            "name": "web-eu-1", "access_key_id": "AKIAIOSFODNN7EXAMPL6", "secret_access_key": "k"})
        self.assertEqual(status, 409, body)

    def test_lists_paginate(self):
        made = set()
        for i in range(7):
            status, u = self.app.call("POST", "users", {"name": "page-user-%d" % i})
            self.assertEqual(status, 201, u)
            made.add(u["id"])
        seen, cursor, pages = [], None, 0
        while True:
            status, page = self.app.call("GET", "users?limit=3" +
                                         ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page["items"]), 3)
            seen += [u["id"] for u in page["items"]]
            pages += 1
            cursor = page.get("next_cursor")
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)), "a user appeared on two pages")
        self.assertTrue(made <= set(seen))
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(self.app.call("GET", "users?limit=0")[0], 400)

    def test_every_change_is_an_audit_event_with_actor_and_no_secret(self):
        status, rec = self.app.call("POST", "users", {"name": "audited-user"})
        self.assertEqual(status, 201)
        token_id = self.app.admin_token.partition(":")[0]
        deadline = time.monotonic() + 10
        while True:
            status, page = self.app.call("GET", "audit/events?type=admin.change&limit=1000")
            self.assertEqual(status, 200, page)
            mine = [e for e in page["items"] if rec["id"] in json.dumps(e)]
            if mine or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the writer commits every few ms; no event to wait on from here
        self.assertEqual(len(mine), 1, page)
        e = mine[0]
        self.assertEqual(e["eventName"], "user.create")
        self.assertEqual(e["tokenId"], token_id)
        self.assertEqual(e["sourceIPAddress"], "127.0.0.1")


class HostileClients(unittest.TestCase):
    """Every wait is bounded and bad framing is refused, on the admin port as on the proxy."""

    @classmethod
    def setUpClass(cls):
        cls.app = AdminAppliance('[timeouts]\ntls_handshake_ms = 300\nrequest_head_ms = 300\n')

    @classmethod
    def tearDownClass(cls):
        cls.app.stop()

    def closed_by_server(self, sock):
        """True when the server closes the connection (EOF or reset) within 10 s."""
        sock.settimeout(10)
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except (socket.timeout, TimeoutError):
            return False
        return True

    def test_a_client_that_never_handshakes_is_dropped(self):
        with socket.create_connection(("127.0.0.1", self.app.admin_port)) as s:
            t0 = time.monotonic()
            self.assertTrue(self.closed_by_server(s))
            self.assertLess(time.monotonic() - t0, 5)

    def test_a_request_that_never_ends_is_dropped(self):
        ctx = ssl.create_default_context(cafile=self.app.ca_file)
        with socket.create_connection(("127.0.0.1", self.app.admin_port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: a\r\n")  # no end of head
                self.assertTrue(self.closed_by_server(s))

    def test_malformed_heads_get_400_and_a_close(self):
        ctx = ssl.create_default_context(cafile=self.app.ca_file)
        for head in (b"GET /api/v1/health HTTP/1.1\nHost: a\n\n",
                     b"GET http://evil.example/api/v1/health HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"GET /api/v1/health HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                     b"Content-Length: 2\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", self.app.admin_port)) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(head)
                    s.settimeout(10)
                    answer = s.recv(4096)
                    self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), (head, answer))
                    self.assertIn(b"Connection: close", answer)
                    self.assertTrue(self.closed_by_server(s))

    def test_unknown_paths_and_methods_say_so(self):
        status, body = self.app.call("GET", "nothing-here")
        self.assertEqual((status, body["error"]["code"]), (404, "NotFound"))
        status, _, text = self.app.raw("GET", "/etc/passwd", token=self.app.admin_token)
        self.assertEqual(status, 404, text)
        status, body = self.app.call("DELETE", "settings")
        self.assertEqual((status, body["error"]["code"]), (405, "MethodNotAllowed"))
        status, body = self.app.call("GET", "records/%00x")
        self.assertEqual(status, 400, body)


class Restart(unittest.TestCase):
    def test_everything_survives_a_restart(self):
        app = AdminAppliance()
        try:
            app.call("POST", "record-types/aws-access-keys/enable")
            app.call("PATCH", "settings", {"proxy.enabled": True})
            status, user = app.call("POST", "users", {"name": "persistent"})
            status, token = app.call("POST", "tokens", {"name": "p", "user_id": user["id"]})
            status, rec = app.call("POST", "records", {
                "name": "kept", "access_key_id": "AKIAIOSFODNN7EXAMPL7",
                "secret_access_key": SECRET_KEY})
            self.assertEqual(status, 201, rec)
            app.call("POST", "grants", {"user_id": user["id"], "record_id": rec["id"],
                                        "permissions": ["view", "connect"]})
            app.restart()
            self.assertEqual(app.call("GET", "settings")[1], {"proxy.enabled": True})
            status, who = app.call("GET", "whoami", token=token["bearer"])
            self.assertEqual((status, who["user"]["name"]), (200, "persistent"))
            status, body = app.call("GET", "records/kept", token=token["bearer"])
            self.assertEqual((status, body["id"], body["secret_access_key_set"]),
                             (200, rec["id"], True))
            # No second bootstrap admin.
            status, users = app.call("GET", "users")
            self.assertEqual([u["name"] for u in users["items"]].count("admin"), 1)
        finally:
            app.stop()


if __name__ == "__main__":
    unittest.main()
