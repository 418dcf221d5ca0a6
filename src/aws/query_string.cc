#include "src/aws/query_string.h"

namespace pamproxy::aws {

bool next_form_pair(std::string_view* form, FormPair* pair) {
  if (form->empty()) return false;
  const size_t amp = form->find('&');
  const std::string_view text = form->substr(0, amp);
  *form = amp == std::string_view::npos ? std::string_view() : form->substr(amp + 1);
  const size_t eq = text.find('=');
  pair->name = text.substr(0, eq);
  pair->has_value = eq != std::string_view::npos;
  pair->value = pair->has_value ? text.substr(eq + 1) : std::string_view();
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool form_value(std::string_view form, std::string_view key, std::array<char, 128>* out,
                size_t* out_len) {
  FormPair pair;
  while (next_form_pair(&form, &pair)) {
    if (pair.name != key || !pair.has_value) continue;
    std::string_view v = pair.value;
    size_t n = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      char c = v[i];
      if (c == '%') {
        if (i + 2 >= v.size()) return false;
        int hi = hex_digit(v[i + 1]);
        int lo = hex_digit(v[i + 2]);
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
  FormPair pair;
  while (next_form_pair(&query, &pair)) {
    if (pair.name == key) return true;
  }
  return false;
}

bool param_equals(std::string_view query, std::string_view key, std::string_view value) {
  std::array<char, 128> buf;
  size_t n = 0;
  return form_value(query, key, &buf, &n) && std::string_view(buf.data(), n) == value;
}

}  // namespace pamproxy::aws
