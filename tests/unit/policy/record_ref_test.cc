#include "pamproxy/policy/record_ref.h"

#include <gtest/gtest.h>

namespace pamproxy::policy {
namespace {

TEST(RecordRef, BareAndCriteria) {
  auto bare = parse_record_ref("prod billing");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->bare);
  EXPECT_TRUE(parse_record_ref("r-abcdefghijklmnop")->bare);
  EXPECT_TRUE(parse_record_ref("team:data")->bare);  // unknown prefix: part of a name
  auto c = parse_record_ref("name:web-*+tag:eu+tag:prod");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->bare);
  ASSERT_EQ(c->criteria_count, 3u);
  EXPECT_EQ(c->criteria[0].kind, CriterionKind::kName);
  EXPECT_EQ(c->criteria[0].value, "web-*");
  EXPECT_EQ(c->criteria[1].kind, CriterionKind::kTag);
  EXPECT_EQ(c->criteria[2].value, "prod");
  auto id = parse_record_ref("id:r-x");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->criteria[0].kind, CriterionKind::kId);
}

TEST(RecordRef, ErrorsSayWhat) {
  struct Case {
    std::string text;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"tag:", "no value"},
      {"tag:a+", "does not start with"},
      {"tag:a+foo:b", "'foo:b'"},
      {"tag:a+tag:b+tag:c+tag:d+tag:e", "more than 4"},
      {std::string(257, 'x'), "longer than 256"},
      {"a\nb", "control character"},
  };
  for (const Case& c : cases) {
    auto r = parse_record_ref(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(std::string(r.status().message()).find(c.says), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace pamproxy::policy
