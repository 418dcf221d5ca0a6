// Reading STS GetCallerIdentity answers (see caller_identity.h).

#include "pamproxy/aws/caller_identity.h"

namespace pamproxy::aws {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

// Where `<name` opens an element named exactly `name` at or after `from` (a longer name such as
// <AccountId> is passed over); npos when none does. `*bare` is false when the tag carries
// anything after the name (attributes, a '/'), which these answers never do.
size_t find_open(std::string_view xml, std::string_view name, size_t from, bool* bare) {
  for (size_t at = xml.find('<', from); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    if (xml.substr(at + 1, name.size()) != name) continue;
    const size_t after = at + 1 + name.size();
    if (after < xml.size() && is_name_char(xml[after])) continue;
    *bare = after < xml.size() && xml[after] == '>';
    return at;
  }
  return std::string_view::npos;
}

// The text of the one element `name` of `xml`: nullopt when there is none or more than one, when
// its tag is not bare, when it is never closed or when markup stands inside it.
std::optional<std::string_view> only_element_text(std::string_view xml, std::string_view name) {
  bool bare = false;
  const size_t open = find_open(xml, name, 0, &bare);
  if (open == std::string_view::npos || !bare) return std::nullopt;
  const size_t begin = open + 1 + name.size() + 1;
  const size_t end = xml.find('<', begin);
  if (end == std::string_view::npos || xml.substr(end + 1, 1) != "/" ||
      xml.substr(end + 2, name.size()) != name || xml.substr(end + 2 + name.size(), 1) != ">") {
    return std::nullopt;
  }
  bool unused = false;
  if (find_open(xml, name, end, &unused) != std::string_view::npos) return std::nullopt;
  return xml.substr(begin, end - begin);
}

// The content of the one element `name`, markup included (for the elements that hold others).
std::optional<std::string_view> only_element_content(std::string_view xml, std::string_view name) {
  bool bare = false;
  const size_t open = find_open(xml, name, 0, &bare);
  if (open == std::string_view::npos || !bare) return std::nullopt;
  bool unused = false;
  if (find_open(xml, name, open + 1, &unused) != std::string_view::npos) return std::nullopt;
  const size_t begin = open + 1 + name.size() + 1;
  for (size_t end = xml.find("</", begin); end != std::string_view::npos;
       end = xml.find("</", end + 2)) {
    if (xml.substr(end + 2, name.size()) == name && xml.substr(end + 2 + name.size(), 1) == ">") {
      return xml.substr(begin, end - begin);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> caller_identity_account(std::string_view body) {
  const auto result = only_element_content(body, "GetCallerIdentityResult");
  if (!result) return std::nullopt;
  const auto account = only_element_text(*result, "Account");
  // Not inside the result but elsewhere too: not an answer to trust.
  if (!account || !only_element_text(body, "Account")) return std::nullopt;
  if (account->size() != 12) return std::nullopt;
  for (char c : *account) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return account;
}

std::optional<std::string_view> query_error_code(std::string_view body) {
  const auto error = only_element_content(body, "Error");
  if (!error) return std::nullopt;
  const auto code = only_element_text(*error, "Code");
  if (!code || code->empty() || code->size() > 64) return std::nullopt;
  for (char c : *code) {
    if (!is_name_char(c) || c == '-' || c == '_' || c == ':') return std::nullopt;
  }
  return code;
}

}  // namespace pamproxy::aws
