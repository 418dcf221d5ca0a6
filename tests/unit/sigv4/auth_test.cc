#include "pamproxy/sigv4/auth.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pamproxy::sigv4 {
namespace {

constexpr std::string_view kSig =
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

struct Req {
  std::vector<Header> headers;
  std::string query;
  RequestView view() const { return {"GET", "/", query, headers}; }
};

Result parse_header(std::string_view auth, ParsedAuth& out,
                    std::string_view date = "20130524T000000Z") {
  Req r;
  r.headers = {{"Host", "h"}, {"X-Amz-Date", date}, {"Authorization", auth}};
  return parse_auth(r.view(), out);
}

TEST(Auth, HeaderFormWithTokenAndRecord) {
  ParsedAuth a;
  std::string h =
      "AWS4-HMAC-SHA256 Credential=tok1#rec-42/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;range;x-amz-date, Signature=" +
      std::string(kSig);
  ASSERT_TRUE(parse_header(h, a).ok());
  EXPECT_EQ(a.form, AuthForm::kHeader);
  EXPECT_EQ(a.access_key, "tok1#rec-42");
  EXPECT_EQ(a.token_id, "tok1");
  EXPECT_EQ(a.record, "rec-42");
  EXPECT_EQ(a.scope.date, "20130524");
  EXPECT_EQ(a.scope.region, "us-east-1");
  EXPECT_EQ(a.scope.service, "s3");
  EXPECT_EQ(a.signed_headers, "host;range;x-amz-date");
  EXPECT_EQ(a.signature, kSig);
  EXPECT_EQ(a.request_time_s, 1369353600);
}

TEST(Auth, AccessKeyMayHoldSlashCommaEqualsSpaceAndHash) {
  ParsedAuth a;
  // Any parameter order, no spaces after commas, and a record search with every awkward byte.
  std::string h = "AWS4-HMAC-SHA256 Signature=" + std::string(kSig) +
                  ",SignedHeaders=host;x-amz-date,Credential=t#name=prod, eu/west #2,x/20130524/"
                  "eu-west-1/sts/aws4_request";
  ASSERT_TRUE(parse_header(h, a).ok()) << error_name(parse_header(h, a).code);
  EXPECT_EQ(a.access_key, "t#name=prod, eu/west #2,x");
  EXPECT_EQ(a.token_id, "t");
  EXPECT_EQ(a.record, "name=prod, eu/west #2,x");
  EXPECT_EQ(a.scope.service, "sts");
}

TEST(Auth, SplitAccessKeyAtTheFirstHash) {
  std::string_view t, r;
  ASSERT_TRUE(split_access_key("PAMABC#tag:prod#x", t, r).ok());
  EXPECT_EQ(t, "PAMABC");
  EXPECT_EQ(r, "tag:prod#x");
  EXPECT_FALSE(split_access_key("AKIAIOSFODNN7EXAMPLE", t, r).ok());
  EXPECT_FALSE(split_access_key("#rec", t, r).ok());
  EXPECT_FALSE(split_access_key("tok#", t, r).ok());
}

TEST(Auth, DistinctErrors) {
  const std::string tail = ", SignedHeaders=host;x-amz-date, Signature=" + std::string(kSig);
  struct Case {
    std::string header;
    Error expected;
  } cases[] = {
      {"AWS4-ECDSA-P256-SHA256 Credential=a#b/20130524/s3/aws4_request" + tail,
       Error::kSigV4aRefused},
      {"AWS AKIA:sig", Error::kSigV2Refused},
      {"AWS3 AKIA:sig", Error::kUnsupportedAlgorithm},
      {"AWS4-HMAC-SHA256", Error::kMalformedAuthorization},
      {"AWS4-HMAC-SHA256 Foo=bar", Error::kMalformedAuthorization},
      {"AWS4-HMAC-SHA256 Credential=nohash/20130524/us-east-1/s3/aws4_request" + tail,
       Error::kMissingTokenSeparator},
      {"AWS4-HMAC-SHA256 Credential=#rec/20130524/us-east-1/s3/aws4_request" + tail,
       Error::kEmptyTokenId},
      {"AWS4-HMAC-SHA256 Credential=tok#/20130524/us-east-1/s3/aws4_request" + tail,
       Error::kEmptyRecord},
      {"AWS4-HMAC-SHA256 Credential=a#b/20130524/us-east-1/s3/aws5_request" + tail,
       Error::kMalformedCredential},
      {"AWS4-HMAC-SHA256 Credential=a#b/2013052/us-east-1/s3/aws4_request" + tail,
       Error::kMalformedCredential},
      {"AWS4-HMAC-SHA256 Credential=us-east-1/s3/aws4_request" + tail, Error::kMalformedCredential},
      {"AWS4-HMAC-SHA256 Credential=a#b/20130525/us-east-1/s3/aws4_request" + tail,
       Error::kCredentialDateMismatch},
      {"AWS4-HMAC-SHA256 Credential=a#b/20130524/us-east-1/s3/aws4_request, "
       "SignedHeaders=Host;x-amz-date, Signature=" +
           std::string(kSig),
       Error::kBadSignedHeaders},
      {"AWS4-HMAC-SHA256 Credential=a#b/20130524/us-east-1/s3/aws4_request, "
       "SignedHeaders=host, Signature=abc",
       Error::kMalformedSignature},
      {"AWS4-HMAC-SHA256 Credential=a#b/20130524/us-east-1/s3/aws4_request" + tail + tail,
       Error::kDuplicateParameter},
  };
  for (const Case& c : cases) {
    ParsedAuth a;
    EXPECT_EQ(parse_header(c.header, a).code, c.expected) << c.header;
  }
  ParsedAuth a;
  const std::string ok =
      "AWS4-HMAC-SHA256 Credential=a#b/20130524/us-east-1/s3/aws4_request" + tail;
  EXPECT_EQ(parse_header(ok, a, "2013-05-24").code, Error::kBadDate);
  EXPECT_EQ(parse_header(ok, a, "").code, Error::kMissingDate);
  Req r;
  r.headers = {{"Authorization", ok}};
  EXPECT_EQ(parse_auth(r.view(), a).code, Error::kMissingDate);
  r.headers.clear();
  EXPECT_EQ(parse_auth(r.view(), a).code, Error::kMissingAuthorization);
}

TEST(Auth, PresignedQueryDecodesCredential) {
  Req r;
  r.headers = {{"Host", "h"}};
  r.query =
      "list-type=2&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=t%23r%2F1%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
      "X-Amz-SignedHeaders=host%3Bx-amz-meta&X-Amz-Security-Token=abc&X-Amz-Signature=" +
      std::string(kSig);
  ParsedAuth a;
  ASSERT_TRUE(parse_auth(r.view(), a).ok());
  EXPECT_EQ(a.form, AuthForm::kPresigned);
  EXPECT_EQ(a.access_key, "t#r/1");
  EXPECT_EQ(a.record, "r/1");
  EXPECT_EQ(a.signed_headers, "host;x-amz-meta");
  EXPECT_EQ(a.expires_s, 86400);
  EXPECT_TRUE(a.has_client_security_token);

  auto with = [&](std::string q) {
    Req x;
    x.query = std::move(q);
    ParsedAuth p;
    return parse_auth(x.view(), p).code;
  };
  const std::string base =
      "X-Amz-Credential=t%23r%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
      "X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" +
      std::string(kSig);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&" + base), Error::kOk);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=0&" + base), Error::kBadExpires);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=1x&" + base), Error::kBadExpires);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&" + base), Error::kBadExpires);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Expires=60&" + base),
            Error::kSigV4aRefused);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&X-Amz-Expires=60&" + base),
            Error::kDuplicateParameter);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&X-Amz-Credential=%zz&" + base),
            Error::kBadPercentEncoding);
  EXPECT_EQ(with("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&X-Amz-Credential=" +
                 std::string(5000, 'a') + "&X-Amz-Date=20130524T000000Z"),
            Error::kTooLarge);
  EXPECT_EQ(with("a=b&c"), Error::kMissingAuthorization);
  // A SigV2 presigned URL, as boto3 1.26 makes them for S3 by default.
  EXPECT_EQ(with("AWSAccessKeyId=tok%23rec&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D&"
                 "Expires=1369357200"),
            Error::kSigV2Refused);
  EXPECT_EQ(with("Signature=x&Expires=1"), Error::kMissingAuthorization);
}

TEST(Auth, SignedHeaderListShape) {
  EXPECT_TRUE(valid_signed_headers("host"));
  EXPECT_TRUE(valid_signed_headers("host;x-amz-date;x-amz-meta-a_b"));
  EXPECT_FALSE(valid_signed_headers(""));
  EXPECT_FALSE(valid_signed_headers("host;"));
  EXPECT_FALSE(valid_signed_headers(";host"));
  EXPECT_FALSE(valid_signed_headers("host;;x"));
  EXPECT_FALSE(valid_signed_headers("Host"));
  EXPECT_FALSE(valid_signed_headers("ho st"));
}

}  // namespace
}  // namespace pamproxy::sigv4
