#include "src/store/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::store {
namespace {

TEST(Validate, AccessKeyIdsOfS3CompatibleStoresAreAccepted) {
  for (std::string_view id : {"AKIAIOSFODNN7EXAMPLE", "minioadmin", "abc", "0555b35654ad1656d804",
                              "GK31c2f218a2e44f485b94239e", "K9/x+y=z_-.~@!"}) {
    EXPECT_TRUE(check_access_key_id(id).ok()) << id;
  }
  EXPECT_TRUE(check_access_key_id(std::string(128, 'k')).ok());
}

TEST(Validate, AccessKeyIdRefusalSaysWhatIsAllowed) {
  const std::string_view refused[] = {
      "", "ab", "has space", "tab\there", std::string_view("nul\0x", 5), "\xc3\xa9t\xc3\xa9"};
  for (std::string_view id : refused) {
    absl::Status s = check_access_key_id(id);
    ASSERT_FALSE(s.ok()) << id;
    EXPECT_NE(std::string(s.message()).find("3-128 printable ASCII characters without spaces"),
              std::string::npos)
        << s;
  }
  EXPECT_FALSE(check_access_key_id(std::string(129, 'k')).ok());
}

TEST(Validate, AccessKeyIdWarningOnlyWhenNotShapedLikeAws) {
  for (std::string_view id : {"AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "ABIA0123456789AB",
                              "ACCAZZZZZZZZZZZZZZZZ"}) {
    EXPECT_EQ(access_key_id_warning(id), std::nullopt) << id;
  }
  for (std::string_view id : {"minioadmin", "akiaiosfodnn7example", "AKIA0123456789A",
                              "AIDAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPL-"}) {
    std::optional<std::string> w = access_key_id_warning(id);
    ASSERT_TRUE(w) << id;
    EXPECT_EQ(*w,
              "the access key id does not look like an AWS one (AKIA or ASIA and 12-124 "
              "upper-case letters and digits): right for an S3-compatible store, but AWS will "
              "refuse it");
  }
}

}  // namespace
}  // namespace pamproxy::store
