"""The aws module against botocore, an independent implementation of the same protocols:
- every operation of S3, STS, IAM, EC2, DynamoDB, SQS, SNS, KMS, Lambda, Secrets Manager, SSM,
  CloudWatch Logs, ECR, EKS and Route 53, and of every REST service of the models, is sent by a
  botocore client (the wire request it would put on the network: method, URL, headers, body,
  signed) and must be named the same by our classifier;
- every error shape we render is parsed by botocore's own parsers into the code and message the
  AWS CLI prints."""

import datetime
import functools
import os
import subprocess
import sys
import unittest
import urllib.parse

import botocore.config
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

# Operations the classifier cannot tell from another one, each with the reason: the models
# themselves give both the same wire request, or tell them apart only by what a signed request
# does not show the proxy.
KNOWN_AMBIGUOUS = {
    ("s3", "WriteGetObjectResponse"):
        "sent to an S3 Object Lambda host, not a bucket: POST /WriteGetObjectResponse reads as "
        "a POST to the bucket WriteGetObjectResponse",
    ("lexv2-models", "DescribeImport"):
        "lex-models' GetImport has the same route (GET /imports/{id}); both sign as lex, only the "
        "host (models-v2-lex or models.lex) tells them apart",
    ("lexv2-models", "ListImports"):
        "lex-models' StartImport has the same route (POST /imports/); both sign as lex, only the "
        "host tells them apart",
    ("cloudsearchdomain", "Search"):
        "botocore sends it as a form POST without the model's query (format=sdk&pretty=true); the "
        "model describes a GET",
}

# Services whose operations a SigV4 proxy never names: they sign with a bearer token, which the
# proxy refuses before it classifies anything.
NOT_SIGV4 = {"codecatalyst"}

# The services every operation of which is checked by name, with their protocol as the
# classifier reports it.
SERVICES = {
    "s3": "rest-xml-s3", "sts": "query", "iam": "query", "ec2": "ec2", "dynamodb": "json",
    "sqs": "query", "sns": "query", "kms": "json", "lambda": "rest-json",
    "secretsmanager": "json", "ssm": "json", "logs": "json", "ecr": "json", "eks": "rest-json",
    "route53": "rest-xml",
}


def sample(shape, depth=0):
    """A minimal valid value for a botocore shape (required members only; a list has one
    element so that a required list bound to the query string is sent)."""
    t = shape.type_name
    if t == "structure":
        if depth > 4:
            return {}
        return {name: sample(shape.members[name], depth + 1)
                for name in shape.required_members}
    if t == "list":
        return [sample(shape.member, depth + 1)] if depth <= 4 else []
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
        return b"x"
    if shape.enum:
        return shape.enum[0]
    return "sample-value"


