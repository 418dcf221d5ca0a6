#include "pamproxy/base/json_writer.h"

#include <gtest/gtest.h>

namespace pamproxy {
namespace {

TEST(JsonWriter, NestedStructuresGetTheirCommas) {
  JsonWriter w;
  w.begin_object()
      .key("id").value("rec-1")
      .key("n").value(int64_t{-3})
      .key("tags").begin_array().value("a").value("b").end_array()
      .key("obj").begin_object().key("x").value(true).key("y").null().end_object()
      .key("empty").begin_array().end_array()
      .end_object();
  EXPECT_EQ(w.str(),
            R"({"id":"rec-1","n":-3,"tags":["a","b"],"obj":{"x":true,"y":null},"empty":[]})");
}

TEST(JsonWriter, EscapesControlsQuotesAndInvalidUtf8) {
  std::string out;
  JsonWriter::append_escaped(out, std::string("a\"b\\c\n\x01\x7f", 8));
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001\u007f")");
  out.clear();
  JsonWriter::append_escaped(out, "caf\xc3\xa9 \xe2\x82\xac");  // valid UTF-8 kept
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac\"");
  out.clear();
  JsonWriter::append_escaped(out, "\xff\xc0\xaf\xed\xa0\x80x");  // invalid, overlong, surrogate
  EXPECT_EQ(out, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"");
}

TEST(JsonWriter, ArrayOfObjects) {
  JsonWriter w;
  w.begin_array();
  for (int i = 0; i < 3; ++i) w.begin_object().key("i").value(i).end_object();
  w.end_array();
  EXPECT_EQ(w.str(), R"([{"i":0},{"i":1},{"i":2}])");
}

TEST(JsonWriterDeathTest, ValueWhereAKeyIsDueAborts) {
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.begin_object().value("no key");
      },
      "check.failed");
}

}  // namespace
}  // namespace pamproxy
