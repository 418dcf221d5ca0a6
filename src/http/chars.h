#pragma once
// Character classes of RFC 9110 section 5.6 as lookup tables, and a word-at-a-time scan for the
// bytes a field value may not hold. Private to the http module.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace pamproxy::http::chars {

enum : uint8_t {
  kToken = 1,   // tchar
  kTarget = 2,  // bytes allowed in a request-target: VCHAR (0x21-0x7E)
  kHex = 4,
  kField = 8,  // field-vchar, SP, HTAB: VCHAR, obs-text (0x80-0xFF), SP, HTAB
};

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    if (alpha || digit ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      v |= kToken;
    }
    if (c >= 0x21 && c <= 0x7E) v |= kTarget;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if ((c >= 0x20 && c != 0x7F) || c == '\t') v |= kField;
    t[c] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kTable = make_table();

inline bool is(char c, uint8_t cls) {
  return (kTable[static_cast<uint8_t>(c)] & cls) != 0;
}
inline bool is_token(char c) {
  return is(c, kToken);
}
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Index of the first byte of [p, p+n) that is not allowed in a field value (a control character
// other than HTAB, or DEL), or n. Eight bytes at a time: a word without any byte below 0x20 and
// without 0x7F is skipped whole; HTAB, rare in values, sends its word through the byte loop.
inline size_t find_non_field(const char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    // Bytes below 0x20: (w - 0x20..) & ~w & 0x80.. flags them (no false negatives; a flagged
    // word is re-checked byte by byte, so false positives from borrows only cost time).
    uint64_t low = (w - kOnes * 0x20) & ~w & kHigh;
    uint64_t x = w ^ (kOnes * 0x7F);
    uint64_t del = (x - kOnes) & ~x & kHigh;
    if ((low | del) != 0) {
      for (size_t j = i; j < i + 8; ++j) {
        if (!is(p[j], kField)) return j;
      }
    }
  }
  for (; i < n; ++i) {
    if (!is(p[i], kField)) return i;
  }
  return n;
}

}  // namespace pamproxy::http::chars
