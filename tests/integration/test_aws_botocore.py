"""The aws module against botocore, an independent implementation of the same protocols:
- every operation of S3, STS, IAM, EC2, DynamoDB and SQS is serialized by botocore's own
  serializers and must be named the same by our classifier;
- every error shape we render is parsed by botocore's own parsers into the code and message the
  AWS CLI prints."""

import datetime
import os
import subprocess
import unittest
import urllib.parse

import botocore.parsers
import botocore.serialize
import botocore.session

AWS_TOOL = os.environ["AWS_TOOL"]

# Operations that share a wire request with another one (deprecated aliases): either name is
# right, ours is the current one.
ALIASES = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
}


def sample(shape, depth=0):
    """A minimal valid value for a botocore shape (required members only)."""
    t = shape.type_name
    if t == "structure":
        if depth > 4:
            return {}
        return {name: sample(shape.members[name], depth + 1)
                for name in shape.required_members}
    if t == "list":
        return []
    if t == "map":
        return {}
    if t in ("integer", "long"):
        return 1
    if t in ("float", "double"):
        return 1.0
    if t == "boolean":
        return True
    if t == "timestamp":
        return datetime.datetime(2026, 1, 1)
    if t == "blob":
        return b""
    if shape.enum:
        return shape.enum[0]
    return "sample-value"


