#include "pamproxy/aws/resources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pamproxy::aws {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> list(const ResourceList& l) {
  std::vector<std::string> out;
  for (size_t i = 0; i < l.size(); ++i) out.emplace_back(l[i]);
  return out;
}

ResourceRequest s3(std::string_view operation, std::string_view method, std::string_view path,
                   std::string_view query = "", std::string_view host_bucket = "") {
  ResourceRequest r;
  r.service = "s3";
  r.region = "eu-west-1";
  r.account = "123456789012";
  r.protocol = Protocol::kS3;
  r.operation = operation;
  r.method = method;
  r.path = path;
  r.query = query;
  r.host_bucket = host_bucket;
  return r;
}

std::vector<std::string> arns(const ResourceRequest& r) {
  ResourceList out;
  absl::Status s = extract_resources(r, &out);
  EXPECT_TRUE(s.ok()) << s;
  return list(out);
}

std::string refusal(const ResourceRequest& r) {
  ResourceList out;
  absl::Status s = extract_resources(r, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(out.empty());
  return std::string(s.message());
}

TEST(Resources, S3PathAndVirtualHostStyle) {
  EXPECT_THAT(arns(s3("GetObject", "GET", "/billing/2026/11/report.csv")),
              ElementsAre("arn:aws:s3:::billing/2026/11/report.csv"));
  EXPECT_THAT(arns(s3("GetObject", "GET", "/2026/11/report.csv", "", "billing")),
              ElementsAre("arn:aws:s3:::billing/2026/11/report.csv"));
  EXPECT_THAT(arns(s3("ListObjectsV2", "GET", "/billing", "list-type=2")),
              ElementsAre("arn:aws:s3:::billing"));
  EXPECT_THAT(arns(s3("ListObjectsV2", "GET", "/", "list-type=2", "billing")),
              ElementsAre("arn:aws:s3:::billing"));
  EXPECT_THAT(arns(s3("ListBuckets", "GET", "/")), IsEmpty());
}

TEST(Resources, S3KeysAreDecodedOnceAsS3ReadsThem) {
  // %XX decoded once; '+' in a path is a plus; '..', '%' and a leading slash are kept.
  EXPECT_THAT(arns(s3("PutObject", "PUT", "/b/a%20b+c%2Bd%25e")),
              ElementsAre("arn:aws:s3:::b/a b+c+d%e"));
  EXPECT_THAT(arns(s3("PutObject", "PUT", "/b/../x/./y")), ElementsAre("arn:aws:s3:::b/../x/./y"));
  EXPECT_THAT(arns(s3("PutObject", "PUT", "/b//lead")), ElementsAre("arn:aws:s3:::b//lead"));
  EXPECT_THAT(arns(s3("PutObject", "PUT", "/b/%E2%82%AC")), ElementsAre("arn:aws:s3:::b/\u20ac"));
  // Raw UTF-8 as sent stays as it is.
  EXPECT_THAT(arns(s3("PutObject", "PUT", "/b/\xc3\xa9t\xc3\xa9")),
              ElementsAre("arn:aws:s3:::b/\xc3\xa9t\xc3\xa9"));
  EXPECT_THAT(refusal(s3("PutObject", "PUT", "/b/a%2")), HasSubstr("object key"));
  EXPECT_THAT(refusal(s3("PutObject", "PUT", "/b/a%zz")), HasSubstr("object key"));
  EXPECT_THAT(refusal(s3("PutObject", "PUT", "/b%41/k")), HasSubstr("bucket name"));
}

TEST(Resources, S3BucketInBothHostAndPathIsReadAsS3Does) {
  // With a virtual-hosted bucket, the whole path is the key, even when it starts with the name.
  EXPECT_THAT(arns(s3("GetObject", "GET", "/billing/x.csv", "", "billing")),
              ElementsAre("arn:aws:s3:::billing/billing/x.csv"));
}

TEST(Resources, S3PresignedUrlsNameTheirObject) {
  EXPECT_THAT(arns(s3("GetObject", "GET", "/b/k.txt",
                      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00")),
              ElementsAre("arn:aws:s3:::b/k.txt"));
}

TEST(Resources, S3MultipartUploadId) {
  ResourceList out;
  ASSERT_TRUE(
      extract_resources(s3("UploadPart", "PUT", "/b/k", "partNumber=1&uploadId=a%2Bb"), &out).ok());
  EXPECT_THAT(list(out), ElementsAre("arn:aws:s3:::b/k"));
  EXPECT_EQ(out.upload_id(), "a+b");
  ASSERT_TRUE(extract_resources(s3("GetObject", "GET", "/b/k"), &out).ok());
  EXPECT_EQ(out.upload_id(), "");
}

TEST(Resources, S3CopySource) {
  ResourceRequest r = s3("CopyObject", "PUT", "/dst/new%20key");
  r.copy_source = "/src/old%20key?versionId=3";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:s3:::dst/new key", "arn:aws:s3:::src/old key"));
  r.copy_source = "src/k";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:s3:::dst/new key", "arn:aws:s3:::src/k"));
  // A copy onto itself names the object once.
  r.copy_source = "dst/new%20key";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:s3:::dst/new key"));
  r.copy_source = "arn%3Aaws%3As3%3Aus-east-1%3A123456789012%3Aaccesspoint%2Fap%2Fobject%2Fk";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:s3:::dst/new key",
                                   "arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/k"));
  r.copy_source = "no-key";
  EXPECT_THAT(refusal(r), HasSubstr("x-amz-copy-source"));
  r.copy_source = "b/%g0";
  EXPECT_THAT(refusal(r), HasSubstr("x-amz-copy-source"));
}

TEST(Resources, S3DeleteObjectsKeysFromTheBody) {
  ResourceRequest r = s3("DeleteObjects", "POST", "/b", "delete");
  r.body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
      "<Object><Key>a &amp; b</Key><VersionId>v1</VersionId></Object>"
      "<Object><Key>&lt;x&gt;&#47;&#x20AC;&quot;&apos;</Key></Object>"
      "<Object><Key>plain/key+1</Key></Object></Delete>";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:s3:::b", "arn:aws:s3:::b/a & b",
                                   "arn:aws:s3:::b/<x>/\u20ac\"'", "arn:aws:s3:::b/plain/key+1"));
  r.body = "<Delete><Object><Key>a<b/></Key></Object></Delete>";
  EXPECT_THAT(refusal(r), HasSubstr("DeleteObjects body"));
  r.body = "<Delete><Object><Key>a&bogus;</Key></Object></Delete>";
  EXPECT_THAT(refusal(r), HasSubstr("unknown entity"));
  r.body = "<Delete><Object><Key>a&#xD800;</Key></Object></Delete>";
  EXPECT_THAT(refusal(r), HasSubstr("unknown entity"));
  r.body = "<Delete><Object><Key>open";
  EXPECT_THAT(refusal(r), HasSubstr("never closed"));
  r.body = "<Delete><Object><Key id=\"1\">k</Key></Object></Delete>";
  EXPECT_THAT(refusal(r), HasSubstr("attributes"));
}

