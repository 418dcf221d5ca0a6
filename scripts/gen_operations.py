#!/usr/bin/python3
"""Generates src/aws/operation_table.inc, the table the aws module names REST operations by, from
the service models AWS publishes with botocore (Debian's python3-botocore).

    scripts/gen_operations.py                 rewrites src/aws/operation_table.inc
    scripts/gen_operations.py --check FILE    exits 1 when FILE differs from what it would write

What the table holds:
  - every service of the models: its name, its signing name (metadata.signingName, else the
    endpoint prefix) and its protocol;
  - for the REST protocols (rest-json, rest-xml), every operation's HTTP method, its requestUri
    template split into path segments (literals, `{Label}` and greedy `{Label+}` with the label
    names) and query requirements (the template's fixed part, `?uploads` or `?list-type=2`, and
    the input's required query-string members), and the operation name.

Routes are grouped by signing name, since the signing name in a request's credential scope is
all the classifier knows of the service, and several model services may share one (lex-models
and lexv2-models sign as "lex"). Within a signing name they are sorted by method, then from the
most specific to the least, the order AWS's routers prefer: segment by segment a literal before a
label before a greedy label, then more query requirements first. The first route that matches a
request is therefore the most specific one, and two routes that still tie are ambiguous in the
models themselves.

S3's own operations are left out: operation.cc names them with its table, which knows what the
models cannot say in a URI template (virtual-hosted buckets, x-amz-copy-source). S3 Control,
which also signs as "s3", is in.

The file is checked in rather than generated at build time so the names a build uses do not
depend on which botocore the build host has, and a model update shows up as a reviewable diff.
"""

import argparse
import os
import sys

import botocore
import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "src", "aws", "operation_table.inc")

REST_PROTOCOLS = {"rest-json": "kRestJson", "rest-xml": "kRestXml"}
PROTOCOLS = {"rest-json": "kRestJson", "rest-xml": "kRestXml", "query": "kQuery", "ec2": "kEc2",
             "json": "kJson", "smithy-rpc-v2-cbor": "kRpcV2Cbor"}
# Order of the method codes in operation_table.inc (RestRoute::method).
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]
# Excluded services: named by operation.cc's own table.
OWN_TABLE = {"s3"}

LITERAL, LABEL, GREEDY = 0, 1, 2
# QueryKey::value of a key required with any value.
ANY_VALUE = 0xFFFFFFFF


class Pool:
    """One string of every text the table needs; a text found inside another is shared."""

    def __init__(self, texts):
        self.text = ""
        self.at = {}
        for t in sorted(set(texts), key=lambda t: (-len(t), t)):
            i = self.text.find(t)
            if i < 0:
                i = len(self.text)
                self.text += t
            self.at[t] = i

    def ref(self, t):
        assert len(t) < 256 and self.at[t] < (1 << 22), t
        return self.at[t] << 8 | len(t)


def segments_of(path):
    out = []
    for s in path.split("/"):
        if not s:
            continue
        if s.startswith("{") and s.endswith("}"):
            name = s[1:-1]
            out.append((GREEDY, name[:-1]) if name.endswith("+") else (LABEL, name))
        else:
            assert "{" not in s and "}" not in s, path
            out.append((LITERAL, s))
    assert sum(1 for kind, _ in out if kind == GREEDY) <= 1, "one greedy label at most: " + path
    return out


def query_of(fixed, op):
    """(key, value or None) pairs a request must carry: the template's fixed query, then the
    required query-string members of the input (presence only)."""
    out = []
    for part in fixed.split("&") if fixed else []:
        key, eq, value = part.partition("=")
        out.append((key, value if eq else None))
    shape = op.input_shape
    if shape is not None:
        for member in shape.required_members:
            m = shape.members[member]
            if m.serialization.get("location") != "querystring" or m.type_name == "map":
                continue  # a map spreads over keys of any name: nothing fixed to require
            key = m.serialization.get("name", member)
            if all(k != key for k, _ in out):
                out.append((key, None))
    return out


def specificity(route):
    # The end of a template ranks after any segment: "/{name+}/policy" before "/{name+}".
    segs = [(kind, text if kind == LITERAL else "") for kind, text in route["segments"]]
    segs.append((GREEDY + 1, ""))
    return (METHODS.index(route["method"]), segs, -len(route["query"]), route["service"],
            route["operation"])


