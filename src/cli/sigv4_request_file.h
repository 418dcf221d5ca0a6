#pragma once
// A raw HTTP/1.1 request as people paste it from logs and docs, for `pamctl sigv4`: bare LF or
// CRLF line endings, folded header lines (unfolded to one space, as AWS's signers do), a request
// target in origin form or absolute form (https://host/path), raw spaces or UTF-8 in the path.
// Offline tool code: exceptions allowed (std::runtime_error with a message naming the line).

#include <string>
#include <vector>

#include "pamproxy/sigv4/types.h"

namespace pamproxy::cli {

struct RequestFile {
  std::string method;
  std::string path;   // raw, as in the file (may hold spaces or UTF-8)
  std::string query;  // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // in file order, unfolded
  std::string body;

  // Views valid until the RequestFile changes.
  std::vector<sigv4::Header> header_views() const;
  const std::string* find(std::string_view name) const;
  void remove(std::string_view name);
  // Replaces the first header of that name (removing the others) or appends one.
  void set(std::string_view name, std::string_view value);
};

RequestFile parse_request_file(const std::string& text);

// Reads FILE, or stdin for "-".
std::string read_input(const std::string& path);

}  // namespace pamproxy::cli
