#include "http_min.h"

namespace pamproxy::bench {

size_t head_length(std::string_view bytes) {
  size_t p = bytes.find("\r\n\r\n");
  return p == std::string_view::npos ? 0 : p + 4;
}

int64_t content_length(std::string_view head) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    std::string_view rest = head.substr(pos);
    constexpr std::string_view kName = "content-length:";
    if (rest.size() < kName.size()) return -1;
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i) {
      char c = rest[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (c != kName[i]) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    size_t i = kName.size();
    while (i < rest.size() && rest[i] == ' ') ++i;
    int64_t v = 0;
    bool any = false;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      v = v * 10 + (rest[i] - '0');
      any = true;
      ++i;
    }
    return any ? v : -1;
  }
  return -1;
}

int64_t number_in_path(std::string_view head) {
  size_t sp = head.find(' ');
  if (sp == std::string_view::npos || sp + 2 >= head.size() || head[sp + 1] != '/') return -1;
  int64_t v = 0;
  bool any = false;
  for (size_t i = sp + 2; i < head.size() && head[i] >= '0' && head[i] <= '9'; ++i) {
    v = v * 10 + (head[i] - '0');
    any = true;
  }
  return any ? v : -1;
}

}  // namespace pamproxy::bench