def load():
    session = botocore.session.get_session()
    services = []
    for name in session.get_available_services():
        model = session.get_service_model(name)
        protocol = model.metadata["protocol"]
        signing = model.metadata.get("signingName") or model.endpoint_prefix
        routes = []
        if protocol in REST_PROTOCOLS and name not in OWN_TABLE:
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                path, _, fixed = op.http["requestUri"].partition("?")
                assert op.http["method"] in METHODS, (name, op_name)
                routes.append({"service": name, "operation": op_name,
                               "method": op.http["method"], "template": op.http["requestUri"],
                               "segments": segments_of(path), "query": query_of(fixed, op)})
        services.append({"name": name, "signing": signing, "protocol": protocol,
                         "routes": routes})
    return services


def render(services):
    services.sort(key=lambda s: s["name"])
    index = {s["name"]: i for i, s in enumerate(services)}
    by_signing = {}
    for s in services:
        by_signing.setdefault(s["signing"], []).extend(s["routes"])
    signing_names = sorted(by_signing)
    texts = [s["name"] for s in services] + signing_names
    for s in services:
        for r in s["routes"]:
            texts.append(r["operation"])
            texts.extend(t for _, t in r["segments"])
            for k, v in r["query"]:
                texts.append(k)
                texts.append(v or "")
    pool = Pool(texts)

    segment_rows, segment_at = [], {}
    query_rows, query_at = [], {}
    route_rows, signing_rows = [], []
    labels_max = 0
    for signing in signing_names:
        routes = sorted(by_signing[signing], key=specificity)
        signing_rows.append("  {%d, %d, %d},  // %s" % (pool.ref(signing), len(route_rows),
                                                         len(routes), signing))
        for r in routes:
            segs = tuple(r["segments"])
            if segs not in segment_at:
                segment_at[segs] = len(segment_rows)
                segment_rows.extend(pool.ref(t) | kind << 30 for kind, t in segs)
            query = tuple(r["query"])
            if query not in query_at:
                query_at[query] = len(query_rows)
                query_rows.extend((pool.ref(k), pool.ref(v) if v is not None else ANY_VALUE)
                                  for k, v in query)
            labels_max = max(labels_max, sum(1 for kind, _ in segs if kind != LITERAL))
            assert len(segs) < 256 and len(query) < 16
            route_rows.append("  {%d, %d, %d, %d, %d, %d, %d},  // %s %s %s" % (
                pool.ref(r["operation"]), index[r["service"]], segment_at[segs], query_at[query],
                len(segs), len(query), METHODS.index(r["method"]), r["service"], r["method"],
                r["template"]))
    assert len(segment_rows) < 65536 and len(query_rows) < 65536 and len(route_rows) < 65536

    out = ["// Generated by scripts/gen_operations.py from the service models of botocore %s."
           % botocore.__version__,
           "// Do not edit: run the script (a unit test fails while this file is stale).",
           "// %d services, %d signing names, %d REST routes, %d path segments, %d query keys,"
           % (len(services), len(signing_names), len(route_rows), len(segment_rows),
              len(query_rows)),
           "// %d bytes of text." % len(pool.text),
           "",
           "constexpr size_t kTableLabelsMax = %d;" % labels_max,
           "",
           "constexpr char kPool[] ="]
    for i in range(0, len(pool.text), 96):
        out.append('    "%s"' % pool.text[i:i + 96])
    out[-1] += ";"
    out += ["", "constexpr ModelService kModelServices[] = {"]
    for s in services:
        out.append("  {%d, %d, Protocol::%s, %d},  // %s" % (
            pool.ref(s["name"]), pool.ref(s["signing"]), PROTOCOLS[s["protocol"]],
            len(s["routes"]), s["name"]))
    out += ["};", "", "constexpr SigningName kSigningNames[] = {"] + signing_rows + ["};", ""]
    out += ["constexpr RestRoute kRoutes[] = {"] + route_rows + ["};", ""]
    out.append("constexpr uint32_t kSegments[] = {")
    for i in range(0, len(segment_rows), 8):
        out.append("  " + " ".join("%du," % v for v in segment_rows[i:i + 8]))
    out += ["};", "", "constexpr QueryKey kQueryKeys[] = {"]
    for i in range(0, len(query_rows), 6):
        out.append("  " + " ".join("{%du, %du}," % kv for kv in query_rows[i:i + 6]))
    out += ["};", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="FILE", help="compare with FILE instead of writing")
    args = parser.parse_args()
    text = render(load())
    if args.check:
        with open(args.check) as f:
            if f.read() != text:
                print("%s is stale: run scripts/gen_operations.py (botocore %s)"
                      % (args.check, botocore.__version__), file=sys.stderr)
                return 1
        return 0
    with open(OUTPUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
