#include "pamproxy/sigv4/signer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aws_examples.h"

namespace pamproxy::sigv4 {
namespace {

using testing::kExampleDate;
using testing::kExampleSecret;
using testing::kExampleTime;

const Scope kS3Scope{"20130524", "us-east-1", "s3"};

std::string sign_example(std::string_view method, std::string_view path, std::string_view query,
                         const std::vector<Header>& headers, std::string_view signed_headers,
                         std::string_view payload, bool presigned = false) {
  Signer signer;
  CanonicalInput in;
  in.method = method;
  in.path = path;
  in.query = query;
  in.headers = headers;
  in.signed_headers = signed_headers;
  in.payload_hash = payload;
  in.normalize_path = false;
  in.skip_signature_param = presigned;
  char sig[64];
  EXPECT_TRUE(signer.sign(in, kExampleSecret, kS3Scope, kExampleDate, sig).ok());
  return std::string(sig, 64);
}

TEST(Signer, AwsPublishedS3Examples) {
  const std::string_view empty = kEmptySha256;
  EXPECT_EQ(sign_example("GET", "/test.txt", "",
                         {{"Host", "examplebucket.s3.amazonaws.com"},
                          {"Range", "bytes=0-9"},
                          {"x-amz-content-sha256", empty},
                          {"x-amz-date", kExampleDate}},
                         "host;range;x-amz-content-sha256;x-amz-date", empty),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  const std::string_view put_hash =
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  EXPECT_EQ(sign_example("PUT", "/test$file.text", "",
                         {{"Host", "examplebucket.s3.amazonaws.com"},
                          {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                          {"x-amz-date", kExampleDate},
                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                          {"x-amz-content-sha256", put_hash}},
                         "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", put_hash),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  const std::vector<Header> bucket = {{"Host", "examplebucket.s3.amazonaws.com"},
                                      {"x-amz-date", kExampleDate},
                                      {"x-amz-content-sha256", empty}};
  EXPECT_EQ(
      sign_example("GET", "/", "lifecycle", bucket, "host;x-amz-content-sha256;x-amz-date", empty),
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  EXPECT_EQ(sign_example("GET", "/", "max-keys=2&prefix=J", bucket,
                         "host;x-amz-content-sha256;x-amz-date", empty),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  EXPECT_EQ(sign_example("PUT", "/examplebucket/chunkObject.txt", "",
                         {{"Host", "s3.amazonaws.com"},
                          {"x-amz-date", kExampleDate},
                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                          {"Content-Encoding", "aws-chunked"},
                          {"x-amz-decoded-content-length", "66560"},
                          {"Content-Length", "66824"},
                          {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}},
                         "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                         "x-amz-decoded-content-length;x-amz-storage-class",
                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            std::string(testing::kChunkSeedSignature));
}

constexpr std::string_view kPresignedQuery =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
    "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
    "X-Amz-SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

TEST(Signer, AwsPresignedExampleVerifiesWithinItsWindowOnly) {
  const std::vector<Header> h = {{"Host", "examplebucket.s3.amazonaws.com"}};
  const RequestView v{"GET", "/test.txt", kPresignedQuery, h};
  ParsedAuth auth;
  ASSERT_TRUE(parse_auth(v, auth, false).ok());
  EXPECT_EQ(parse_auth(v, auth).code, Error::kMissingTokenSeparator);
  ASSERT_TRUE(parse_auth(v, auth, false).ok());
  Signer signer;
  EXPECT_TRUE(signer.verify(v, auth, kExampleSecret, {kExampleTime + 86400}).ok());
  const Result expired = signer.verify(v, auth, kExampleSecret, {kExampleTime + 86401});
  EXPECT_EQ(expired.code, Error::kPresignedExpired);
  EXPECT_EQ(expired.limit_s, 86400);
  EXPECT_EQ(signer.verify(v, auth, kExampleSecret, {kExampleTime - 901}).code,
            Error::kSkewExceeded);
  EXPECT_EQ(signer.verify(v, auth, kExampleSecret, {kExampleTime, 900, 3600}).code,
            Error::kExpiresTooLong);
  EXPECT_EQ(signer.verify(v, auth, "wrong", {kExampleTime}).code, Error::kSignatureMismatch);
}

// A client request signed with a token the way SDKs do, for verify/re-sign round trips.
struct SignedRequest {
  std::vector<std::pair<std::string, std::string>> owned;
  std::vector<Header> headers;
  std::string path = "/bucket/key%20with%20space";
  std::string query = "b=2&a=1";
  void add(std::string n, std::string v) { owned.emplace_back(std::move(n), std::move(v)); }
  RequestView view() {
    headers.clear();
    for (auto& [n, v] : owned) headers.push_back({n, v});
    return {"PUT", path, query, headers};
  }
};

SignedRequest client_request(std::string_view secret, std::string_view service = "s3",
                             bool with_client_token = false, bool content_sha_header = true) {
  SignedRequest r;
  r.add("Host", "bucket.s3.amazonaws.com");
  r.add("X-Amz-Date", "20130524T000000Z");
  if (content_sha_header) r.add("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  r.add("Connection", "keep-alive");
  r.add("User-Agent", "aws-cli/2.9.19 command/s3.cp");
  std::string signed_headers = content_sha_header
                                   ? "connection;host;x-amz-content-sha256;x-amz-date"
                                   : "connection;host;x-amz-date";
  if (with_client_token) {
    r.add("X-Amz-Security-Token", "client-token");
    signed_headers += ";x-amz-security-token";
  }
  Signer s;
  CanonicalInput in;
  RequestView v = r.view();
  in.method = v.method;
  in.path = v.path;
  in.query = v.query;
  in.headers = v.headers;
  in.signed_headers = signed_headers;
  in.payload_hash = "UNSIGNED-PAYLOAD";
  in.normalize_path = !is_s3_family(service);
  const Scope scope{"20130524", "us-east-1", service};
  char sig[64];
  EXPECT_TRUE(s.sign(in, secret, scope, "20130524T000000Z", sig).ok());
  std::string auth;
  format_authorization(auth, "TOK1#prod-db", scope, signed_headers, std::string_view(sig, 64));
  r.add("Authorization", auth);
  return r;
}

TEST(Signer, VerifyChecksSecretAndSkew) {
  SignedRequest r = client_request("token-secret");
  RequestView v = r.view();
  ParsedAuth auth;
  ASSERT_TRUE(parse_auth(v, auth).ok());
  EXPECT_EQ(auth.token_id, "TOK1");
  EXPECT_EQ(auth.record, "prod-db");
  Signer signer;
  EXPECT_TRUE(signer.verify(v, auth, "token-secret", {kExampleTime + 900}).ok());
  EXPECT_TRUE(signer.verify(v, auth, "token-secret", {kExampleTime - 900}).ok());
  const Result skew = signer.verify(v, auth, "token-secret", {kExampleTime + 901});
  EXPECT_EQ(skew.code, Error::kSkewExceeded);
  EXPECT_EQ(skew.request_time_s, kExampleTime);
  EXPECT_EQ(skew.now_s, kExampleTime + 901);
  EXPECT_EQ(signer.verify(v, auth, "token-secreT", {kExampleTime}).code, Error::kSignatureMismatch);
  // Any change to a signed part breaks it.
  r.query = "b=2&a=2";
  v = r.view();
  ASSERT_TRUE(parse_auth(v, auth).ok());
  EXPECT_EQ(signer.verify(v, auth, "token-secret", {kExampleTime}).code, Error::kSignatureMismatch);
}

void expect_resign_round_trip(std::string_view service, bool client_token,
                              std::string_view record_token) {
  SCOPED_TRACE(std::string(service) + (client_token ? " client-token" : "") +
               " record-token=" + std::string(record_token));
  SignedRequest r = client_request("token-secret", service, client_token);
  RequestView v = r.view();
  ParsedAuth auth;
  ASSERT_TRUE(parse_auth(v, auth).ok());
  Signer signer;
  ASSERT_TRUE(signer.verify(v, auth, "token-secret", {kExampleTime}).ok());
  Resigned out;
  const Credentials record{"AKIAREALKEY", "real-secret", record_token};
  ASSERT_TRUE(signer.resign(v, auth, record, out).ok());
  EXPECT_EQ(out.remove_security_token, client_token);
  EXPECT_EQ(out.security_token, record_token);
  // Hop-by-hop headers are never signed; the token is signed exactly when the record has one.
  EXPECT_EQ(out.signed_headers, record_token.empty()
                                    ? "host;x-amz-content-sha256;x-amz-date"
                                    : "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");

  // Apply the edit as the proxy will and check the new head with the record's secret.
  SignedRequest up = r;
  std::erase_if(up.owned, [](auto& h) {
    return iequals(h.first, "authorization") || iequals(h.first, "x-amz-security-token");
  });
  if (!out.security_token.empty()) up.add("X-Amz-Security-Token", std::string(out.security_token));
  up.add("Authorization", out.authorization);
  RequestView uv = up.view();
  ParsedAuth upstream;
  ASSERT_TRUE(parse_auth(uv, upstream, false).ok());
  EXPECT_EQ(upstream.access_key, "AKIAREALKEY");
  EXPECT_EQ(upstream.signature, out.signature_view());
  EXPECT_TRUE(signer.verify(uv, upstream, "real-secret", {kExampleTime}).ok());
  EXPECT_EQ(signer.verify(uv, upstream, "token-secret", {kExampleTime}).code,
            Error::kSignatureMismatch);
}

TEST(Signer, ResignProducesAHeadTheRecordKeyVerifies) {
  for (std::string_view service : {"s3", "ec2"}) {
    expect_resign_round_trip(service, false, "");
    expect_resign_round_trip(service, false, "record/session+token==");
    expect_resign_round_trip(service, true, "");
    expect_resign_round_trip(service, true, "record-token");
  }
}

TEST(Signer, ResignPresigned) {
  // A presigned URL made with the token, then re-signed with the record's keys and a token.
  const std::vector<Header> h = {{"Host", "examplebucket.s3.amazonaws.com"}};
  std::string q =
      "response-content-type=text%2Fplain&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=T%23R"
      "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=600&"
      "X-Amz-SignedHeaders=host";
  Signer signer;
  CanonicalInput in;
  in.method = "GET";
  in.path = "/a.txt";
  in.query = q;
  in.headers = h;
  in.signed_headers = "host";
  in.payload_hash = "UNSIGNED-PAYLOAD";
  in.normalize_path = false;
  char sig[64];
  ASSERT_TRUE(signer.sign(in, "tok-secret", kS3Scope, kExampleDate, sig).ok());
  q += "&X-Amz-Signature=" + std::string(sig, 64);
  const RequestView v{"GET", "/a.txt", q, h};
  ParsedAuth auth;
  ASSERT_TRUE(parse_auth(v, auth).ok());
  ASSERT_TRUE(signer.verify(v, auth, "tok-secret", {kExampleTime + 10}).ok());
  Resigned out;
  ASSERT_TRUE(signer.resign(v, auth, {"AKIAREAL", "real", "sess tok"}, out).ok());
  EXPECT_TRUE(out.authorization.empty());
  EXPECT_NE(out.query.find("X-Amz-Credential=AKIAREAL%2F20130524%2Fus-east-1%2Fs3%2F"
                           "aws4_request"),
            std::string::npos);
  EXPECT_NE(out.query.find("X-Amz-Security-Token=sess%20tok"), std::string::npos);
  EXPECT_NE(out.query.find("response-content-type=text%2Fplain"), std::string::npos);
  const RequestView uv{"GET", "/a.txt", out.query, h};
  ParsedAuth upstream;
  ASSERT_TRUE(parse_auth(uv, upstream, false).ok());
  EXPECT_TRUE(signer.verify(uv, upstream, "real", {kExampleTime + 10}).ok());
}

TEST(Signer, PayloadHashRules) {
  SignedRequest r = client_request("s", "sts", false, false);
  RequestView v = r.view();
  ParsedAuth auth;
  ASSERT_TRUE(parse_auth(v, auth).ok());
  Signer signer;
  EXPECT_TRUE(Signer::needs_body_hash(v, auth));
  EXPECT_EQ(signer.verify(v, auth, "s", {kExampleTime}).code, Error::kPayloadHashRequired);
  // With the body hash the check runs (and fails: the client signed UNSIGNED-PAYLOAD).
  EXPECT_EQ(signer.verify(v, auth, "s", {kExampleTime}, kEmptySha256).code,
            Error::kSignatureMismatch);
  for (auto [value, err] :
       {std::pair{"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", Error::kSigV4aRefused},
        std::pair{"whatever", Error::kBadPayloadHash}}) {
    SignedRequest x = client_request("s");
    for (auto& [n, val] : x.owned) {
      if (iequals(n, "x-amz-content-sha256")) val = value;
    }
    RequestView xv = x.view();
    ASSERT_TRUE(parse_auth(xv, auth).ok());
    EXPECT_EQ(signer.verify(xv, auth, "s", {kExampleTime}).code, err) << value;
  }
}

}  // namespace
}  // namespace pamproxy::sigv4
