#include "pamproxy/sigv4/encoding.h"

#include <gtest/gtest.h>

namespace pamproxy::sigv4 {
namespace {

std::string enc(std::string_view s, bool slash) {
  std::string o;
  uri_encode_append(o, s, slash);
  return o;
}

TEST(Encoding, UriEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(enc("a-b_c.d~e", false), "a-b_c.d~e");
  EXPECT_EQ(enc("a b+c*d/e", false), "a%20b%2Bc%2Ad%2Fe");
  EXPECT_EQ(enc("a b/c", true), "a%20b/c");
  EXPECT_EQ(enc("\xc3\xa9", false), "%C3%A9");
}

TEST(Encoding, PercentDecode) {
  std::string o;
  EXPECT_TRUE(percent_decode_append(o, "a%20b+c%2f"));
  EXPECT_EQ(o, "a b+c/");
  for (std::string_view bad : {"%", "%2", "%zz", "a%g1"}) {
    o.clear();
    EXPECT_FALSE(percent_decode_append(o, bad)) << bad;
  }
}

TEST(Encoding, WirePathEncodesOnlyWhatARequestLineCannotCarry) {
  std::string o;
  wire_path_append(o, "/my file/\xc3\xbc%20x%zz$=:@");
  EXPECT_EQ(o, "/my%20file/%C3%BC%20x%25zz$=:@");
}

TEST(Encoding, S3PathIsCanonicalEncodingOfThePathAsSent) {
  std::string o;
  s3_path_append(o, "/test$file.text");
  EXPECT_EQ(o, "/test%24file.text");
  o.clear();
  s3_path_append(o, "/a%2fb/%41%7e/c d/%zz");
  EXPECT_EQ(o, "/a%2Fb/A~/c%20d/%25zz");
  o.clear();
  s3_path_append(o, "/a//b/../c");
  EXPECT_EQ(o, "/a//b/../c");  // S3 never normalizes
}

TEST(Encoding, NormalizePathLikeTheReferenceSigners) {
  auto norm = [](std::string_view p) {
    std::string o;
    normalize_path_append(o, p);
    return o;
  };
  EXPECT_EQ(norm(""), "/");
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("//"), "/");
  EXPECT_EQ(norm("/a/./b/../c/"), "/a/c/");
  EXPECT_EQ(norm("/a//b"), "/a/b");
  EXPECT_EQ(norm("/../.."), "/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("a/b"), "a/b");
  EXPECT_EQ(norm("."), "/");  // found by fuzz-sigv4_canonical: never an empty canonical URI
  EXPECT_EQ(norm("./"), "/");
}

TEST(Encoding, AmzDate) {
  EXPECT_EQ(parse_amz_date("20130524T000000Z"), 1369353600);
  EXPECT_EQ(parse_iso8601("2013-05-24T00:00:00Z"), 1369353600);
  EXPECT_EQ(parse_amz_date("20240229T235959Z"), 1709251199);
  for (std::string_view bad :
       {"20130524T000000", "2013052T000000Z", "20130230T000000Z", "20230229T000000Z",
        "20131324T000000Z", "20130524T250000Z", "2013-05-24T00:00:00", "20130524X000000Z", ""}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
  char b[16];
  format_amz_date(1709251199, b);
  EXPECT_EQ(std::string(b, 16), "20240229T235959Z");
  EXPECT_EQ(format_iso8601(1369353600), "2013-05-24T00:00:00Z");
}

}  // namespace
}  // namespace pamproxy::sigv4