TEST(Resources, S3DeleteObjectsTakesTheThousandKeysS3Takes) {
  ResourceRequest r = s3("DeleteObjects", "POST", "/b", "delete");
  std::string body = "<Delete>";
  for (int i = 0; i < 1000; ++i) body += "<Object><Key>k" + std::to_string(i) + "</Key></Object>";
  r.body = body;
  EXPECT_EQ(arns(r).size(), 1001u);  // the bucket and the 1,000 keys S3 takes in one batch
  body += "<Object><Key>one-too-many</Key></Object></Delete>";
  r.body = body;
  EXPECT_THAT(refusal(r), HasSubstr("more than 1001"));
}

ResourceRequest json(std::string_view service, std::string_view operation, std::string_view body) {
  ResourceRequest r;
  r.service = service;
  r.region = "us-east-1";
  r.account = "123456789012";
  r.protocol = Protocol::kJson;
  r.operation = operation;
  r.method = "POST";
  r.path = "/";
  r.body = body;
  return r;
}

TEST(Resources, JsonServicesNameTheirResources) {
  EXPECT_THAT(arns(json("dynamodb", "PutItem", R"({"TableName":"payments","Item":{}})")),
              ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/payments"));
  EXPECT_THAT(arns(json("secretsmanager", "GetSecretValue", R"({"SecretId":"prod/db"})")),
              ElementsAre("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"));
  EXPECT_THAT(
      arns(json("secretsmanager", "GetSecretValue",
                R"({"SecretId":"arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf"})")),
      ElementsAre("arn:aws:secretsmanager:us-east-1:999999999999:secret:x"));
  EXPECT_THAT(arns(json("kms", "Decrypt", R"({"KeyId":"1234abcd-12ab","CiphertextBlob":"AA=="})")),
              ElementsAre("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab"));
  EXPECT_THAT(arns(json("kms", "Encrypt", R"({"KeyId":"alias/app"})")),
              ElementsAre("arn:aws:kms:us-east-1:123456789012:alias/app"));
  EXPECT_THAT(arns(json("ssm", "GetParameters", R"({"Names":["/prod/db","plain"]})")),
              ElementsAre("arn:aws:ssm:us-east-1:123456789012:parameter/prod/db",
                          "arn:aws:ssm:us-east-1:123456789012:parameter/plain"));
  EXPECT_THAT(arns(json("ssm", "GetDocument", R"({"Name":"AWS-RunShellScript"})")), IsEmpty());
  EXPECT_THAT(arns(json("logs", "FilterLogEvents", R"({"logGroupName":"/aws/lambda/f"})")),
              ElementsAre("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f"));
  EXPECT_THAT(
      arns(json(
          "sqs", "SendMessage",
          R"({"QueueUrl":"https://sqs.us-east-1.amazonaws.com/555555555555/jobs","MessageBody":"x"})")),
      ElementsAre("arn:aws:sqs:us-east-1:555555555555:jobs"));
  EXPECT_THAT(arns(json("ecr", "DescribeImages", R"({"repositoryName":"team/app"})")),
              ElementsAre("arn:aws:ecr:us-east-1:123456789012:repository/team/app"));
  // Any member named *Arn with an ARN in it, in any service.
  EXPECT_THAT(arns(json("events", "TagResource",
                        R"({"ResourceARN":"arn:aws:events:us-east-1:1:rule/r","Tags":[]})")),
              ElementsAre("arn:aws:events:us-east-1:1:rule/r"));
  // JSON escapes are read as JSON reads them.
  EXPECT_THAT(arns(json("dynamodb", "GetItem", R"({"TableName":"a\u0062c"})")),
              ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/abc"));
}

TEST(Resources, SecretsAreNamedWithoutTheirRandomSuffix) {
  const std::string prod = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db";
  // By name, by the full ARN AWS gives it, and by the ARN without the suffix: the same secret.
  EXPECT_THAT(arns(json("secretsmanager", "GetSecretValue", R"({"SecretId":"prod/db"})")),
              ElementsAre(prod));
  EXPECT_THAT(
      arns(json("secretsmanager", "DeleteSecret", R"({"SecretId":")" + prod + R"(-a1B2c3"})")),
      ElementsAre(prod));
  EXPECT_THAT(arns(json("secretsmanager", "GetSecretValue", R"({"SecretId":")" + prod + R"("})")),
              ElementsAre(prod));
  EXPECT_THAT(arns(json("secretsmanager", "CreateSecret", R"({"Name":"prod/db"})")),
              ElementsAre(prod));
  // What is not a suffix of six letters or digits after a '-' stays.
  for (const char* kept : {"-a1B2c", "-a1B2c_", "_a1B2c3", "-a1B2c3d"}) {
    EXPECT_THAT(
        arns(json("secretsmanager", "GetSecretValue", R"({"SecretId":")" + prod + kept + R"("})")),
        ElementsAre(prod + kept));
  }
  // A name alone is never shortened, nor an ARN with nothing before the suffix.
  EXPECT_THAT(arns(json("secretsmanager", "GetSecretValue", R"({"SecretId":"prod/db-a1B2c3"})")),
              ElementsAre(prod + "-a1B2c3"));
  EXPECT_THAT(arns(json("secretsmanager", "GetSecretValue",
                        R"({"SecretId":"arn:aws:secretsmanager:us-east-1:1:secret:-a1B2c3"})")),
              ElementsAre("arn:aws:secretsmanager:us-east-1:1:secret:-a1B2c3"));
  // Other services' ARNs are kept whole.
  EXPECT_THAT(arns(json("events", "TagResource",
                        R"({"ResourceARN":"arn:aws:secretsmanager:us-east-1:1:secret:x-a1B2c3"})")),
              ElementsAre("arn:aws:secretsmanager:us-east-1:1:secret:x-a1B2c3"));
}

TEST(Resources, WithoutAnAccountTheFieldIsEmpty) {
  ResourceRequest r = json("dynamodb", "PutItem", R"({"TableName":"t"})");
  r.account = "";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws:dynamodb:us-east-1::table/t"));
  r.region = "cn-north-1";
  EXPECT_THAT(arns(r), ElementsAre("arn:aws-cn:dynamodb:cn-north-1::table/t"));
}

TEST(Resources, DynamoDbBatchesAndTransactionsNameEveryTable) {
  EXPECT_THAT(arns(json("dynamodb", "BatchGetItem",
                        R"({"RequestItems":{"a":{"Keys":[]},"b":{"Keys":[]}}})")),
              ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/a",
                          "arn:aws:dynamodb:us-east-1:123456789012:table/b"));
  EXPECT_THAT(arns(json("dynamodb", "TransactWriteItems",
                        R"({"TransactItems":[{"Put":{"TableName":"a","Item":{}}},)"
                        R"({"Delete":{"TableName":"c","Key":{}}}]})")),
              ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/a",
                          "arn:aws:dynamodb:us-east-1:123456789012:table/c"));
  // An item attribute called TableName is data, not a table.
  EXPECT_THAT(
      arns(json("dynamodb", "PutItem", R"({"TableName":"t","Item":{"TableName":{"S":"other"}}})")),
      ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/t"));
}

TEST(Resources, AmbiguousJsonIsRefusedNamingTheField) {
  EXPECT_THAT(refusal(json("dynamodb", "PutItem", R"({"TableName":"a","TableName":"b"})")),
              HasSubstr("TableName is given twice"));
  EXPECT_THAT(refusal(json("dynamodb", "PutItem", "{not json")), HasSubstr("is not JSON"));
  EXPECT_THAT(refusal(json("dynamodb", "PutItem", "[1]")), HasSubstr("not a JSON object"));
  EXPECT_THAT(refusal(json("dynamodb", "PutItem", R"({"TableName":5})")),
              HasSubstr("TableName is neither"));
  EXPECT_THAT(refusal(json("ssm", "GetParameters", R"({"Names":["a",1]})")),
              HasSubstr("Names is a list of something other than strings"));
  EXPECT_THAT(refusal(json("dynamodb", "BatchGetItem", R"({"RequestItems":[]})")),
              HasSubstr("RequestItems is not an object"));
  // Members that name no resource may repeat: the extractor does not judge them.
  EXPECT_THAT(arns(json("dynamodb", "PutItem", R"({"TableName":"t","Limit":1,"Limit":2})")),
              ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/t"));
}

ResourceRequest query(std::string_view service, Protocol protocol, std::string_view operation,
                      std::string_view body) {
  ResourceRequest r = json(service, operation, body);
  r.protocol = protocol;
  return r;
}

TEST(Resources, QueryAndEc2Parameters) {
  EXPECT_THAT(arns(query("iam", Protocol::kQuery, "AttachRolePolicy",
                         "Action=AttachRolePolicy&RoleName=deploy&PolicyArn=arn%3Aaws%3Aiam%3A%3A"
                         "aws%3Apolicy%2FAdministratorAccess&Version=2010-05-08")),
              ElementsAre("arn:aws:iam::123456789012:role/deploy",
                          "arn:aws:iam::aws:policy/AdministratorAccess"));
  EXPECT_THAT(arns(query("sts", Protocol::kQuery, "AssumeRole",
                         "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fops"
                         "&RoleSessionName=s")),
              ElementsAre("arn:aws:iam::1:role/ops"));
  EXPECT_THAT(arns(query("ec2", Protocol::kEc2, "TerminateInstances",
                         "Action=TerminateInstances&InstanceId.1=i-1&InstanceId.2=i-2")),
              ElementsAre("arn:aws:ec2:us-east-1:123456789012:instance/i-1",
                          "arn:aws:ec2:us-east-1:123456789012:instance/i-2"));
  EXPECT_THAT(arns(query("ec2", Protocol::kEc2, "DescribeImages", "ImageId.1=ami-1")),
              ElementsAre("arn:aws:ec2:us-east-1::image/ami-1"));
  EXPECT_THAT(arns(query("sns", Protocol::kQuery, "CreateTopic", "Action=CreateTopic&Name=alerts")),
              ElementsAre("arn:aws:sns:us-east-1:123456789012:alerts"));
  // The form is decoded as a form: '+' is a space.
  EXPECT_THAT(arns(query("iam", Protocol::kQuery, "GetUser", "UserName=a+b%2Bc")),
              ElementsAre("arn:aws:iam::123456789012:user/a b+c"));
  // Parameters in the query string count as well as those in the body.
  ResourceRequest get = query("iam", Protocol::kQuery, "GetRole", "");
  get.query = "Action=GetRole&RoleName=r";
  EXPECT_THAT(arns(get), ElementsAre("arn:aws:iam::123456789012:role/r"));
}

TEST(Resources, RepeatedQueryParametersAreRefused) {
  EXPECT_THAT(refusal(query("iam", Protocol::kQuery, "DeleteUser", "UserName=a&UserName=b")),
              HasSubstr("UserName is given twice"));
  ResourceRequest both = query("iam", Protocol::kQuery, "DeleteRole", "RoleName=a");
  both.query = "RoleName=b";
  EXPECT_THAT(refusal(both), HasSubstr("RoleName is given twice"));
  EXPECT_THAT(refusal(query("iam", Protocol::kQuery, "GetUser", "UserName=%4")),
              HasSubstr("UserName has a '%'"));
  // A parameter that is not a resource may repeat (EC2 filters do).
  EXPECT_THAT(arns(query("ec2", Protocol::kEc2, "DescribeInstances",
                         "Filter.1.Name=a&Filter.1.Name=b&InstanceId.1=i-1")),
              ElementsAre("arn:aws:ec2:us-east-1:123456789012:instance/i-1"));
}

ResourceRequest rest(std::string_view service, std::string_view method, std::string_view path) {
  ResourceRequest r = json(service, "", "");
  r.protocol = Protocol::kRestJson;
  r.method = method;
  r.path = path;
  return r;
}

TEST(Resources, RestServicesFromTheirPaths) {
  EXPECT_THAT(arns(rest("lambda", "DELETE", "/2015-03-31/functions/f1")),
              ElementsAre("arn:aws:lambda:us-east-1:123456789012:function:f1"));
  EXPECT_THAT(arns(rest("lambda", "POST", "/2015-03-31/functions/f1%3Aprod/invocations")),
              ElementsAre("arn:aws:lambda:us-east-1:123456789012:function:f1:prod"));
  EXPECT_THAT(arns(rest("lambda", "GET", "/2015-03-31/functions/999999999999%3Afunction%3Ag")),
              ElementsAre("arn:aws:lambda:us-east-1:999999999999:function:g"));
  EXPECT_THAT(arns(rest("lambda", "GET", "/2015-03-31/functions/")), IsEmpty());
  EXPECT_THAT(arns(rest("lambda", "GET", "/2015-03-31/functions")), IsEmpty());
  ResourceRequest zone = rest("route53", "POST", "/2013-04-01/hostedzone/Z123/rrset");
  zone.protocol = Protocol::kRestXml;
  EXPECT_THAT(arns(zone), ElementsAre("arn:aws:route53:::hostedzone/Z123"));
  EXPECT_THAT(arns(rest("eks", "GET", "/clusters/prod")),
              ElementsAre("arn:aws:eks:us-east-1:123456789012:cluster/prod"));
  EXPECT_THAT(arns(rest("eks", "DELETE", "/clusters/prod/node-groups/ng1")),
              ElementsAre("arn:aws:eks:us-east-1:123456789012:cluster/prod"));
  // The labels of the model's route, not any path segment: a Route 53 change id is no zone.
  ResourceRequest change = rest("route53", "GET", "/2013-04-01/change/C2");
  change.protocol = Protocol::kRestXml;
  EXPECT_THAT(arns(change), IsEmpty());
  EXPECT_THAT(arns(rest("lambda", "GET", "/2018-10-31/layers/shared/versions/3")),
              ElementsAre("arn:aws:lambda:us-east-1:123456789012:layer:shared"));
  EXPECT_THAT(refusal(rest("lambda", "DELETE", "/2015-03-31/functions/f%zz")),
              HasSubstr("FunctionName"));
}

bool passes_role(const ResourceRequest& r) {
  ResourceList out;
  absl::Status s = extract_resources(r, &out);
  EXPECT_TRUE(s.ok()) << s;
  return out.passes_role();
}

TEST(Resources, CallsThatHandARoleToTheService) {
  ResourceRequest create = rest("lambda", "POST", "/2015-03-31/functions");
  create.operation = "CreateFunction";
  create.body = R"({"FunctionName":"f","Role":"arn:aws:iam::1:role/admin","Runtime":"python3.12"})";
  EXPECT_TRUE(passes_role(create));
  create.body = R"({"FunctionName":"f","Runtime":"python3.12"})";
  EXPECT_FALSE(passes_role(create));
  ResourceRequest update = rest("lambda", "PUT", "/2015-03-31/functions/f/configuration");
  update.operation = "UpdateFunctionConfiguration";
  update.body = R"({"Role":"arn:aws:iam::1:role/admin"})";
  EXPECT_TRUE(passes_role(update));
  update.body = R"({"Timeout":3})";
  EXPECT_FALSE(passes_role(update));
  // A role-passing call whose body is not JSON is refused, not let through unread.
  update.body = R"( {"Role":"arn:aws:iam::1:role/admin"})";
  EXPECT_TRUE(passes_role(update));
  update.body = "Role=arn:aws:iam::1:role/admin";
  EXPECT_THAT(refusal(update), HasSubstr("is not JSON"));
  // Other Lambda calls with a member named Role pass nothing.
  ResourceRequest other = rest("lambda", "PUT", "/2015-03-31/functions/f/code");
  other.operation = "UpdateFunctionCode";
  other.body = R"({"Role":"x"})";
  EXPECT_FALSE(passes_role(other));

  for (const char* op :
       {"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"}) {
    EXPECT_TRUE(passes_role(
        query("ec2", Protocol::kEc2, op, "ImageId=ami-1&IamInstanceProfile.Name=admin")))
        << op;
    EXPECT_TRUE(passes_role(query("ec2", Protocol::kEc2, op,
                                  "IamInstanceProfile.Arn=arn%3Aaws%3Aiam%3A%3A1%3A"
                                  "instance-profile%2Fadmin")))
        << op;
    EXPECT_FALSE(passes_role(query("ec2", Protocol::kEc2, op, "ImageId=ami-1"))) << op;
  }
  ResourceRequest in_query = query("ec2", Protocol::kEc2, "RunInstances", "");
  in_query.query = "Action=RunInstances&IamInstanceProfile.Name=admin";
  EXPECT_TRUE(passes_role(in_query));
  EXPECT_FALSE(passes_role(query("ec2", Protocol::kEc2, "DescribeIamInstanceProfileAssociations",
                                 "IamInstanceProfile.Name=admin")));

  EXPECT_TRUE(passes_role(json("ecs", "RegisterTaskDefinition",
                               R"({"family":"f","taskRoleArn":"arn:aws:iam::1:role/t"})")));
  EXPECT_TRUE(passes_role(json("ecs", "RegisterTaskDefinition",
                               R"({"family":"f","executionRoleArn":"arn:aws:iam::1:role/e"})")));
  EXPECT_FALSE(passes_role(json("ecs", "RegisterTaskDefinition", R"({"family":"f"})")));
  EXPECT_TRUE(passes_role(
      json("ecs", "RunTask",
           R"({"taskDefinition":"t","overrides":{"taskRoleArn":"arn:aws:iam::1:role/x"}})")));
  EXPECT_TRUE(passes_role(
      json("ecs", "StartTask",
           R"({"taskDefinition":"t","overrides":{"executionRoleArn":"arn:aws:iam::1:role/x"}})")));
  EXPECT_FALSE(
      passes_role(json("ecs", "RunTask", R"({"taskDefinition":"t","overrides":{"cpu":"256"}})")));
  EXPECT_FALSE(passes_role(json("ecs", "DescribeTasks", R"({"taskRoleArn":"x"})")));

  EXPECT_TRUE(may_pass_role("lambda", "CreateFunction"));
  EXPECT_TRUE(may_pass_role("ecs", "StartTask"));
  EXPECT_FALSE(may_pass_role("lambda", "Invoke"));
  EXPECT_FALSE(may_pass_role("s3", "RunInstances"));

  // The flag does not outlive the request that set it.
  ResourceList list;
  ASSERT_TRUE(extract_resources(create, &list).ok());
  create.body = R"({"FunctionName":"f","Role":"r"})";
  ASSERT_TRUE(extract_resources(create, &list).ok());
  EXPECT_TRUE(list.passes_role());
  create.body = R"({"FunctionName":"f"})";
  ASSERT_TRUE(extract_resources(create, &list).ok());
  EXPECT_FALSE(list.passes_role());
}

TEST(Resources, TheListKeepsItsStorage) {
  ResourceList out;
  ResourceRequest r = json("dynamodb", "PutItem", R"({"TableName":"payments"})");
  ASSERT_TRUE(extract_resources(r, &out).ok());
  ASSERT_TRUE(extract_resources(r, &out).ok());
  EXPECT_THAT(list(out), ElementsAre("arn:aws:dynamodb:us-east-1:123456789012:table/payments"));
  EXPECT_TRUE(out.add("x"));
  EXPECT_TRUE(out.add("x"));  // a repeat is dropped, not an error
  EXPECT_EQ(out.size(), 2u);
}

}  // namespace
}  // namespace pamproxy::aws
