"""Generated SigV4 requests for the oracle tests: awkward paths (unicode, reserved characters,
raw spaces, dot segments), queries (duplicate and empty keys, bare keys, non-canonical
encodings), multi-line and space-laden header values, S3 and non-S3 services, session tokens,
presigned URLs. Deterministic (seeded) so a failure names a reproducible case."""

import hashlib
import random
from urllib.parse import quote

SERVICES = ["s3", "s3", "sts", "ec2", "dynamodb", "execute-api", "s3-outposts", "iam"]
REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-2", "cn-north-1"]
PATH_PIECES = ["bucket", "key", "a b", "caf\u00e9", "\u65e5\u672c", "x+y", "k=v", "a$b", "t~u",
               "semi;colon", "at@sign", "", ".", "..", "com,ma", "paren(1)", "star*",
               "per%cent", "\U0001f600", "dash-_.", "excl!"]
QUERY_KEYS = ["a", "b", "B", "prefix", "max-keys", "list-type", "uploads", "k e y", "caf\u00e9",
              "x/y", "tilde~", "plus+", "Action"]
QUERY_VALUES = ["", "1", "two words", "a+b", "x/y/z", "\u00fc\u00f1\u00ee", "=", "&amp",
                "100%", "*", "~", "J", "2"]
UNRESERVED = "-_.~"


def rfc3986(s):
    return quote(s, safe=UNRESERVED)


def sloppy(s, rng):
    """An encoding a client might put on the wire that canonicalizes to rfc3986(s): lowercase
    hex, and '~' or '*' written raw or encoded."""
    out = []
    for ch in s:
        if ch == "~" and rng.random() < 0.5:
            out.append("%7e")
        elif ch == "*" and rng.random() < 0.5:
            out.append("*")
        else:
            enc = rfc3986(ch)
            out.append(enc.lower() if enc.startswith("%") and rng.random() < 0.5 else enc)
    return "".join(out)


class Case:
    """One request: what the signer sees, in wire form and in 'pasted' form."""

    def __init__(self, idx, rng):
        self.idx = idx
        self.service = rng.choice(SERVICES)
        self.s3 = self.service in ("s3", "s3-outposts", "s3express")
        self.region = rng.choice(REGIONS)
        self.method = rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD"])
        self.host = "svc%d.%s.amazonaws.com" % (idx, self.region)
        self.access_key = rng.choice(["AKIDEXAMPLE", "tok%d#record-%d" % (idx, idx),
                                      "t#name=prod, eu/west"])
        self.secret_key = "secret/%d+%s" % (idx, "k" * rng.randint(1, 60))
        self.session_token = (rng.choice(["", "", "FQoGZXIvYXdzE/+token==%d" % idx]))
        self.time_s = 1700000000 + idx * 3607
        self.presign = rng.random() < 0.25
        self.expires = rng.choice([1, 60, 3600, 604800])

        pieces = [rng.choice(PATH_PIECES) for _ in range(rng.randint(0, 4))]
        self.raw_path = "/" + "/".join(pieces)
        if rng.random() < 0.2:
            self.raw_path += "/"
        # What a client sends: each byte encoded but unreserved ones and '/'.
        self.wire_path = quote(self.raw_path, safe="/~")

        self.query = []  # decoded (name, value) pairs, in wire order
        for _ in range(rng.randint(0, 5)):
            k = rng.choice(QUERY_KEYS)
            self.query.append((k, None if rng.random() < 0.1 else rng.choice(QUERY_VALUES)))
            if rng.random() < 0.2:  # duplicate key
                self.query.append((k, rng.choice(QUERY_VALUES)))
        parts = []
        sloppy_parts = []
        for k, v in self.query:
            if v is None:
                parts.append(rfc3986(k))
                sloppy_parts.append(sloppy(k, rng))
            else:
                parts.append(rfc3986(k) + "=" + rfc3986(v))
                sloppy_parts.append(sloppy(k, rng) + "=" + sloppy(v, rng))
        self.wire_query = "&".join(parts)
        self.sloppy_query = "&".join(sloppy_parts)

        self.body = b""
        if self.method in ("PUT", "POST") and rng.random() < 0.7:
            self.body = ("body %d \u00e9\n" % idx).encode() * rng.randint(1, 50)
        self.headers = [("Host", self.host)]
        if rng.random() < 0.5:
            self.headers.append(("X-Amz-Meta-Spaces", "  lots   of \t spaces  here "))
        if rng.random() < 0.3:
            self.headers.append(("X-Amz-Meta-Multi", "first line"))
            self.headers.append(("x-amz-meta-multi", "second   value"))
        self.folded = rng.random() < 0.3
        if self.folded:
            # Sent as a folded header line in the pasted file; signers see it unfolded.
            self.headers.append(("X-Amz-Meta-Folded", "part one\n   part two"))
        if rng.random() < 0.5:
            self.headers.append(("Content-Type", "application/x-amz-json-1.1"))
        if self.body:
            self.headers.append(("Content-Length", str(len(self.body))))
        self.headers.append(("User-Agent", "aws-cli/2.9.19 command/s3.cp"))
        if self.s3:
            self.headers.append(("x-amz-content-sha256", rng.choice(
                ["UNSIGNED-PAYLOAD", hashlib.sha256(self.body).hexdigest()])))
        self.paste_raw_path = rng.random() < 0.5

    def amz_date(self):
        import time
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.time_s))

    def iso_time(self):
        import time
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time_s))

    def request_file(self, path, query, headers, line_end="\r\n", raw_path_ok=False):
        """The request as a pasted file. With raw_path_ok the path may be written unencoded
        (spaces, UTF-8), as people paste it."""
        target = path
        if query:
            target += "?" + query
        lines = ["%s %s HTTP/1.1" % (self.method, target)]
        for name, value in headers:
            if "\n" in value:
                first, rest = value.split("\n", 1)
                lines.append("%s: %s" % (name, first))
                lines.append(rest if rest.startswith((" ", "\t")) else " " + rest)
            else:
                lines.append("%s: %s" % (name, value))
        head = line_end.join(lines) + line_end + line_end
        return head.encode("utf-8") + self.body


def generate(n, seed=20261123):
    rng = random.Random(seed)
    return [Case(i, rng) for i in range(n)]
