#pragma once
// Small string helpers for the policy and store modules. Debian's Abseil is built with its own
// absl::string_view (not std::string_view), so absl::StrCat and friends do not take the
// std::string_view used throughout pamproxy; these do. Pure.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace pamproxy::policy {

inline absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view sv(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

namespace detail {
inline void append_one(std::string& out, std::string_view s) {
  out.append(s);
}
inline void append_one(std::string& out, const char* s) {
  out.append(s);
}
inline void append_one(std::string& out, const std::string& s) {
  out.append(s);
}
inline void append_one(std::string& out, char c) {
  out.push_back(c);
}
template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, char> &&
         !std::is_same_v<T, bool>) void append_one(std::string& out, T n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, r.ptr);
}
}  // namespace detail

template <typename... Args>
std::string cat(const Args&... args) {
  std::string out;
  (detail::append_one(out, args), ...);
  return out;
}

template <typename... Args>
void append(std::string& out, const Args&... args) {
  (detail::append_one(out, args), ...);
}

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace pamproxy::policy
