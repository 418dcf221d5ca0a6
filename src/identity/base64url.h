#pragma once
// What cjose's base64url decoder may be given. Internal to src/identity.

#include <string_view>

namespace pamproxy::identity::internal {

// Base64url without padding (RFC 4648 section 5) of a length that decodes: only the alphabet, and
// never 4n + 1 characters (a lone 6-bit group is no byte). cjose asserts, and so aborts the
// process, on that length, so every text from outside is checked here before cjose decodes it.
inline bool base64url_text(std::string_view text) {
  if (text.size() % 4 == 1) return false;
  for (char c : text) {
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!alphabet) return false;
  }
  return true;
}

}  // namespace pamproxy::identity::internal
