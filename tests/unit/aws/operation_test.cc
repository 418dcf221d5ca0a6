#include "pamproxy/aws/operation.h"

#include <gtest/gtest.h>

namespace pamproxy::aws {
namespace {

Operation s3(std::string_view method, std::string_view path, std::string_view query = "",
             bool copy = false, std::string_view host_bucket = "") {
  RequestFacts f;
  f.service = "s3";
  f.method = method;
  f.path = path;
  f.query = query;
  f.has_copy_source = copy;
  f.host_bucket = host_bucket;
  return classify(f);
}

TEST(Operation, S3Routes) {
  EXPECT_EQ(s3("GET", "/").name(), "ListBuckets");
  EXPECT_EQ(s3("GET", "/b", "list-type=2&prefix=x").name(), "ListObjectsV2");
  EXPECT_EQ(s3("GET", "/b/").name(), "ListObjects");
  EXPECT_EQ(s3("GET", "/", "list-type=2", false, "b").name(), "ListObjectsV2");
  EXPECT_EQ(s3("PUT", "/b").name(), "CreateBucket");
  EXPECT_EQ(s3("GET", "/b/k").name(), "GetObject");
  EXPECT_EQ(s3("GET", "/k/x", "", false, "b").name(), "GetObject");
  EXPECT_EQ(s3("PUT", "/b/k").name(), "PutObject");
  EXPECT_EQ(s3("PUT", "/b/k", "", true).name(), "CopyObject");
  EXPECT_EQ(s3("POST", "/b/k", "uploads").name(), "CreateMultipartUpload");
  EXPECT_EQ(s3("PUT", "/b/k", "partNumber=1&uploadId=u").name(), "UploadPart");
  EXPECT_EQ(s3("PUT", "/b/k", "partNumber=1&uploadId=u", true).name(), "UploadPartCopy");
  EXPECT_EQ(s3("POST", "/b/k", "uploadId=u").name(), "CompleteMultipartUpload");
  EXPECT_EQ(s3("DELETE", "/b/k", "uploadId=u").name(), "AbortMultipartUpload");
  EXPECT_EQ(s3("GET", "/b/k", "uploadId=u").name(), "ListParts");
  EXPECT_EQ(s3("POST", "/b", "delete").name(), "DeleteObjects");
  EXPECT_EQ(s3("GET", "/b", "uploads").name(), "ListMultipartUploads");
  EXPECT_EQ(s3("GET", "/b", "versions").name(), "ListObjectVersions");
  EXPECT_EQ(s3("GET", "/b", "lifecycle").name(), "GetBucketLifecycleConfiguration");
  EXPECT_EQ(s3("DELETE", "/b", "lifecycle").name(), "DeleteBucketLifecycle");
  EXPECT_EQ(s3("GET", "/b", "analytics").name(), "ListBucketAnalyticsConfigurations");
  EXPECT_EQ(s3("GET", "/b", "analytics&id=a").name(), "GetBucketAnalyticsConfiguration");
  EXPECT_EQ(s3("GET", "/b/k", "tagging").name(), "GetObjectTagging");
  EXPECT_EQ(s3("HEAD", "/b").name(), "HeadBucket");
  EXPECT_EQ(s3("HEAD", "/b/k").name(), "HeadObject");
  EXPECT_EQ(s3("DELETE", "/b").name(), "DeleteBucket");
  EXPECT_EQ(s3("GET", "/b/k").protocol(), Protocol::kS3);
  EXPECT_TRUE(s3("GET", "/b/k").read_only());
  EXPECT_FALSE(s3("PUT", "/b/k").read_only());
}

TEST(Operation, JsonQueryAndCbor) {
  RequestFacts f;
  f.service = "dynamodb";
  f.method = "POST";
  f.path = "/";
  f.amz_target = "DynamoDB_20120810.ListTables";
  Operation op = classify(f);
  EXPECT_EQ(op.name(), "ListTables");
  EXPECT_EQ(op.protocol(), Protocol::kJson);
  EXPECT_TRUE(op.read_only());

  RequestFacts q;
  q.service = "sts";
  q.method = "POST";
  q.path = "/";
  q.content_type = "application/x-www-form-urlencoded; charset=utf-8";
  q.form_body = "Version=2011-06-15&Action=GetCallerIdentity";
  op = classify(q);
  EXPECT_EQ(op.name(), "GetCallerIdentity");
  EXPECT_EQ(op.protocol(), Protocol::kQuery);

  q.service = "ec2";
  q.form_body = "Action=Describe%52egions&Version=2016-11-15";
  op = classify(q);
  EXPECT_EQ(op.name(), "DescribeRegions");
  EXPECT_EQ(op.protocol(), Protocol::kEc2);

  RequestFacts g;
  g.service = "iam";
  g.method = "GET";
  g.path = "/";
  g.query = "Action=ListUsers&Version=2010-05-08";
  EXPECT_EQ(classify(g).name(), "ListUsers");

  RequestFacts c;
  c.service = "cloudwatch";
  c.method = "POST";
  c.path = "/service/GraniteServiceVersion20100801/operation/GetMetricData";
  c.smithy_protocol = "rpc-v2-cbor";
  op = classify(c);
  EXPECT_EQ(op.name(), "GetMetricData");
  EXPECT_EQ(op.protocol(), Protocol::kRpcV2Cbor);
}

TEST(Operation, RestServicesByTheModelsRoutes) {
  RequestFacts f;
  f.service = "lambda";
  f.method = "DELETE";
  f.path = "/2015-03-31/functions/my-fn";
  Operation op = classify(f);
  EXPECT_EQ(op.name(), "DeleteFunction");
  EXPECT_EQ(op.protocol(), Protocol::kRestJson);
  EXPECT_FALSE(op.read_only());

  f.method = "GET";
  f.path = "/2015-03-31/functions/";
  op = classify(f);
  EXPECT_EQ(op.name(), "ListFunctions");
  EXPECT_TRUE(op.read_only());

  RequestFacts r;
  r.service = "route53";
  r.method = "POST";
  r.path = "/2013-04-01/hostedzone/Z123/rrset/";
  op = classify(r);
  EXPECT_EQ(op.name(), "ChangeResourceRecordSets");
  EXPECT_EQ(op.protocol(), Protocol::kRestXml);

  // S3 Control signs as s3; its account is in the host, not a bucket.
  op = s3("GET", "/v20180820/accesspoint/ap1");
  EXPECT_EQ(op.name(), "GetAccessPoint");
  EXPECT_EQ(op.protocol(), Protocol::kRestXml);
  EXPECT_EQ(s3("GET", "/v20180820/nothing-here").name(), "GET /v20180820/nothing-here");
  EXPECT_EQ(s3("GET", "/v20180820/nothing-here").protocol(), Protocol::kRestXml);
}

TEST(Operation, RestFallbackIsMethodAndPathBounded) {
  RequestFacts f;
  f.service = "lambda";
  f.method = "GET";
  f.path = "/2015-03-31/nothing-here/";
  Operation op = classify(f);
  EXPECT_EQ(op.name(), "GET /2015-03-31/nothing-here/");
  EXPECT_EQ(op.protocol(), Protocol::kRestJson);
  EXPECT_TRUE(op.read_only());
  std::string long_path = "/" + std::string(500, 'x');
  f.path = long_path;
  EXPECT_EQ(classify(f).name().size(), Operation::kNameBytesMax);
}

TEST(Operation, MalformedActionsDoNotCrash) {
  RequestFacts q;
  q.service = "sts";
  q.method = "GET";
  q.path = "/";
  for (const char* query : {"Action=%", "Action=%4", "Action=%zz", "Action", "=&&=",
                            "Action=" /* empty */}) {
    q.query = query;
    EXPECT_FALSE(classify(q).name().empty()) << query;
  }
}

}  // namespace
}  // namespace pamproxy::aws
