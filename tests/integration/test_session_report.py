"""A session report reads like the commands the engineer typed: a scripted session of the real
AWS CLI through pamproxyd (zero trust) to the SigV4-checking stand-in for AWS, then `pamctl
sessions show` through the admin API, compared line by line. Only what truly varies is masked:
times, ids and the session's duration."""

import json
import os
import re
import subprocess
import time
import unittest

from harness import PAMCTL
from test_zero_trust import ZeroTrustFixture

RULE = "deny s3:DeleteBucket"
BUCKET = "report-bucket"
KEY = "2026/11/report.csv"
FILE_BYTES = 20 << 20  # multipart: parts of 8, 8 and 4 MiB

# The report, with <TIME> for a time of day, <T> for a full time, <DURATION> for the session's.
EXPECTED = """\
Session <ID>
  user:     alice (<USER_ID>, token <TOKEN_ID>)
  record:   <RECORD_NAME> (<RECORD_ID>)
  from:     127.0.0.1
  time:     <T> .. <T> (<DURATION>)
  requests: 9 (1 denied), bytes in <BYTES_IN>, out <BYTES_OUT>

  <TIME>  aws s3 mb -> s3://report-bucket
              CreateBucket  200
  <TIME>  aws s3 cp -> s3://report-bucket/2026/11/report.csv
              CreateMultipartUpload    200      out <OUT>
              UploadPart               200  x3  in 20.0 MiB
              CompleteMultipartUpload  200      in <IN>, out <OUT>
  <TIME>  aws s3 ls -> s3://report-bucket
              ListObjectsV2  200  out <OUT>
  <TIME>  aws s3 rm -> s3://report-bucket/2026/11/report.csv
              DeleteObject  204
  <TIME>  aws s3 rb -> s3://report-bucket
              DeleteBucket  DENIED  s3:DeleteBucket is denied on record '<RECORD_NAME>' by the rule 'deny s3:DeleteBucket'
"""


def masked(text):
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "<T>", text)
    text = re.sub(r"^  \d\d:\d\d:\d\d  ", "  <TIME>  ", text, flags=re.M)
    text = re.sub(r"\((\d+h)?(\d+m)?\d+s\)$", "(<DURATION>)", text, flags=re.M)
    return text


