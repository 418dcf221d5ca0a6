#include "sigv4_request_file.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace pamproxy::cli {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

std::vector<sigv4::Header> RequestFile::header_views() const {
  std::vector<sigv4::Header> v;
  v.reserve(headers.size());
  for (const auto& [n, val] : headers) v.push_back({n, val});
  return v;
}

const std::string* RequestFile::find(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (sigv4::iequals(n, name)) return &v;
  }
  return nullptr;
}

void RequestFile::remove(std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return sigv4::iequals(h.first, name); });
}

void RequestFile::set(std::string_view name, std::string_view value) {
  bool done = false;
  for (auto it = headers.begin(); it != headers.end();) {
    if (sigv4::iequals(it->first, name)) {
      if (!done) {
        it->second = std::string(value);
        done = true;
        ++it;
      } else {
        it = headers.erase(it);
      }
    } else {
      ++it;
    }
  }
  if (!done) headers.emplace_back(std::string(name), std::string(value));
}

RequestFile parse_request_file(const std::string& text) {
  RequestFile r;
  size_t pos = 0;
  size_t line_no = 0;
  auto next_line = [&](std::string& line) -> bool {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = nl + 1;
    ++line_no;
    return true;
  };
  std::string line;
  do {
    if (!next_line(line)) throw std::runtime_error("the request is empty");
  } while (trim(line).empty());

  // Request line: METHOD SP target [SP HTTP/x.y]; the target may hold spaces.
  const std::string request_line = trim(line);
  std::string_view rl = request_line;
  const size_t sp = rl.find_first_of(" \t");
  if (sp == std::string_view::npos) {
    throw std::runtime_error("line " + std::to_string(line_no) +
                             ": expected a request line 'METHOD /path HTTP/1.1'");
  }
  r.method = std::string(rl.substr(0, sp));
  std::string target = trim(rl.substr(sp + 1));
  const size_t last_sp = target.rfind(' ');
  if (last_sp != std::string::npos && target.compare(last_sp + 1, 5, "HTTP/") == 0) {
    target = trim(std::string_view(target).substr(0, last_sp));
  }
  if (target.empty()) throw std::runtime_error("line 1: the request target is empty");
  std::string authority;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (target.compare(0, scheme.size(), scheme) == 0) {
      const size_t start = scheme.size();
      size_t slash = target.find_first_of("/?", start);
      if (slash == std::string::npos) slash = target.size();
      authority = target.substr(start, slash - start);
      target = target.substr(slash);
      if (target.empty() || target[0] == '?') target = "/" + target;
      break;
    }
  }
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (r.path.empty()) r.path = "/";  // "GET ?a=1": the origin-form root
  if (q != std::string::npos) r.query = target.substr(q + 1);

  // Headers up to the first empty line; a line starting with SP/HT continues the previous one.
  bool ended = false;
  while (next_line(line)) {
    if (line.empty()) {
      ended = true;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (r.headers.empty()) {
        throw std::runtime_error("line " + std::to_string(line_no) +
                                 ": a folded line with no header before it");
      }
      std::string& v = r.headers.back().second;
      const std::string more = trim(line);
      if (!more.empty()) {
        if (!v.empty()) v.push_back(' ');
        v += more;
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || trim(line.substr(0, colon)).empty()) {
      throw std::runtime_error("line " + std::to_string(line_no) +
                               ": expected 'Name: value' (or an empty line before the body)");
    }
    r.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  if (ended && pos < text.size()) r.body = text.substr(pos);
  if (!authority.empty() && r.find("host") == nullptr) {
    r.headers.insert(r.headers.begin(), {"Host", authority});
  }
  // Content-Length, when present and coherent, bounds the body (a pasted file often ends with a
  // newline that is not part of it).
  if (const std::string* cl = r.find("content-length")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(cl->c_str(), &end, 10);
    if (!cl->empty() && end != nullptr && *end == '\0' && n <= r.body.size()) r.body.resize(n);
  }
  return r;
}

std::string read_input(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace pamproxy::cli
