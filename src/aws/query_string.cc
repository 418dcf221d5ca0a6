#include "src/aws/query_string.h"

namespace pamproxy::aws {

bool form_value(std::string_view form, std::string_view key, std::array<char, 128>* out,
                size_t* out_len) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    form = amp == std::string_view::npos ? std::string_view() : form.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key || eq == std::string_view::npos) continue;
    std::string_view v = pair.substr(eq + 1);
    size_t n = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      char c = v[i];
      if (c == '%') {
        auto hex = [](char h) -> int {
          if (h >= '0' && h <= '9') return h - '0';
          if (h >= 'a' && h <= 'f') return h - 'a' + 10;
          if (h >= 'A' && h <= 'F') return h - 'A' + 10;
          return -1;
        };
        if (i + 2 >= v.size()) return false;
        int hi = hex(v[i + 1]);
        int lo = hex(v[i + 2]);
        if (hi < 0 || lo < 0) return false;
        c = static_cast<char>(hi * 16 + lo);
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (n == out->size()) return false;
      (*out)[n++] = c;
    }
    *out_len = n;
    return true;
  }
  return false;
}

bool has_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, pair.find('=')) == key) return true;
  }
  return false;
}

bool param_equals(std::string_view query, std::string_view key, std::string_view value) {
  std::array<char, 128> buf;
  size_t n = 0;
  return form_value(query, key, &buf, &n) && std::string_view(buf.data(), n) == value;
}

}  // namespace pamproxy::aws
