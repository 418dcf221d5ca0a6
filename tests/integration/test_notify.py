"""Notifications about access requests, end to end: a real pamproxyd, a webhook receiver over
HTTPS (a test CA) and an SMTP server that requires STARTTLS (aiosmtpd), both on loopback. A new
request reaches the approver by e-mail and the webhook, its decision the requester; the webhook's
HMAC verifies and every message links to the request. A receiver that answers 500 three times
gets the message on the fourth attempt, across a restart of pamproxyd after the second; one that
does not answer in time is retried, and the audit log names the timeout."""

import hashlib
import hmac
import json
import os
import queue
import ssl
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from admin_api import AdminAppliance
from tls_upstream import free_port, make_ca_and_leaf

CONSOLE_URL = "https://pam.example.test:8443"
WEBHOOK_KEY = "whsec-test-0123456789abcdef"
TIMEOUT_MS = 1000


class WebhookReceiver:
    """HTTPS on loopback. `plan` holds what the next POSTs get: a status, or "hang" (no answer
    for longer than pamproxyd waits); when it is empty, 200. Every POST is kept."""

    def __init__(self, cert, key):
        self.plan = []
        self.posts = queue.Queue()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    step = receiver.plan.pop(0) if receiver.plan else 200
                receiver.posts.put((self.path, dict(self.headers), body, step))
                if step == "hang":
                    time.sleep(3 * TIMEOUT_MS / 1000)
                    step = 200
                self.send_response(step)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next_post(self, timeout=20):
        return self.posts.get(timeout=timeout)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class MailBox:
    """aiosmtpd's handler: keeps each message with its envelope and whether it came over TLS."""

    def __init__(self):
        self.messages = queue.Queue()

    async def handle_DATA(self, server, session, envelope):
        self.messages.put({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                           "tls": session.ssl is not None,
                           "text": envelope.content.decode("utf-8")})
        return "250 OK"

    def next_message(self, timeout=20):
        return self.messages.get(timeout=timeout)


