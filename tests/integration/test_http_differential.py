"""Differential test of pamproxy's HTTP/1.1 request codec against Node's own parser (llhttp).

The same corpus of raw byte streams (requests, and responses to GET or HEAD requests) goes through
http-probe (pamproxy's RequestParser / ResponseParser and BodyDecoder) and llhttp_oracle.js (llhttp, strict, as Node's http server runs it). For each
stream both report the requests read in order (method, target, payload bytes, keep-alive) and how
the stream ended. Any disagreement on accepting or refusing, on the requests read, or on where a
body ends fails the test, unless the case is listed in KNOWN_DIFFERENCES with the reason pamproxy
differs. A listed case must still differ (a stale entry fails too) in the stated direction: one
side refuses the stream outright while the other reads it.
"""

import json
import os
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.environ.get("HTTP_PROBE", "http-probe")
NODE = shutil.which("node")

H = b"Host: h\r\n"


def req(head, body=b""):
    return head + body


# name -> raw bytes. Valid traffic first, then smuggling and malformed cases.
CORPUS = {
    # Valid, as real clients send it.
    "get": b"GET /bucket?list-type=2&prefix=a%2Fb HTTP/1.1\r\n" + H + b"\r\n",
    "put_cl": b"PUT /b/k HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    "post_chunked": b"POST /x HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "chunk_ext": b"POST /x HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                 b"5;a=b;c=\"d e\"\r\nhello\r\n0\r\n\r\n",
    "chunk_trailers": b"POST /x HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32: AAAA==\r\n\r\n",
    "chunk_upper_hex": b"POST /x HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                       b"A\r\n0123456789\r\n0\r\n\r\n",
    "te_case": b"POST /x HTTP/1.1\r\n" + H + b"transfer-encoding: Chunked\r\n\r\n0\r\n\r\n",
    "pipelined": b"GET /a HTTP/1.1\r\n" + H + b"\r\n"
                 b"PUT /b HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nxyz"
                 b"DELETE /c HTTP/1.1\r\n" + H + b"\r\n",
    "close_then_more": b"GET /a HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
    "http10": b"GET / HTTP/1.0\r\n\r\n",
    "http10_keepalive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    "connect": b"CONNECT s3.amazonaws.com:443 HTTP/1.1\r\nHost: s3.amazonaws.com:443\r\n\r\n\x16\x03\x01",
    "absolute_form": b"GET http://h/x HTTP/1.1\r\n" + H + b"\r\n",
    "options_star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "leading_crlf": b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
    "obs_text_value": b"GET / HTTP/1.1\r\n" + H + b"X: caf\xc3\xa9\r\n\r\n",
    "tab_in_value": b"GET / HTTP/1.1\r\n" + H + b"X: a\tb\r\n\r\n",
    "empty_value": b"GET / HTTP/1.1\r\n" + H + b"X:\r\n\r\n",
    "cl_zero": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n",
    "cl_leading_zeros": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 003\r\n\r\nabc",
    "incomplete_head": b"GET / HTTP/1.1\r\nHo",
    "incomplete_body": b"PUT / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\nabc",
    # CL.TE / TE.CL.
    "cl_te": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
    "te_cl": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX",
    # TE.TE obfuscations.
    "te_space_colon": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te_xchunked": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n",
    "te_chunked_gzip": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
    "te_gzip_chunked": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te_identity": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n",
    "te_double": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_vtab": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    "te_obs_fold": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "te_http10": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    # Content-Length tricks.
    "cl_dup_equal": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "cl_dup_diff": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "cl_list": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc",
    "cl_plus": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc",
    "cl_hex": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nabc",
    "cl_space_inside": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 1 2\r\n\r\n",
    "cl_overflow": b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n",
    # Chunk-size tricks.
    "chunk_0x": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    "chunk_space_after": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
    "chunk_neg": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    "chunk_overflow": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n",
    "chunk_no_crlf_after_data": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    "chunk_lf_only": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
    "chunk_size_too_small": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
    "chunk_ext_space": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n",
    "chunk_ext_bare_cr": b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n",
    # Head bytes.
    "bare_lf": b"GET / HTTP/1.1\nHost: h\n\n",
    "bare_cr": b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
    "nul_value": b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n",
    "ctl_value": b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n",
    "del_value": b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n",
    "obs_fold": b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n",
    "space_before_colon": b"GET / HTTP/1.1\r\n" + H + b"X : a\r\n\r\n",
    "empty_name": b"GET / HTTP/1.1\r\n" + H + b": a\r\n\r\n",
    "no_colon": b"GET / HTTP/1.1\r\n" + H + b"Xa\r\n\r\n",
    "bad_name_char": b"GET / HTTP/1.1\r\n" + H + b"X(a): b\r\n\r\n",
    "double_space_request_line": b"GET  / HTTP/1.1\r\n" + H + b"\r\n",
    "tab_request_line": b"GET\t/ HTTP/1.1\r\n" + H + b"\r\n",
    "version_12": b"GET / HTTP/1.2\r\n" + H + b"\r\n",
    "version_20": b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    "lowercase_version": b"GET / http/1.1\r\n" + H + b"\r\n",
    "ctl_target": b"GET /\x01 HTTP/1.1\r\n" + H + b"\r\n",
    "utf8_target": b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n",
    "fragment_target": b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n",
    "missing_host": b"GET / HTTP/1.1\r\n\r\n",
    "duplicate_host": b"GET / HTTP/1.1\r\n" + H + H + b"\r\n",
    "expect_other": b"PUT / HTTP/1.1\r\n" + H + b"Expect: 200-ok\r\n\r\n",
    "connect_no_port": b"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n",
    "connect_with_body": b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
    "lowercase_method": b"get / HTTP/1.1\r\n" + H + b"\r\n",
    "custom_method": b"PROPFIND / HTTP/1.1\r\n" + H + b"\r\n",
}

