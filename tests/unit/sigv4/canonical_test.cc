#include "pamproxy/sigv4/canonical.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pamproxy::sigv4 {
namespace {

std::string build(std::string_view path, std::string_view query, std::vector<Header> headers,
                  std::string_view signed_headers, bool normalize, Error* err = nullptr) {
  Canonicalizer c;
  CanonicalInput in;
  in.method = "GET";
  in.path = path;
  in.query = query;
  in.headers = headers;
  in.signed_headers = signed_headers;
  in.payload_hash = "UNSIGNED-PAYLOAD";
  in.normalize_path = normalize;
  std::string out;
  Result r = c.build(in, out);
  if (err != nullptr) *err = r.code;
  return out;
}

TEST(Canonical, QuerySortedReencodedAndBareKeys) {
  const std::vector<Header> h = {{"Host", "h"}};
  EXPECT_EQ(build("/", "b=2&a=3&a=1&uploads&c=x+y&d=%7e%20%2B&e=", h, "host", false),
            "GET\n/\na=1&a=3&b=2&c=x%2By&d=~%20%2B&e=&uploads=\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
  // Sorting is by encoded key bytes: '%' before uppercase before lowercase.
  EXPECT_EQ(build("/", "b=1&B=2&%C3%A9=3", h, "host", false).substr(0, 30),
            "GET\n/\n%C3%A9=3&B=2&b=1\nhost:h\n");
  Error e;
  build("/", "a=%zz", h, "host", false, &e);
  EXPECT_EQ(e, Error::kBadPercentEncoding);
}

TEST(Canonical, HeadersTrimmedCollapsedAndJoined) {
  const std::vector<Header> h = {{"Host", "h"},
                                 {"X-Amz-Meta-A", "  one   two\t three  "},
                                 {"x-amz-meta-a", "four"},
                                 {"X-Amz-Meta-Empty", ""},
                                 {"Other", "not signed"}};
  EXPECT_EQ(build("/", "", h, "host;x-amz-meta-a;x-amz-meta-empty", false),
            "GET\n/\n\nhost:h\nx-amz-meta-a:one two three,four\nx-amz-meta-empty:\n\n"
            "host;x-amz-meta-a;x-amz-meta-empty\nUNSIGNED-PAYLOAD");
  Error e;
  build("/", "", h, "host;range", false, &e);
  EXPECT_EQ(e, Error::kSignedHeaderMissing);
}

TEST(Canonical, PathRulesByService) {
  const std::vector<Header> h = {{"Host", "h"}};
  auto uri = [&](std::string_view path, bool normalize) {
    std::string c = build(path, "", h, "host", normalize);
    return c.substr(4, c.find('\n', 4) - 4);
  };
  // S3: as sent, single encoding.
  EXPECT_EQ(uri("/my%20file/a//b/../c", false), "/my%20file/a//b/../c");
  EXPECT_EQ(uri("/raw space/\xc3\xbc", false), "/raw%20space/%C3%BC");
  // Others: normalized, then encoded again.
  EXPECT_EQ(uri("/my%20file/a//b/../c", true), "/my%2520file/a/c");
  EXPECT_EQ(uri("/raw space/", true), "/raw%2520space/");
  EXPECT_EQ(uri("", true), "/");
  EXPECT_EQ(uri("", false), "/");
}

TEST(Canonical, PresignedSkipsSignatureAndBoundsHold) {
  Canonicalizer c;
  const std::vector<Header> h = {{"Host", "h"}};
  CanonicalInput in;
  in.method = "GET";
  in.path = "/";
  in.query = "X-Amz-Signature=abc&a=1";
  in.headers = h;
  in.signed_headers = "host";
  in.payload_hash = "UNSIGNED-PAYLOAD";
  in.skip_signature_param = true;
  std::string out;
  ASSERT_TRUE(c.build(in, out).ok());
  EXPECT_EQ(out, "GET\n/\na=1\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
  std::string many;
  for (size_t i = 0; i <= kQueryParamsMax; ++i) many += "k=v&";
  in.query = many;
  EXPECT_EQ(c.build(in, out).code, Error::kTooLarge);
  in.query = "";
  in.override_security_token = true;
  in.security_token = "  new token ";
  in.signed_headers = "host;x-amz-security-token";
  ASSERT_TRUE(c.build(in, out).ok());
  EXPECT_NE(out.find("x-amz-security-token:new token\n"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::sigv4
