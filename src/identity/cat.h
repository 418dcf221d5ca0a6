#pragma once
// Joining text and numbers into one string for the module's messages. (absl::StrCat of this
// build's Abseil takes absl::string_view, which is not std::string_view here.)

#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace pamproxy::identity::internal {

inline void append(std::string& out, std::string_view text) {
  out.append(text);
}
inline void append(std::string& out, const std::string& text) {
  out.append(text);
}
inline void append(std::string& out, const char* text) {
  out.append(text);
}
#ifndef ABSL_USES_STD_STRING_VIEW
inline void append(std::string& out, absl::string_view text) {
  out.append(text.data(), text.size());
}
#endif
inline void append(std::string& out, char c) {
  out.push_back(c);
}
template <std::integral N>
requires(!std::same_as<N, char>) void append(std::string& out, N n) {
  out += std::to_string(n);
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (append(out, parts), ...);
  return out;
}

}  // namespace pamproxy::identity::internal