def classify(lines):
    r = subprocess.run([AWS_TOOL, "classify"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=True, timeout=60)
    return [l.split("\t") for l in r.stdout.splitlines()]


class Classifier(unittest.TestCase):
    session = botocore.session.get_session()

    def requests_for(self, service):
        model = self.session.get_service_model(service)
        serializer = botocore.serialize.create_serializer(model.metadata["protocol"],
                                                       include_validation=False)
        signing = model.metadata.get("signingName", model.endpoint_prefix)
        out = []
        for name in model.operation_names:
            op = model.operation_model(name)
            params = sample(op.input_shape) if op.input_shape else {}
            if service == "s3":
                params.update({k: v for k, v in (("Bucket", "bucket"), ("Key", "dir/key.txt"))
                               if op.input_shape and k in op.input_shape.members})
            req = serializer.serialize_to_request(params, op)
            path, _, static_query = req["url_path"].partition("?")
            query = [static_query] if static_query else []
            qs = req.get("query_string") or {}
            if isinstance(qs, dict):
                if qs:
                    query.append(urllib.parse.urlencode(qs, doseq=True))
            elif qs:
                query.append(qs)
            headers = {k.lower(): v for k, v in req["headers"].items()}
            body = req["body"]
            if isinstance(body, dict):
                body = urllib.parse.urlencode(body, doseq=True)
            elif isinstance(body, bytes):
                body = body.decode("utf-8", "replace")
            form = body if "Action=" in (body or "") else ""
            content_type = headers.get("content-type", "")
            if not content_type and form:
                content_type = "application/x-www-form-urlencoded; charset=utf-8"
            line = "\t".join([signing, req["method"], path, "&".join(query), "",
                              headers.get("x-amz-target", ""), content_type,
                              "1" if "x-amz-copy-source" in headers else "0",
                              form.replace("\t", " ").replace("\n", " ")])
            out.append((name, line))
        return out

    def check_service(self, service, expected_protocol, allowed_misses=()):
        reqs = self.requests_for(service)
        results = classify([line for _, line in reqs])
        self.assertEqual(len(results), len(reqs))
        wrong = []
        for (name, line), (got, protocol, _) in zip(reqs, results):
            if got != name and ALIASES.get(name) != got and name not in allowed_misses:
                wrong.append("%s -> %s (%s)" % (name, got, line.split("\t")[1:4]))
            self.assertEqual(protocol, expected_protocol, name)
        self.assertEqual(wrong, [], "%d of %d %s operations misnamed" %
                         (len(wrong), len(reqs), service))
        return len(reqs)

    def test_s3_every_operation(self):
        # WriteGetObjectResponse goes to an S3 Object Lambda host, not a bucket path.
        n = self.check_service("s3", "rest-xml-s3", allowed_misses={"WriteGetObjectResponse"})
        self.assertGreater(n, 90)

    def test_query_protocols(self):
        self.check_service("sts", "query")
        self.check_service("iam", "query")
        self.check_service("sqs", "query")

    def test_ec2_every_operation(self):
        self.assertGreater(self.check_service("ec2", "ec2"), 400)

    def test_json_protocol(self):
        self.check_service("dynamodb", "json")
        self.check_service("kms", "json")

    def test_rest_json_falls_back_to_method_and_path(self):
        reqs = self.requests_for("lambda")
        for (name, line), (got, protocol, _) in zip(reqs, classify([l for _, l in reqs])):
            method, path = line.split("\t")[1:3]
            self.assertEqual(protocol, "rest-json", name)
            self.assertTrue(got.startswith(method + " " + path[:60]), (name, got))


def cbor_map(data):
    """Decodes the small CBOR map of text strings our rpc-v2-cbor errors use."""
    assert data[0] & 0xe0 == 0xa0
    count, i, out = data[0] & 0x1f, 1, {}

    def text(i):
        head = data[i]
        assert head & 0xe0 == 0x60
        n = head & 0x1f
        i += 1
        if n == 24:
            n, i = data[i], i + 1
        elif n == 25:
            n, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        return data[i:i + n].decode(), i + n

    for _ in range(count):
        k, i = text(i)
        v, i = text(i)
        out[k] = v
    return out


class ErrorShapes(unittest.TestCase):
    session = botocore.session.get_session()
    MESSAGE = "token 'abc' expired at 2026-01-01T00:00:00Z <renew it> & retry"

    def render(self, protocol, code="AccessDenied", status=403):
        out = subprocess.run([AWS_TOOL, "error", protocol, str(status), code, self.MESSAGE,
                              "REQ-123"], capture_output=True, check=True, timeout=30).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.assertTrue(lines[0].startswith("HTTP/1.1 %d " % status))
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(": ")
            headers[k.lower()] = v
        self.assertEqual(int(headers["content-length"]), len(body))
        return {"status_code": status, "headers": headers, "body": body}

    def parse(self, service, operation, response):
        model = self.session.get_service_model(service)
        op = model.operation_model(operation)
        parser = botocore.parsers.create_parser(model.metadata["protocol"])
        return parser.parse(response, op.output_shape)

    def check(self, service, operation, protocol, code="AccessDenied"):
        parsed = self.parse(service, operation, self.render(protocol, code))
        self.assertEqual(parsed["Error"]["Code"], code, parsed)
        self.assertEqual(parsed["Error"]["Message"], self.MESSAGE + " (request REQ-123)")
        err = botocore.exceptions.ClientError(parsed, operation)
        self.assertEqual(str(err), "An error occurred (%s) when calling the %s operation: %s"
                         % (code, operation, self.MESSAGE + " (request REQ-123)"))

    def test_s3(self):
        self.check("s3", "ListBuckets", "s3")
        parsed = self.parse("s3", "ListBuckets", self.render("s3"))
        self.assertEqual(parsed["ResponseMetadata"]["RequestId"], "REQ-123")

    def test_query(self):
        self.check("sts", "GetCallerIdentity", "query", "ExpiredToken")

    def test_ec2(self):
        self.check("ec2", "DescribeRegions", "ec2", "AuthFailure")

    def test_json(self):
        self.check("dynamodb", "ListTables", "json", "UnrecognizedClientException")

    def test_rest_json(self):
        self.check("lambda", "ListFunctions", "rest-json")

    def test_rest_xml(self):
        self.check("route53", "ListHostedZones", "rest-xml")

    def test_cbor(self):
        r = self.render("rpc-v2-cbor")
        self.assertEqual(r["headers"]["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(cbor_map(r["body"]), {"__type": "AccessDenied",
                                               "message": self.MESSAGE + " (request REQ-123)"})


if __name__ == "__main__":
    unittest.main()
