// Parsing a collector's file lines back into HOSTNAME, APP-NAME and MSG (see syslog_collected.h).

#include "pamproxy/audit/syslog_collected.h"

namespace pamproxy::audit {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Takes the next space-terminated, non-empty token (the space is consumed too).
bool take_token(std::string_view& rest, std::string_view* token) {
  size_t sp = rest.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return false;
  *token = rest.substr(0, sp);
  rest.remove_prefix(sp + 1);
  return true;
}

// STRUCTURED-DATA: "-" or one or more [id param="value"...] elements; inside a quoted value,
// '\' escapes the next character.
bool skip_structured_data(std::string_view& rest) {
  if (rest.starts_with('-')) {
    rest.remove_prefix(1);
    return true;
  }
  if (!rest.starts_with('[')) return false;
  while (rest.starts_with('[')) {
    size_t i = 1;
    bool quoted = false;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (quoted && c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == ']') {
        break;
      }
    }
    if (i >= rest.size()) return false;
    rest.remove_prefix(i + 1);
  }
  return true;
}

bool parse_rfc5424(std::string_view rest, CollectedLine* out) {
  // "<PRI>1 ": PRI is 1 to 3 digits.
  size_t gt = rest.find('>');
  if (gt < 2 || gt > 4 || gt == std::string_view::npos) return false;
  for (size_t i = 1; i < gt; ++i) {
    if (!is_digit(rest[i])) return false;
  }
  rest.remove_prefix(gt + 1);
  if (!rest.starts_with("1 ")) return false;
  rest.remove_prefix(2);
  std::string_view time, procid, msgid;
  if (!take_token(rest, &time) || !take_token(rest, &out->hostname) ||
      !take_token(rest, &out->app_name) || !take_token(rest, &procid) ||
      !take_token(rest, &msgid) || !skip_structured_data(rest)) {
    return false;
  }
  if (!rest.empty()) {
    if (rest[0] != ' ') return false;
    rest.remove_prefix(1);
  }
  if (rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
  out->msg = rest;
  return true;
}

bool parse_file_format(std::string_view rest, CollectedLine* out) {
  std::string_view token;
  if (is_digit(rest[0])) {  // an RFC 3339 time
    if (!take_token(rest, &token)) return false;
  } else {  // "Mmm dd hh:mm:ss", the day padded with a space
    if (rest.size() < 4 || !is_alpha(rest[0]) || !is_alpha(rest[1]) || !is_alpha(rest[2]) ||
        rest[3] != ' ') {
      return false;
    }
    rest.remove_prefix(4);
    if (rest.starts_with(' ')) rest.remove_prefix(1);
    if (!take_token(rest, &token) || !take_token(rest, &token)) return false;
  }
  std::string_view tag;
  if (!take_token(rest, &out->hostname) || !take_token(rest, &tag) || !tag.ends_with(':')) {
    return false;
  }
  tag.remove_suffix(1);
  if (tag.ends_with(']')) {
    size_t open = tag.find('[');
    if (open == std::string_view::npos) return false;
    tag = tag.substr(0, open);
  }
  if (tag.empty()) return false;
  out->app_name = tag;
  out->msg = rest;
  return true;
}

}  // namespace

bool parse_collected_line(std::string_view line, CollectedLine* out) {
  *out = {};
  if (line.empty()) return false;
  bool ok = line[0] == '<' ? parse_rfc5424(line, out) : parse_file_format(line, out);
  if (!ok) *out = {};
  return ok;
}

}  // namespace pamproxy::audit