# Response streams: name -> (method of the request, raw bytes).
RESPONSES = {
    "res_cl": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    "res_chunked": ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"3\r\nabc\r\n0\r\n\r\n"),
    "res_until_close": ("GET", b"HTTP/1.1 200 OK\r\n\r\nall the rest"),
    "res_http10_cl": ("GET", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "res_continue_then_ok": ("GET", b"HTTP/1.1 100 Continue\r\n\r\n"
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "res_204": ("GET", b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    "res_304_with_cl": ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
    "res_head_with_cl": ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                                 b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    "res_no_reason": ("GET", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"),
    "res_close": ("GET", b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxyz"),
    "res_cl_te": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"0\r\n\r\n"),
    "res_cl_dup_diff": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    "res_bad_status": ("GET", b"HTTP/1.1 2x0 OK\r\n\r\n"),
    "res_bare_lf": ("GET", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
    "res_obs_fold": ("GET", b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    "res_bad_chunk": ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "res_truncated": ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
}

# name -> (direction, why pamproxy differs from llhttp). "stricter": pamproxy refuses what llhttp
# accepts. "lenient": pamproxy accepts what llhttp refuses; allowed only where the framing of the
# stream cannot be read two ways.
KNOWN_DIFFERENCES = {
    "te_gzip_chunked": ("stricter", "any transfer coding besides a single chunked is refused (501): "
                        "AWS takes none, and a proxy must not relay codings it does not check"),
    "te_http10": ("stricter", "RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty "
                  "framing; llhttp frames it as chunked"),
    "double_space_request_line": ("stricter", "RFC 9112 3: request-line elements are separated by "
                                  "exactly one SP; llhttp skips extra spaces"),
    "version_20": ("stricter", "only HTTP/1.0 and 1.1 are spoken on this connection (505); llhttp "
                   "accepts any single-digit version in a request line"),
    "fragment_target": ("stricter", "RFC 9110 4.2.4: a fragment is never sent; refusing '#' keeps "
                        "two parsers from disagreeing on the path that is signed"),
    "missing_host": ("stricter", "RFC 9112 3.2: an HTTP/1.1 request without Host gets 400 "
                     "(llhttp leaves this to Node's server)"),
    "duplicate_host": ("stricter", "RFC 9112 3.2: more than one Host gets 400 (llhttp leaves this "
                       "to the server); the proxy checks Host against the CONNECT target"),
    "expect_other": ("stricter", "RFC 9110 10.1.1: an unknown expectation gets 417 (llhttp leaves "
                     "this to Node's server)"),
    "connect_no_port": ("stricter", "RFC 9110 9.3.6: CONNECT's authority-form needs a port"),
    "connect_with_body": ("stricter", "CONNECT content has no defined semantics (RFC 9110 9.3.6); "
                          "llhttp ignores its Content-Length and starts the tunnel"),
    "lowercase_method": ("lenient", "methods are case-sensitive tokens (RFC 9110 9.1): 'get' is an "
                         "extension method the origin refuses itself; llhttp knows only a fixed "
                         "list. No body framing depends on the method of a request"),
}


ALL = {**CORPUS, **RESPONSES}


def run_lines(cmd, cases):
    stdin = "".join((f"response {v[0]} {v[1].hex()}" if isinstance(v, tuple) else v.hex()) + "\n"
                    for v in cases.values())
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == len(cases), out.stderr
    return {name: json.loads(line) for name, line in zip(cases, lines)}


def verdict(r):
    """What must agree: the requests read (method, target, payload bytes, keep-alive) and whether
    the stream ended cleanly, was refused, or was cut short. Error codes differ by design."""
    return (tuple(tuple(sorted(m.items())) for m in r["messages"]), r["state"])


@unittest.skipIf(NODE is None, "node is not installed")
class HttpDifferential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ours = run_lines([PROBE], ALL)
        cls.node = run_lines([NODE, os.path.join(HERE, "llhttp_oracle.js")], ALL)

    def test_same_verdicts(self):
        unexpected = []
        for name in ALL:
            ours, node = self.ours[name], self.node[name]
            same = verdict(ours) == verdict(node)
            if name in KNOWN_DIFFERENCES:
                if same:
                    unexpected.append(f"{name}: listed as a difference but both agree now")
                continue
            if not same:
                unexpected.append(f"{name}: pamproxy {json.dumps(ours)} llhttp {json.dumps(node)}")
        self.assertEqual(unexpected, [], "\n" + "\n".join(unexpected))

    def test_listed_differences_go_the_stated_way(self):
        for name, (direction, reason) in KNOWN_DIFFERENCES.items():
            self.assertIn(name, ALL)
            self.assertTrue(reason)
            ours, node = self.ours[name], self.node[name]
            strict, lenient = (ours, node) if direction == "stricter" else (node, ours)
            self.assertIn(direction, ("stricter", "lenient"), name)
            self.assertEqual(strict["state"], "error", f"{name}: {reason}")
            self.assertEqual(strict["messages"], [], name)
            self.assertNotEqual(lenient["state"], "error", name)

    def test_corpus_exercises_both_verdicts(self):
        # A corpus where everything passes (or fails) would compare nothing useful.
        states = [self.node[n]["state"] for n in CORPUS]
        self.assertGreater(states.count("error"), 20)
        self.assertGreater(states.count("end") + states.count("closed"), 15)


if __name__ == "__main__":
    unittest.main()
