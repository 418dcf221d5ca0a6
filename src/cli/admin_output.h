#pragma once
// How pamctl's API commands show answers to people: aligned tables for lists, "key: value" lines
// for one object; and how they put user text into URLs.
//
// Everything shown comes from the server and is untrusted: control characters (C0, DEL and C1,
// which terminals read as escape sequences) become '?', so a record name cannot rewrite the
// user's terminal. `--json` output bypasses this module: it is for programs.

#include <simdjson.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pamproxy::cli {

// RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - . _ ~):
// a path segment or a query value ("name:prod db" -> "name%3Aprod%20db").
std::string percent_encode(std::string_view s);

// "?a=1&b=2" from the pairs whose value is set ("" when none is).
std::string query_string(const std::vector<std::pair<std::string, std::optional<std::string>>>& q);

// `s` with control characters replaced by '?' (valid UTF-8 otherwise kept as is).
std::string printable(std::string_view s);

// Rows under headers, columns padded to their widest cell (counted in UTF-8 code points) and
// separated by two spaces; no trailing spaces. Cells are made printable. Each row has as many
// cells as there are headers (a programming error otherwise).
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// A JSON value as one table cell: strings as they are, null as "-", arrays joined with ",", an
// empty array as "-", objects as compact JSON.
std::string cell_text(simdjson::dom::element e);

// One object as "key: value" lines, the values aligned; nested objects flattened with dotted
// keys ("approval.required"), arrays of objects with indexes ("command_rules[0].effect").
// Top-level keys in `skip` are left out.
std::string format_object(simdjson::dom::object o, const std::vector<std::string_view>& skip = {});

// A table column: its header and how to make the cell from one item of a list.
struct Column {
  std::string header;
  std::function<std::string(simdjson::dom::object)> cell;
};
// The column showing the field `key` (cell_text of it; "-" when absent).
Column field_column(std::string header, std::string key);
// The cell for `key` of `o`: cell_text, or "-" when absent.
std::string field_text(simdjson::dom::object o, std::string_view key);

std::string format_list(const std::vector<Column>& columns, simdjson::dom::array items);

// JSON text on one line (whitespace between tokens removed, tokens unchanged).
std::string one_line_json(std::string_view json);

}  // namespace pamproxy::cli
