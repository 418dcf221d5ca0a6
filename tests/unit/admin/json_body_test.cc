#include "pamproxy/admin/json_body.h"

#include <gtest/gtest.h>

namespace pamproxy::admin {
namespace {

std::unique_ptr<JsonBody> parse_ok(std::string_view text) {
  JsonError err;
  auto body = JsonBody::parse(text, {}, &err);
  EXPECT_NE(body, nullptr) << err.to_string();
  return body;
}

TEST(JsonBody, ReadsTypedFields) {
  auto b = parse_ok(R"({"name":"prod","days":30,"admin":false,"tags":["a","b"]})");
  EXPECT_EQ(b->string("name", kRequired, 1, 100), "prod");
  EXPECT_EQ(b->integer("days", kRequired, 1, 365), 30);
  EXPECT_EQ(b->boolean("admin", kOptional), false);
  EXPECT_EQ(b->string_list("tags", kOptional, 10, 10), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(b->string("missing", kOptional, 0, 10).has_value());
  EXPECT_TRUE(b->finish()) << b->error().to_string();
}

struct Bad {
  const char* body;
  const char* field;
  const char* message;
};

class JsonBodyErrors : public ::testing::TestWithParam<Bad> {};

// A handler that reads: name (string, required), days (1..365), tags (strings),
// windows (objects with days and start).
TEST_P(JsonBodyErrors, NameTheField) {
  const Bad& c = GetParam();
  JsonError err;
  auto b = JsonBody::parse(c.body, {.body_bytes_max = 4096, .depth_max = 8}, &err);
  if (b != nullptr) {
    b->string("name", kRequired, 1, 20);
    b->integer("days", kOptional, 1, 365);
    b->string_list("tags", kOptional, 3, 8);
    if (auto windows = b->object_list("windows", kOptional, 4)) {
      for (auto& w : *windows) {
        w->string("days", kRequired, 1, 20);
        w->string("start", kRequired, 5, 5);
      }
    }
    ASSERT_FALSE(b->finish()) << c.body;
    err = b->error();
  }
  EXPECT_EQ(err.field, c.field) << err.to_string();
  EXPECT_NE(err.message.find(c.message), std::string::npos) << err.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonBodyErrors,
    ::testing::Values(
        Bad{R"({})", "name", "is required"},
        Bad{R"({"name":7})", "name", "expected a string, got an integer"},
        Bad{R"({"name":""})", "name", "must not be empty"},
        Bad{R"({"name":"n","days":"30"})", "days", "expected an integer, got a string"},
        Bad{R"({"name":"n","days":1.5})", "days", "fraction"},
        Bad{R"({"name":"n","days":366})", "days", "out of range: 366"},
        Bad{R"({"name":"n","days":99999999999999999999})", "", "not valid JSON"},
        Bad{R"({"name":"n","tags":["a",1]})", "tags[1]", "expected a string"},
        Bad{R"({"name":"n","tags":["a","b","c","d"]})", "tags", "at most 3 entries"},
        Bad{R"({"name":"n","tags":["waytoolongtag"]})", "tags[0]", "at most 8 bytes"},
        Bad{R"({"name":"n","expiry_at":1})", "expiry_at", "unknown field"},
        Bad{R"({"name":"n","name":"m"})", "name", "appears more than once"},
        Bad{R"({"name":"n","windows":[{"days":"Mon","start":"08:00"},{"days":"Tue"}]})",
            "windows[1].start", "is required"},
        Bad{R"({"name":"n","windows":[{"days":"Mon","start":"08:00","tz":"x"}]})",
            "windows[0].tz", "unknown field"},
        Bad{R"({"name":"n","windows":[3]})", "windows[0]", "expected an object"},
        Bad{R"([1,2])", "", "must be a JSON object, got an array"},
        Bad{R"({"name":"n",)", "", "not valid JSON"},
        Bad{"{\"name\":\"\xff\"}", "", "not valid JSON"},
        Bad{R"({"name":"n","a":[[[[[[[[[[1]]]]]]]]]]})", "", "nests deeper than 8"}));

TEST(JsonBody, OversizeBodyIsRefusedBeforeParsing) {
  JsonError err;
  std::string big = "{\"name\":\"" + std::string(5000, 'x') + "\"}";
  EXPECT_EQ(JsonBody::parse(big, {.body_bytes_max = 4096}, &err), nullptr);
  EXPECT_NE(err.message.find("larger than 4096 bytes"), std::string::npos);
}

TEST(JsonBody, NestedErrorsSurviveTheNestedHandles) {
  auto b = parse_ok(R"({"name":"n","windows":[{"days":"Mon","start":"08:00","bogus":1}]})");
  b->string("name", kRequired, 1, 20);
  {
    auto windows = b->object_list("windows", kOptional, 4);
    ASSERT_TRUE(windows);
    for (auto& w : *windows) {
      w->string("days", kRequired, 1, 20);
      w->string("start", kRequired, 5, 5);
    }
  }  // nested handles gone before finish()
  EXPECT_FALSE(b->finish());
  EXPECT_EQ(b->error().field, "windows[0].bogus");
}

}  // namespace
}  // namespace pamproxy::admin
