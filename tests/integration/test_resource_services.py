"""What SQS, KMS, Secrets Manager, Lambda and IAM calls touch: the AWS CLI and boto3 through
pamproxyd to the SigV4-checking stand-in (which answers these five services from memory), with
a record that has an AWS account id and one resource-scoped deny per service. Each call's audit
event names its operation and exactly the ARNs it touched, with the record's account; a denied
call is refused with the rule and the resource in its message and never reaches the upstream,
while the same call on another resource goes through, re-signed.

Secrets Manager's own ARNs end in '-' and six random characters (`secret:prod/db-AbCdEf`) that a
client naming the secret `prod/db` never sees. The proxy names a secret by the ARN without that
suffix, whichever way the client names it, so a rule written without it
(`...:secret:prod/db`, or `...:secret:prod/*`) matches both a call by name and a call by the
full ARN; a rule written with the suffix, or with IAM's `prod/db-??????`, matches neither."""

import concurrent.futures
import http.client
import json
import os
import socket
import ssl
import subprocess
import unittest

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

from harness import PAMCTL
from test_zero_trust import RECORD, ZeroTrustFixture

ACCOUNT = "123456789012"  # the record's, and the stand-in's
REGION = "us-east-1"
EXTRA_HOSTS = ["sqs.us-east-1.amazonaws.com", "kms.us-east-1.amazonaws.com",
               "secretsmanager.us-east-1.amazonaws.com", "lambda.us-east-1.amazonaws.com",
               "iam.amazonaws.com"]

SQS_RULE = "deny sqs:DeleteQueue arn:aws:sqs:*:*:orders"
KMS_RULE = "deny kms:Encrypt arn:aws:kms:*:*:alias/prod"
SECRET_RULE = "deny secretsmanager:GetSecretValue arn:aws:secretsmanager:*:*:secret:prod/*"
SECRET_NAME_RULE = "deny secretsmanager:DeleteSecret arn:aws:secretsmanager:*:*:secret:prod/db"
LAMBDA_RULE = "deny lambda:DeleteFunction arn:aws:lambda:*:*:function:orders-*"
IAM_RULE = "deny iam:ListAttachedRolePolicies arn:aws:iam::*:role/deploy"
RULES = [SQS_RULE, KMS_RULE, SECRET_RULE, SECRET_NAME_RULE, LAMBDA_RULE, IAM_RULE]


def arn(service, resource, region=REGION):
    return "arn:aws:%s:%s:%s:%s" % (service, region, ACCOUNT, resource)


