#include "pamproxy/aws/rest_route.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::aws {
namespace {

std::string name_of(std::string_view signing, std::string_view method, std::string_view path,
                    std::string_view query = "") {
  auto m = match_rest_route(signing, method, path, query);
  return m ? std::string(m->operation) : "-";
}

TEST(RestRoute, NamesTheOperationAndItsLabels) {
  auto m = match_rest_route("lambda", "DELETE", "/2015-03-31/functions/my-fn", "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "DeleteFunction");
  EXPECT_EQ(m->service, "lambda");
  EXPECT_EQ(m->protocol, Protocol::kRestJson);
  ASSERT_EQ(m->label_count, 1);
  EXPECT_EQ(m->labels[0].name, "FunctionName");
  EXPECT_EQ(m->label("FunctionName"), "my-fn");
  EXPECT_EQ(m->label("Qualifier"), "");

  m = match_rest_route("route53", "GET", "/2013-04-01/hostedzone/Z123/rrset", "maxitems=1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "ListResourceRecordSets");
  EXPECT_EQ(m->protocol, Protocol::kRestXml);
  EXPECT_EQ(m->label("Id"), "Z123");

  // Label values are the raw text of the path.
  m = match_rest_route("lambda", "GET",
                       "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af",
                       "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "GetFunction");
  EXPECT_EQ(m->label("FunctionName"), "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af");
}

TEST(RestRoute, TrailingSlashIsNotSignificantButEmptySegmentsFitNothing) {
  EXPECT_EQ(name_of("lambda", "GET", "/2015-03-31/functions/"), "ListFunctions");
  EXPECT_EQ(name_of("lambda", "GET", "/2015-03-31/functions"), "ListFunctions");
  EXPECT_EQ(name_of("eks", "GET", "/clusters/prod/"), "DescribeCluster");
  EXPECT_EQ(name_of("eks", "GET", "/clusters//addons"), "-");
  EXPECT_EQ(name_of("eks", "GET", "//clusters/prod"), "-");
  EXPECT_EQ(name_of("eks", "GET", "/clusters/prod//"), "-");
}

TEST(RestRoute, GreedyLabelTakesTheMiddle) {
  // S3 Control signs as "s3": its routes are those of the signing name.
  auto m = match_rest_route("s3", "GET", "/v20180820/mrap/instances/a/b/policy", "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "GetMultiRegionAccessPointPolicy");  // before ".../{name+}"
  EXPECT_EQ(m->service, "s3control");
  EXPECT_EQ(m->label("name"), "a/b");
  EXPECT_EQ(name_of("s3", "GET", "/v20180820/mrap/instances/a/b"), "GetMultiRegionAccessPoint");
  EXPECT_EQ(name_of("s3", "GET", "/v20180820/mrap/instances/a/policystatus"),
            "GetMultiRegionAccessPointPolicyStatus");
  // The greedy label needs at least one segment.
  EXPECT_EQ(name_of("s3", "GET", "/v20180820/mrap/instances/policy"), "GetMultiRegionAccessPoint");
  EXPECT_EQ(name_of("s3", "GET", "/v20180820/mrap/instances/"), "ListMultiRegionAccessPoints");
}

TEST(RestRoute, QueryRequirementsMakeARouteMoreSpecific) {
  // GET /2018-10-31/layers?find=LayerVersion (with the required Arn) against GET ../layers.
  EXPECT_EQ(name_of("lambda", "GET", "/2018-10-31/layers", "find=LayerVersion&Arn=a"),
            "GetLayerVersionByArn");
  EXPECT_EQ(name_of("lambda", "GET", "/2018-10-31/layers", "Arn=a&find=LayerVersion"),
            "GetLayerVersionByArn");
  EXPECT_EQ(name_of("lambda", "GET", "/2018-10-31/layers", "find=Other&Arn=a"), "ListLayers");
  EXPECT_EQ(name_of("lambda", "GET", "/2018-10-31/layers", ""), "ListLayers");
  // A required query member (Qualifier) tells Get from List (?List=ALL).
  std::string_view pc = "/2019-09-30/functions/f/provisioned-concurrency";
  EXPECT_EQ(name_of("lambda", "GET", pc, "Qualifier=1"), "GetProvisionedConcurrencyConfig");
  EXPECT_EQ(name_of("lambda", "GET", pc, "List=ALL"), "ListProvisionedConcurrencyConfigs");
  EXPECT_EQ(name_of("lambda", "GET", pc, ""), "-");
}

TEST(RestRoute, EveryServiceOfASigningNameIsTried) {
  // execute-api: API Gateway's management API and IoT sign with the same name.
  auto m = match_rest_route("execute-api", "POST", "/@connections/c1", "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "PostToConnection");
  EXPECT_EQ(m->service, "apigatewaymanagementapi");
  m = match_rest_route("execute-api", "GET", "/things/t1", "");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->operation, "DescribeThing");
  EXPECT_EQ(m->service, "iot");
}

TEST(RestRoute, UnknownRequestsMatchNothing) {
  EXPECT_FALSE(match_rest_route("lambda", "GET", "/nope", ""));
  EXPECT_FALSE(match_rest_route("lambda", "OPTIONS", "/2015-03-31/functions", ""));
  EXPECT_FALSE(match_rest_route("lambda", "get", "/2015-03-31/functions", ""));
  EXPECT_FALSE(match_rest_route("no-such-service", "GET", "/", ""));
  EXPECT_FALSE(match_rest_route("", "", "", ""));
  // JSON and query services have no REST routes; S3's own operations are not in the table.
  EXPECT_FALSE(match_rest_route("dynamodb", "POST", "/", ""));
  EXPECT_FALSE(match_rest_route("s3", "GET", "/bucket/key", ""));
  std::string deep(5000, '/');
  EXPECT_FALSE(match_rest_route("lambda", "GET", deep, ""));
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "/x";
  EXPECT_FALSE(match_rest_route("lambda", "GET", many, ""));
  EXPECT_EQ(name_of("s3", "GET", "/v20180820/mrap/instances" + many + "/policy"),
            "GetMultiRegionAccessPointPolicy");
}

}  // namespace
}  // namespace pamproxy::aws
