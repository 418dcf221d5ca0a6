// Reading one cookie out of a Cookie field (see include/pamproxy/admin/cookie.h).

#include "pamproxy/admin/cookie.h"

namespace pamproxy::admin {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view field, std::string_view name) {
  std::optional<std::string_view> found;
  while (!field.empty()) {
    const size_t end = field.find(';');
    std::string_view pair = trim(field.substr(0, end));
    field = end == std::string_view::npos ? std::string_view() : field.substr(end + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (found && *found != value) return std::nullopt;
    found = value;
  }
  return found;
}

}  // namespace pamproxy::admin