def classify(lines):
    r = subprocess.run([AWS_TOOL, "classify"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=True, timeout=60)
    return [l.split("\t") for l in r.stdout.splitlines()]


@functools.lru_cache(maxsize=None)
def host_bucket(host):
    """The S3 bucket the proxy reads from a virtual-hosted name, by the aws module itself."""
    r = subprocess.run([AWS_TOOL, "endpoint", host], capture_output=True, text=True, timeout=30)
    return r.stdout.split("\t")[2] if r.returncode == 0 else ""


class Sent(Exception):
    """Raised by the before-send hook: the request is built and signed, nothing is sent."""

    def __init__(self, request):
        super().__init__()
        self.request = request


class Classifier(unittest.TestCase):
    session = botocore.session.get_session()
    coverage = []

    @classmethod
    def tearDownClass(cls):
        sys.stderr.write("\noperations named as botocore names them, per service:\n")
        for _, line in sorted(cls.coverage, key=lambda c: c[1]):
            sys.stderr.write("  " + line + "\n")
        named = sum(n for n, _ in cls.coverage)
        sys.stderr.write("  %d operations of %d services\n" % (named, len(cls.coverage)))

    def wire_requests(self, service):
        """(operation, wire request) for every operation of `service`, as a botocore client
        sends it with dummy values for the required members."""
        config = botocore.config.Config(parameter_validation=False,
                                        retries={"total_max_attempts": 1})
        client = self.session.create_client(service, region_name="us-east-1",
                                            aws_access_key_id="AKIDEXAMPLE",
                                            aws_secret_access_key="secret", config=config)

        def stop(request, **_):
            raise Sent(request)

        client.meta.events.register("before-send", stop)
        model = client.meta.service_model
        out = []
        for name in model.operation_names:
            op = model.operation_model(name)
            params = sample(op.input_shape) if op.input_shape else {}
            if service == "s3":
                params.update({k: v for k, v in (("Bucket", "bucket"), ("Key", "dir/key.txt"))
                               if op.input_shape and k in op.input_shape.members})
            try:
                client._make_api_call(name, params)
            except Sent as sent:
                out.append((name, sent.request))
                continue
            self.fail("%s %s: no request sent" % (service, name))
        return out

    def line_of(self, service, request):
        """The request as aws_tool classify reads it: what the proxy takes from it."""
        url = urllib.parse.urlsplit(request.url)
        headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                   for k, v in request.headers.items()}
        auth = headers.get("authorization", "")
        if "Credential=" in auth:
            signing = auth.split("Credential=")[1].split(",")[0].split("/")[3]
        else:  # an unsigned operation: the service's own signing name
            model = self.session.get_service_model(service)
            signing = model.metadata.get("signingName", model.endpoint_prefix)
        content_type = headers.get("content-type", "")
        form = ""
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = request.body
            form = body.decode() if isinstance(body, bytes) else (body or "")
        return "\t".join([signing, request.method, url.path, url.query,
                          host_bucket(url.hostname), headers.get("x-amz-target", ""),
                          content_type, "1" if "x-amz-copy-source" in headers else "0",
                          form.replace("\t", " ").replace("\n", " ")])

    def check_service(self, service, expected_protocol=None):
        reqs = [(name, self.line_of(service, request))
                for name, request in self.wire_requests(service)]
        results = classify([line for _, line in reqs])
        self.assertEqual(len(results), len(reqs))
        wrong, known = [], 0
        for (name, line), (got, protocol, _) in zip(reqs, results):
            named = got == name or ALIASES.get(name) == got
            if (service, name) in KNOWN_AMBIGUOUS:
                known += 1
                if named:
                    wrong.append("%s is named right now: no longer a known ambiguity" % name)
            elif named:
                if expected_protocol:
                    self.assertEqual(protocol, expected_protocol, name)
            else:
                wrong.append("%s -> %s (%s)" % (name, got, line.split("\t")[:4]))
        named = len(reqs) - known - len(wrong)
        self.coverage.append((named, "%-32s %4d of %4d%s" % (
            service, named, len(reqs), " (%d known ambiguous)" % known if known else "")))
        self.assertEqual(wrong, [], "%d of %d %s operations misnamed" %
                         (len(wrong), len(reqs), service))
        return len(reqs)

    def test_named_services_every_operation(self):
        for service, protocol in SERVICES.items():
            with self.subTest(service=service):
                self.check_service(service, protocol)

    def test_s3_and_ec2_are_whole(self):
        model = self.session.get_service_model
        self.assertGreater(len(model("s3").operation_names), 90)
        self.assertGreater(len(model("ec2").operation_names), 400)

    def test_every_rest_service(self):
        rest = [s for s in self.session.get_available_services()
                if s not in SERVICES and
                self.session.get_service_model(s).metadata["protocol"] in ("rest-json",
                                                                           "rest-xml")]
        self.assertGreater(len(rest), 150)
        for service in sorted(set(rest) - NOT_SIGV4):
            with self.subTest(service=service):
                self.check_service(service)


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
