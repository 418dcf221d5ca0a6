#include "admin_output.h"

#include <algorithm>

#include "pamproxy/base/check.h"

namespace pamproxy::cli {
namespace {

size_t display_width(std::string_view s) {
  // Code points: every byte that is not a UTF-8 continuation byte.
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

void flatten(simdjson::dom::element e, const std::string& key,
             std::vector<std::pair<std::string, std::string>>& lines) {
  simdjson::dom::object o;
  simdjson::dom::array a;
  if (e.get_object().get(o) == simdjson::SUCCESS && o.size() > 0) {
    for (auto [k, v] : o)
      flatten(v, key.empty() ? std::string(k) : key + "." + std::string(k), lines);
    return;
  }
  if (e.get_array().get(a) == simdjson::SUCCESS && a.size() > 0 && a.at(0).is_object()) {
    size_t i = 0;
    for (simdjson::dom::element item : a)
      flatten(item, key + "[" + std::to_string(i++) + "]", lines);
    return;
  }
  lines.emplace_back(key, cell_text(e));
}

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::optional<std::string>>>& q) {
  std::string out;
  for (const auto& [name, value] : q) {
    if (!value) continue;
    out += out.empty() ? "?" : "&";
    out += percent_encode(name) + "=" + percent_encode(*value);
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out += '?';  // U+0080..U+009F: C1 controls (0x9B is CSI)
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all;
  all.reserve(rows.size() + 1);
  all.push_back(headers);
  for (const auto& r : rows) {
    PAMPROXY_CHECK(r.size() == headers.size());
    std::vector<std::string> clean;
    clean.reserve(r.size());
    for (const auto& cell : r) clean.push_back(printable(cell));
    all.push_back(std::move(clean));
  }
  std::vector<size_t> width(headers.size(), 0);
  for (const auto& r : all) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  }
  std::string out;
  for (const auto& r : all) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i > 0) line += "  ";
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - display_width(r[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string cell_text(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return printable(std::string_view(e.get_string()));
    case simdjson::dom::element_type::NULL_VALUE: return "-";
    case simdjson::dom::element_type::BOOL: return bool(e.get_bool()) ? "true" : "false";
    case simdjson::dom::element_type::INT64: return std::to_string(int64_t(e.get_int64()));
    case simdjson::dom::element_type::UINT64: return std::to_string(uint64_t(e.get_uint64()));
    case simdjson::dom::element_type::DOUBLE: return printable(simdjson::minify(e));
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      for (simdjson::dom::element item : e.get_array()) {
        if (!out.empty()) out += ",";
        out += cell_text(item);
      }
      return out.empty() ? "-" : out;
    }
    case simdjson::dom::element_type::OBJECT: return printable(simdjson::minify(e));
  }
  return "?";
}

std::string format_object(simdjson::dom::object o, const std::vector<std::string_view>& skip) {
  std::vector<std::pair<std::string, std::string>> lines;
  for (auto [k, v] : o) {
    if (std::find(skip.begin(), skip.end(), k) == skip.end()) flatten(v, std::string(k), lines);
  }
  size_t width = 0;
  for (const auto& [k, v] : lines) width = std::max(width, display_width(printable(k)) + 1);
  std::string out;
  for (const auto& [k, v] : lines) {
    std::string key = printable(k) + ":";
    out += key;
    out.append(width - display_width(key) + 1, ' ');
    out += v + "\n";
  }
  return out;
}

std::string field_text(simdjson::dom::object o, std::string_view key) {
  simdjson::dom::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return "-";
  return cell_text(e);
}

Column field_column(std::string header, std::string key) {
  return Column{std::move(header),
                [key = std::move(key)](simdjson::dom::object o) { return field_text(o, key); }};
}

std::string format_list(const std::vector<Column>& columns, simdjson::dom::array items) {
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(c.header);
  std::vector<std::vector<std::string>> rows;
  for (simdjson::dom::element item : items) {
    simdjson::dom::object o;
    std::vector<std::string> row;
    if (item.get_object().get(o) == simdjson::SUCCESS) {
      for (const auto& c : columns) row.push_back(c.cell(o));
    } else {
      row.assign(columns.size(), "-");
      row[0] = cell_text(item);
    }
    rows.push_back(std::move(row));
  }
  return format_table(headers, rows);
}

std::string one_line_json(std::string_view json) {
  std::string out(json.size(), '\0');
  size_t len = 0;
  if (simdjson::minify(json.data(), json.size(), out.data(), len) != simdjson::SUCCESS) {
    return std::string(json);
  }
  out.resize(len);
  return out;
}

}  // namespace pamproxy::cli