class SessionReportText(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.f = ZeroTrustFixture(seed_args=["--rule", RULE, "--admin"])
        cls.admin_port = int(cls.f.daemon.wait_event_or_seen("admin.listening")["port"])

    @classmethod
    def tearDownClass(cls):
        cls.f.stop()

    def pamctl(self, *args, admin=False):
        """pamctl through the admin API, as the user who typed the commands or as an admin."""
        f = self.f
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAMCTL_", "AWS_"))}
        token = (f.seed["admin_token"] if admin
                 else "%s:%s" % (f.seed["token_id"], f.seed["token_secret"]))
        env.update({"HOME": f.tmp.path,
                    "PAMCTL_URL": "https://127.0.0.1:%d" % self.admin_port,
                    "PAMCTL_CA": f.appliance_ca,
                    "PAMCTL_TOKEN": token})
        r = subprocess.run([PAMCTL] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, "pamctl %s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def test_a_scripted_session_reads_command_by_command(self):
        f = self.f
        src = f.tmp.file("report.csv", "")
        with open(src, "wb") as fh:
            fh.write(bytes(range(256)) * (FILE_BYTES // 256))
        for args in (("s3", "mb", "s3://" + BUCKET),
                     ("s3", "cp", src, "s3://%s/%s" % (BUCKET, KEY)),
                     ("s3", "ls", "s3://%s/2026/11/" % BUCKET),
                     ("s3", "rm", "s3://%s/%s" % (BUCKET, KEY))):
            r = f.aws(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = f.aws("s3", "rb", "s3://" + BUCKET)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("AccessDenied", r.stderr)

        deadline = time.monotonic() + 20
        while True:  # the session indexer follows the log every 500 ms
            listed = json.loads(self.pamctl("sessions", "list", "--json"))["items"]
            if listed and listed[0]["requests"] >= 9:
                break
            self.assertLess(time.monotonic(), deadline, listed)
            time.sleep(0.2)
        self.assertEqual(len(listed), 1, listed)
        session = listed[0]
        self.assertEqual((session["user"], session["user_name"], session["record_name"]),
                         (f.seed["user_id"], "alice", f.seed["record_name"]))

        text = self.pamctl("sessions", "show", session["id"])
        report = json.loads(self.pamctl("sessions", "show", session["id"], "--json"))["report"]
        # The bytes the JSON report counts are the ones the text shows.
        ops = {op["eventName"]: op for inv in report["invocations"] for op in inv["operations"]}
        expected = (EXPECTED.replace("<ID>", session["id"])
                    .replace("<USER_ID>", f.seed["user_id"])
                    .replace("<TOKEN_ID>", f.seed["token_id"])
                    .replace("<RECORD_ID>", f.seed["record_id"])
                    .replace("<RECORD_NAME>", f.seed["record_name"])
                    .replace("<BYTES_IN>", str(report["bytesIn"]))
                    .replace("<BYTES_OUT>", str(report["bytesOut"])))
        for name in ("CreateMultipartUpload", "CompleteMultipartUpload", "ListObjectsV2"):
            expected = expected.replace("<OUT>", human(ops[name]["bytesOut"]), 1)
        expected = expected.replace("<IN>", human(ops["CompleteMultipartUpload"]["bytesIn"]), 1)
        self.assertEqual(masked(text).splitlines(), expected.splitlines(), text)

        # The JSON report: every command with its resources, grouped as the text shows them.
        self.assertEqual([inv["name"] for inv in report["invocations"]],
                         ["aws s3 mb", "aws s3 cp", "aws s3 ls", "aws s3 rm", "aws s3 rb"])
        cp = report["invocations"][1]
        self.assertEqual((cp["firstCommand"], cp["commandCount"]), (1, 5))
        self.assertEqual(cp["resources"], ["arn:aws:s3:::%s/%s" % (BUCKET, KEY)])
        self.assertEqual([(op["eventName"], op["count"], op["bytesIn"])
                          for op in cp["operations"]][1], ("UploadPart", 3, FILE_BYTES))
        self.assertEqual(len(report["commands"]), 9)
        for c in report["commands"][1:6]:  # the copy's five requests
            self.assertEqual((c["cliCommand"], c["resources"], c["resourcesTotal"]),
                             ("s3.cp", ["arn:aws:s3:::%s/%s" % (BUCKET, KEY)], 1))
        denied = report["commands"][-1]
        self.assertEqual((denied["outcome"], denied["eventName"], denied["resources"]),
                         ("denied", "DeleteBucket", ["arn:aws:s3:::" + BUCKET]))

        # The list names the user and the record, its columns as wide as their cells.
        table = self.pamctl("sessions", "list").splitlines()
        self.assertEqual(table[0].split(), ["ID", "USER", "RECORD", "FROM", "STARTED",
                                            "REQUESTS", "DENIED", "STATE"])
        self.assertEqual(table[1].split()[:4], [session["id"], "alice", f.seed["record_name"],
                                                "127.0.0.1"])

        # Renamed, the user and the record show their current names; deleted, the user's id.
        user_id, record_id = f.seed["user_id"], f.seed["record_id"]
        self.pamctl("users", "edit", user_id, "--name", "alice-renamed", admin=True)
        self.pamctl("records", "edit", record_id, "--name", "renamed-record", admin=True)
        header = self.pamctl("sessions", "show", session["id"], admin=True).splitlines()[1:3]
        self.assertEqual(header, ["  user:     alice-renamed (%s, token %s)"
                                  % (user_id, f.seed["token_id"]),
                                  "  record:   renamed-record (%s)" % record_id])
        self.pamctl("users", "rm", user_id, admin=True)
        header = self.pamctl("sessions", "show", session["id"], admin=True).splitlines()[1]
        self.assertEqual(header, "  user:     %s (token %s)" % (user_id, f.seed["token_id"]))
        table = self.pamctl("sessions", "list", admin=True).splitlines()
        self.assertEqual(table[1].split()[:3], [session["id"], user_id, f.seed["record_name"]])


def human(n):
    """The report's byte counts: 512 B, 1.5 KiB, 16.0 MiB."""
    if n < 1024:
        return "%d B" % n
    v, units = n / 1024, ["KiB", "MiB", "GiB"]
    while v >= 1024 and len(units) > 1:
        v, units = v / 1024, units[1:]
    return "%.1f %s" % (v, units[0])


if __name__ == "__main__":
    unittest.main()