class Notifications(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs_dir = __import__("tempfile").mkdtemp(prefix="pamproxy-notify-")
        certs = make_ca_and_leaf(cls.certs_dir)
        cls.webhook = WebhookReceiver(certs["cert"], certs["key"])
        cls.mailbox = MailBox()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certs["cert"], certs["key"])
        smtp_port = free_port()
        cls.smtp = Controller(cls.mailbox, hostname="127.0.0.1", port=smtp_port,
                              tls_context=tls, require_starttls=True)
        cls.smtp.start()
        key_file = os.path.join(cls.certs_dir, "webhook.key")
        with open(key_file, "w") as f:
            f.write(WEBHOOK_KEY + "\n")
        cls.app = AdminAppliance((
            '[notify]\nconsole_url = "%s"\nwebhook_url = "https://127.0.0.1:%d/hook"\n'
            'webhook_secret_file = "%s"\nwebhook_ca_file = "%s"\n'
            'smtp_address = "127.0.0.1:%d"\nsmtp_ca_file = "%s"\n'
            'smtp_from = "pamproxy@example.test"\ntimeout_ms = %d\nretry_max_attempts = 5\n'
            'retry_initial_s = 1\nretry_max_s = 2\n') %
            (CONSOLE_URL, cls.webhook.port, key_file, certs["ca"], smtp_port, certs["ca"],
             TIMEOUT_MS))
        cls.world = cls.make_world()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.app.stop()
        finally:
            cls.smtp.stop()
            cls.webhook.stop()
            __import__("shutil").rmtree(cls.certs_dir, ignore_errors=True)

    @classmethod
    def make_world(cls):
        app = cls.app

        def ok(r, code=201):
            assert r[0] == code, r
            return r[1]
        ok(app.call("POST", "record-types/aws-access-keys/enable"), 200)
        w = {}
        approvers = ok(app.call("POST", "roles", {"name": "approvers"}))
        w["alice"] = ok(app.call("POST", "users", {"name": "alice",
                                                   "email": "alice@example.test"}))
        w["bob"] = ok(app.call("POST", "users", {"name": "bob"}))
        # An address can be added later, and the answer shows it.
        bob = ok(app.call("PATCH", "users/" + w["bob"]["id"], {"email": "bob@example.test"}), 200)
        assert bob["email"] == "bob@example.test", bob
        ok(app.call("PUT", "roles/%s/members/%s" % (approvers["id"], w["bob"]["id"])), 200)
        w["record"] = ok(app.call("POST", "records", {
            "name": "billing-prod", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}))
        ok(app.call("POST", "grants", {"user_id": w["alice"]["id"],
                                       "record_id": w["record"]["id"],
                                       "permissions": ["view", "connect"]}))
        ok(app.call("PUT", "records/%s/policy" % w["record"]["id"], {
            "approval": {"required": True, "approver_role_id": approvers["id"],
                         "max_duration_s": 7200}}), 200)
        for who in ("alice", "bob"):
            w[who + "_token"] = ok(app.call("POST", "tokens", {
                "name": who, "user_id": w[who]["id"]}))["bearer"]
        return w

    def setUp(self):
        # Each test waits for its own deliveries; what the last one left unread goes.
        for q in (self.webhook.posts, self.mailbox.messages):
            while not q.empty():
                q.get_nowait()

    def request_access(self, reason):
        status, req = self.app.call("POST", "requests", {
            "record": "billing-prod", "duration_s": 3600, "reason": reason},
            token=self.world["alice_token"])
        self.assertEqual(status, 201, req)
        return req

    def check_signature(self, headers, body):
        ts = headers["X-Pamproxy-Timestamp"]
        self.assertLess(abs(int(ts) - time.time()), 60)
        want = "sha256=" + hmac.new(WEBHOOK_KEY.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(headers["X-Pamproxy-Signature"], want))

    def audit_events(self, notification_id, want):
        """The notification's audit events, once `want` of them are written."""
        deadline = time.monotonic() + 10
        while True:
            status, page = self.app.call("GET", "audit/events?type=notification&limit=1000")
            self.assertEqual(status, 200, page)
            mine = [e for e in page["items"] if notification_id in e.get("detail", "")]
            if len(mine) >= want or time.monotonic() > deadline:
                return mine
            time.sleep(0.05)  # the writer commits every few ms; no event to wait on from here

    def test_request_and_decision_reach_approver_and_requester(self):
        req = self.request_access("INC-7 export")
        link = CONSOLE_URL + "/requests/" + req["id"]

        path, headers, body, _ = self.webhook.next_post()
        self.assertEqual(path, "/hook")
        self.check_signature(headers, body)
        hook = json.loads(body)
        self.assertEqual((hook["event"], hook["request"]["id"], hook["link"]),
                         ("request.created", req["id"], link))
        self.assertEqual((hook["request"]["requester_name"], hook["request"]["record_name"]),
                         ("alice", "billing-prod"))
        self.assertNotIn("wJalrXUtnFEMI", body.decode())
        mail = self.mailbox.next_message()
        self.assertEqual((mail["from"], mail["to"], mail["tls"]),
                         ("pamproxy@example.test", ["bob@example.test"], True))
        self.assertIn("awaits approval", mail["text"])
        self.assertIn(link, mail["text"])

        status, body = self.app.call("POST", "requests/%s/approve" % req["id"],
                                     {"note": "ok for today"}, token=self.world["bob_token"])
        self.assertEqual(status, 200, body)
        _, headers, body, _ = self.webhook.next_post()
        self.check_signature(headers, body)
        hook = json.loads(body)
        self.assertEqual((hook["event"], hook["request"]["state"],
                          hook["request"]["decided_by_name"], hook["request"]["end_at"]),
                         ("request.decided", "approved", "bob", req["end_at"]))
        mail = self.mailbox.next_message()
        self.assertEqual(mail["to"], ["alice@example.test"])
        self.assertIn("was approved by bob", mail["text"])
        self.assertIn("Note:      ok for today", mail["text"])
        self.assertIn(link, mail["text"])

    def test_failed_attempts_are_retried_across_a_restart(self):
        self.webhook.plan = [500, 500, 500]
        req = self.request_access("INC-8 retries")
        d = self.app.daemon
        first = d.wait_event("notify.attempt_failed", channel="webhook", request=req["id"],
                             attempt="1")
        self.assertEqual((first["cause"], first["error"]), ("http_500", "HTTP 500"))
        d.wait_event("notify.attempt_failed", channel="webhook", request=req["id"], attempt="2")
        self.app.restart()
        # The notifier starts before the admin API: the third attempt may come before "ready".
        d = self.app.daemon
        d.wait_event_or_seen("notify.attempt_failed", channel="webhook", request=req["id"],
                             attempt="3")
        delivered = d.wait_event_or_seen("notify.delivered", channel="webhook",
                                         request=req["id"])
        self.assertEqual(delivered["attempt"], "4")
        posts = [self.webhook.next_post(timeout=1) for _ in range(4)]
        self.assertEqual([p[3] for p in posts], [500, 500, 500, 200])
        self.assertEqual(len({p[1]["X-Pamproxy-Delivery"] for p in posts}), 1)
        for p in posts:
            self.check_signature(p[1], p[2])
        self.assertEqual(self.mailbox.next_message()["to"], ["bob@example.test"])
        events = self.audit_events(delivered["notification"], 3)
        self.assertEqual(sorted(e["eventName"] for e in events),
                         ["notification.attempt_failed"] * 3)
        self.assertEqual({e["errorCode"] for e in events}, {"http_500"})
        status, metrics = self.app.call("GET", "metrics")
        self.assertEqual(status, 200, metrics)
        self.assertIn('pamproxy_notify_attempts_failed_total{channel="webhook"}', metrics)
        self.assertIn('pamproxy_notify_delivered_total{channel="email"}', metrics)

    def test_a_receiver_that_times_out_is_retried_and_the_audit_names_the_timeout(self):
        self.webhook.plan = ["hang"]
        req = self.request_access("INC-9 slow receiver")
        d = self.app.daemon
        failed = d.wait_event("notify.attempt_failed", channel="webhook", request=req["id"])
        self.assertEqual((failed["cause"], failed["error"]),
                         ("timeout", "timeout after %d ms" % TIMEOUT_MS))
        delivered = d.wait_event("notify.delivered", channel="webhook", request=req["id"])
        self.assertEqual(delivered["attempt"], "2")
        self.assertEqual(self.mailbox.next_message()["to"], ["bob@example.test"])
        events = self.audit_events(failed["notification"], 1)
        self.assertEqual(len(events), 1, events)
        self.assertEqual((events[0]["eventName"], events[0]["errorCode"]),
                         ("notification.attempt_failed", "timeout"))
        self.assertIn("timeout after %d ms" % TIMEOUT_MS, events[0]["detail"])


if __name__ == "__main__":
    unittest.main()
