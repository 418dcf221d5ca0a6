// How API answers are shown: aligned tables, "key: value" lines, control characters from the
// server neutralised; and user text percent-encoded into URLs.

#include "src/cli/admin_output.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::cli {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& json) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(json).get(e), simdjson::SUCCESS) << json;
  return e;
}

TEST(PercentEncode, KeepsOnlyUnreserved) {
  EXPECT_EQ(percent_encode("r-1AZaz09-._~"), "r-1AZaz09-._~");
  EXPECT_EQ(percent_encode("name:prod db"), "name%3Aprod%20db");
  EXPECT_EQ(percent_encode("tag:a/b?c#d&e=f+g%"), "tag%3Aa%2Fb%3Fc%23d%26e%3Df%2Bg%25");
  EXPECT_EQ(percent_encode("ü"), "%C3%BC");
  EXPECT_EQ(percent_encode(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(QueryString, OnlySetValues) {
  EXPECT_EQ(query_string({}), "");
  EXPECT_EQ(query_string({{"tag", std::nullopt}}), "");
  EXPECT_EQ(query_string({{"tag", "prod db"}, {"name", std::nullopt}, {"limit", "10"}}),
            "?tag=prod%20db&limit=10");
}

TEST(Printable, NeutralisesTerminalControls) {
  EXPECT_EQ(printable("plain text"), "plain text");
  EXPECT_EQ(printable("a\x1b[2Jb\r\n\t\x7f"), "a?[2Jb????");
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "?31m");  // U+009B, the one-byte CSI
  EXPECT_EQ(printable("Zürich €"), "Zürich €");
}

TEST(FormatTable, AlignsColumnsWithoutTrailingSpaces) {
  std::string t = format_table({"ID", "NAME", "TAGS"},
                               {{"r-1", "prod", "a,b"}, {"r-22222", "x", "-"}, {"r-3", "ü", ""}});
  EXPECT_EQ(t,
            "ID       NAME  TAGS\n"
            "r-1      prod  a,b\n"
            "r-22222  x     -\n"
            "r-3      ü\n");
}

TEST(FormatTable, HeadersOnlyWhenEmpty) {
  EXPECT_EQ(format_table({"ID", "NAME"}, {}), "ID  NAME\n");
}

TEST(FormatTable, CellsMadePrintable) {
  EXPECT_EQ(format_table({"A", "B"}, {{"x\x1b]0;pwned\x07", "y"}}),
            "A            B\n"
            "x?]0;pwned?  y\n");
}

TEST(CellText, EachJsonType) {
  simdjson::dom::parser p;
  EXPECT_EQ(cell_text(parse(p, R"("s")")), "s");
  EXPECT_EQ(cell_text(parse(p, "null")), "-");
  EXPECT_EQ(cell_text(parse(p, "true")), "true");
  EXPECT_EQ(cell_text(parse(p, "-5")), "-5");
  EXPECT_EQ(cell_text(parse(p, "18446744073709551615")), "18446744073709551615");
  EXPECT_EQ(cell_text(parse(p, R"(["view","connect"])")), "view,connect");
  EXPECT_EQ(cell_text(parse(p, "[]")), "-");
  EXPECT_EQ(cell_text(parse(p, R"({"a": 1})")), R"({"a":1})");
}

TEST(FormatObject, FlattensAndAligns) {
  simdjson::dom::parser p;
  auto e = parse(p, R"({"record_id":"r-1","windows":["Mon-Fri 08:00-18:00"],"time_zone":"UTC",
    "approval":{"required":true,"approver_role_id":null,"max_duration_s":28800},
    "command_rules":[{"effect":"allow","pattern":"s3:Get*"},{"effect":"deny","pattern":"*"}],
    "allowed_networks":[],"secret":"hide-me"})");
  EXPECT_EQ(format_object(e.get_object(), {"secret"}),
            "record_id:                 r-1\n"
            "windows:                   Mon-Fri 08:00-18:00\n"
            "time_zone:                 UTC\n"
            "approval.required:         true\n"
            "approval.approver_role_id: -\n"
            "approval.max_duration_s:   28800\n"
            "command_rules[0].effect:   allow\n"
            "command_rules[0].pattern:  s3:Get*\n"
            "command_rules[1].effect:   deny\n"
            "command_rules[1].pattern:  *\n"
            "allowed_networks:          -\n");
}

TEST(FormatList, ColumnsFromFields) {
  simdjson::dom::parser p;
  auto e = parse(p, R"([{"id":"u-1","name":"alice","admin":true},{"id":"u-2","name":"bob"}])");
  std::vector<Column> cols = {field_column("ID", "id"), field_column("NAME", "name"),
                              field_column("ADMIN", "admin")};
  EXPECT_EQ(format_list(cols, e.get_array()),
            "ID   NAME   ADMIN\n"
            "u-1  alice  true\n"
            "u-2  bob    -\n");
}

TEST(OneLineJson, RemovesWhitespaceOnly) {
  EXPECT_EQ(one_line_json("{\n  \"a b\": [1, 2.50],\n  \"c\": null\n}\n"),
            R"({"a b":[1,2.50],"c":null})");
}

}  // namespace
}  // namespace pamproxy::cli