class ServicesNameWhatTheyTouch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        seed = ["--aws-account-id", ACCOUNT]
        for rule in RULES:
            seed += ["--rule", rule]
        cls.f = ZeroTrustFixture(seed_args=seed, extra_hosts=EXTRA_HOSTS)
        cls.session = boto3.session.Session()  # loads each service's model once
        cls.clients = []

    @classmethod
    def tearDownClass(cls):
        for client in cls.clients:
            client.close()
        cls.f.stop()

    # ---------------------------------------------------------------- making calls

    def cli(self, *calls):
        """Runs AWS CLI calls side by side (each takes a second or more); returns (marker,
        result) for each, in order. The marker is in the call's user agent."""
        def one(args):
            marker = "svc-%s" % os.urandom(6).hex()
            return marker, self.f.aws(*args, "--output", "json", marker=marker)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(one, calls))

    def boto3(self, service):
        """A boto3 client through the proxy whose calls carry a marker in their user agent;
        returns (marker, client)."""
        marker = "svc-%s" % os.urandom(6).hex()
        env = self.f.env()
        client = self.session.client(
            service, region_name=REGION, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], verify=self.f.appliance_ca,
            config=botocore.config.Config(proxies={"https": env["HTTPS_PROXY"]},
                                          user_agent_extra=marker,
                                          retries={"max_attempts": 1}))
        self.clients.append(client)
        return marker, client

    def ok(self, call):
        marker, r = call
        self.assertEqual(r.returncode, 0, r.stderr)
        return marker, json.loads(r.stdout or "{}")

    def refused(self, call, rule, resource):
        marker, r = call
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("An error occurred (AccessDenied)", r.stderr)
        self.assertIn(rule, r.stderr)
        self.assertIn(resource, r.stderr)
        return marker

    def boto3_refused(self, rule, resource, call, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            call(**kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDenied")
        message = caught.exception.response["Error"]["Message"]
        self.assertIn(rule, message)
        self.assertIn(resource, message)

    # ---------------------------------------------------------------- what the trail says

    def expect(self, expected):
        """`expected`: (marker, "forwarded" or "denied", operation, ARNs). Each marker has
        exactly one decision event, of that type, naming the operation and the ARNs with the
        record's account; a forwarded call reached the upstream once, verified, and a denied one
        never did."""
        out = subprocess.run([PAMCTL, "audit", "search", os.path.join(self.f.state, "audit"),
                              "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        events = [json.loads(line) for line in out.stdout.splitlines()]
        upstream = self.f.front.requests()
        for marker, kind, operation, resources in expected:
            with self.subTest(operation=operation, marker=marker):
                mine = [e for e in events if marker in e.get("userAgent", "")
                        and e["eventType"] in ("request.forwarded", "request.denied")]
                self.assertEqual([e["eventType"] for e in mine], ["request." + kind])
                event = mine[0]
                self.assertEqual(event["eventName"], operation)
                self.assertEqual(event.get("resources", []), resources)
                self.assertEqual(event["awsAccount"], ACCOUNT)
                seen = [q for q in upstream if marker in q.get("userAgent", "")]
                if kind == "denied":
                    self.assertEqual(seen, [])
                else:
                    self.assertEqual([(q["operation"], q["verified"]) for q in seen],
                                     [(operation, True)])

    # ---------------------------------------------------------------- the services

    def test_sqs_queues_are_named_from_their_name_or_url(self):
        orders = arn("sqs", "orders")
        scratch = arn("sqs", "scratch")
        b_create, sqs = self.boto3("sqs")
        url = sqs.create_queue(QueueName="orders")["QueueUrl"]
        self.assertEqual(url, "https://sqs.us-east-1.amazonaws.com/%s/orders" % ACCOUNT)
        b_send, sqs_send = self.boto3("sqs")
        sqs_send.send_message(QueueUrl=url, MessageBody="order 1")
        b_scratch, sqs_scratch = self.boto3("sqs")
        scratch_url = sqs_scratch.create_queue(QueueName="scratch")["QueueUrl"]
        receive, delete = self.cli(["sqs", "receive-message", "--queue-url", url],
                                   ["sqs", "delete-queue", "--queue-url", url])
        m_receive, got = self.ok(receive)
        self.assertEqual([m["Body"] for m in got["Messages"]], ["order 1"])
        m_delete = self.refused(delete, SQS_RULE, orders)
        b_url, sqs_url = self.boto3("sqs")
        self.assertEqual(sqs_url.get_queue_url(QueueName="orders")["QueueUrl"], url)
        b_delete, sqs_delete = self.boto3("sqs")
        sqs_delete.delete_queue(QueueUrl=scratch_url)
        self.expect([
            (b_create, "forwarded", "CreateQueue", [orders]),
            (b_send, "forwarded", "SendMessage", [orders]),
            (b_scratch, "forwarded", "CreateQueue", [scratch]),
            (m_receive, "forwarded", "ReceiveMessage", [orders]),
            (m_delete, "denied", "DeleteQueue", [orders]),
            (b_url, "forwarded", "GetQueueUrl", [orders]),
            (b_delete, "forwarded", "DeleteQueue", [scratch]),
        ])

    def test_kms_keys_and_aliases(self):
        prod = arn("kms", "alias/prod")
        dev = arn("kms", "alias/dev")
        b_create, kms = self.boto3("kms")
        key = kms.create_key(Description="prod")["KeyMetadata"]["KeyId"]
        dev_key = self.boto3("kms")[1].create_key(Description="dev")["KeyMetadata"]["KeyId"]
        key_arn = arn("kms", "key/" + key)
        dev_arn = arn("kms", "key/" + dev_key)
        b_alias, kms_alias = self.boto3("kms")
        kms_alias.create_alias(AliasName="alias/prod", TargetKeyId=key)
        b_dev_alias, kms_dev_alias = self.boto3("kms")
        kms_dev_alias.create_alias(AliasName="alias/dev", TargetKeyId=dev_key)
        describe, encrypt = self.cli(
            ["kms", "describe-key", "--key-id", key],
            ["kms", "encrypt", "--key-id", "alias/prod", "--plaintext", "aGVsbG8="])
        self.assertEqual(self.ok(describe)[1]["KeyMetadata"]["Arn"], key_arn)
        m_encrypt = self.refused(encrypt, KMS_RULE, prod)
        b_encrypt, kms_encrypt = self.boto3("kms")
        blob = kms_encrypt.encrypt(KeyId="alias/dev", Plaintext=b"hello")["CiphertextBlob"]
        # Decrypt by the key's ARN names that ARN as given; without KeyId the key is inside the
        # ciphertext, which only KMS can read: the call names no resource.
        b_decrypt, kms_decrypt = self.boto3("kms")
        self.assertEqual(kms_decrypt.decrypt(KeyId=dev_arn, CiphertextBlob=blob)["Plaintext"],
                         b"hello")
        b_bare, kms_bare = self.boto3("kms")
        self.assertEqual(kms_bare.decrypt(CiphertextBlob=blob)["KeyId"], dev_arn)
        self.expect([
            (b_create, "forwarded", "CreateKey", []),
            (b_alias, "forwarded", "CreateAlias", [prod, key_arn]),
            (b_dev_alias, "forwarded", "CreateAlias", [dev, dev_arn]),
            (b_decrypt, "forwarded", "Decrypt", [dev_arn]),
            (b_bare, "forwarded", "Decrypt", []),
            (describe[0], "forwarded", "DescribeKey", [key_arn]),
            (m_encrypt, "denied", "Encrypt", [prod]),
            (b_encrypt, "forwarded", "Encrypt", [dev]),
        ])

    def test_secrets_are_named_without_their_random_suffix(self):
        prod = arn("secretsmanager", "secret:prod/db")
        dev = arn("secretsmanager", "secret:dev/db")
        b_create, sm = self.boto3("secretsmanager")
        prod_full = sm.create_secret(Name="prod/db", SecretString="p")["ARN"]
        self.assertRegex(prod_full, r"^%s-[A-Za-z0-9]{6}$" % prod)  # as AWS's are
        b_dev, sm_dev = self.boto3("secretsmanager")
        sm_dev.create_secret(Name="dev/db", SecretString="d")
        by_name, dev_get = self.cli(
            ["secretsmanager", "get-secret-value", "--secret-id", "prod/db"],
            ["secretsmanager", "get-secret-value", "--secret-id", "dev/db"])
        m_by_name = self.refused(by_name, SECRET_RULE, prod)
        self.assertEqual(self.ok(dev_get)[1]["SecretString"], "d")
        b_by_arn, sm_by_arn = self.boto3("secretsmanager")
        self.boto3_refused(SECRET_RULE, prod, sm_by_arn.get_secret_value, SecretId=prod_full)
        # A rule naming the secret exactly matches its full ARN too.
        b_refused, sm_refused = self.boto3("secretsmanager")
        self.boto3_refused(SECRET_NAME_RULE, prod, sm_refused.delete_secret, SecretId=prod_full)
        b_delete, sm_delete = self.boto3("secretsmanager")
        sm_delete.delete_secret(SecretId="dev/db", ForceDeleteWithoutRecovery=True)
        self.expect([
            (b_create, "forwarded", "CreateSecret", [prod]),
            (b_dev, "forwarded", "CreateSecret", [dev]),
            (m_by_name, "denied", "GetSecretValue", [prod]),
            (dev_get[0], "forwarded", "GetSecretValue", [dev]),
            (b_by_arn, "denied", "GetSecretValue", [prod]),
            (b_refused, "denied", "DeleteSecret", [prod]),
            (b_delete, "forwarded", "DeleteSecret", [dev]),
        ])

    def test_lambda_functions_from_the_rest_path(self):
        orders = arn("lambda", "function:orders-worker")
        report = arn("lambda", "function:report-builder")
        # DeleteFunction is a REST-JSON call: its name comes from the route of Lambda's model
        # that fits DELETE /2015-03-31/functions/orders-worker.
        listed, delete = self.cli(
            ["lambda", "list-functions"],
            ["lambda", "delete-function", "--function-name", "orders-worker"])
        self.assertEqual(sorted(f["FunctionName"] for f in self.ok(listed)[1]["Functions"]),
                         ["orders-worker", "report-builder"])
        m_delete = self.refused(delete, LAMBDA_RULE, orders)
        b_get, lam = self.boto3("lambda")
        self.assertEqual(lam.get_function(FunctionName="orders-worker")["Configuration"]
                         ["FunctionArn"], orders)
        b_delete, lam_delete = self.boto3("lambda")
        lam_delete.delete_function(FunctionName="report-builder")
        b_arn, lam_arn = self.boto3("lambda")  # by ARN: the ARN as given
        self.boto3_refused(LAMBDA_RULE, orders, lam_arn.delete_function, FunctionName=orders)
        self.expect([
            (listed[0], "forwarded", "ListFunctions", []),
            (m_delete, "denied", "DeleteFunction", [orders]),
            (b_get, "forwarded", "GetFunction", [orders]),
            (b_delete, "forwarded", "DeleteFunction", [report]),
            (b_arn, "denied", "DeleteFunction", [orders]),
        ])

    def test_iam_roles_and_users_have_no_region(self):
        deploy = "arn:aws:iam::%s:role/deploy" % ACCOUNT
        get_role, attached = self.cli(
            ["iam", "get-role", "--role-name", "deploy"],
            ["iam", "list-attached-role-policies", "--role-name", "deploy"])
        self.assertEqual(self.ok(get_role)[1]["Role"]["Arn"], deploy)
        m_attached = self.refused(attached, IAM_RULE, deploy)
        b_caller, iam_caller = self.boto3("iam")
        self.assertEqual(iam_caller.get_user()["User"]["UserName"], "record-user")
        b_user, iam = self.boto3("iam")
        iam.get_user(UserName="alice")
        b_attached, iam_attached = self.boto3("iam")
        self.assertEqual(iam_attached.list_attached_role_policies(RoleName="app")
                         ["AttachedPolicies"], [])
        self.expect([
            (get_role[0], "forwarded", "GetRole", [deploy]),
            (m_attached, "denied", "ListAttachedRolePolicies", [deploy]),
            (b_caller, "forwarded", "GetUser", []),  # no name: the caller
            (b_user, "forwarded", "GetUser", ["arn:aws:iam::%s:user/alice" % ACCOUNT]),
            (b_attached, "forwarded", "ListAttachedRolePolicies",
             ["arn:aws:iam::%s:role/app" % ACCOUNT]),
        ])

    def test_the_stand_in_takes_only_its_hosts_scope(self):
        # The proxy re-signs with the scope its client signed with; the stand-in, as AWS, takes
        # only the service and region of the host the request went to.
        def post(host, region, service):
            body = b"Action=GetQueueUrl&QueueName=none&Version=2012-11-05"
            request = botocore.awsrequest.AWSRequest(
                "POST", "https://%s/" % host, data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Host": host})
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(
                RECORD.access_key_id, RECORD.secret_access_key), service, region).add_auth(request)
            context = ssl.create_default_context(cafile=self.f.ca.cert_path)
            conn = http.client.HTTPSConnection("127.0.0.1", self.f.front.port, context=context)
            conn.sock = context.wrap_socket(socket.create_connection(
                ("127.0.0.1", self.f.front.port), timeout=30), server_hostname=host)
            try:
                conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
                response = conn.getresponse()
                return response.status, response.read().decode()
            finally:
                conn.close()
        self.assertEqual(post("sqs.us-east-1.amazonaws.com", "us-east-1", "sqs")[0], 400)
        for host, region, service in [("sqs.us-east-1.amazonaws.com", "eu-west-1", "sqs"),
                                      ("iam.amazonaws.com", "us-east-1", "sqs")]:
            status, text = post(host, region, service)
            self.assertEqual(status, 403, text)
            self.assertIn("<Code>SignatureDoesNotMatch</Code>", text)


if __name__ == "__main__":
    unittest.main()
