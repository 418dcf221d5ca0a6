// Fuzz target: the lenient raw-request parser of `pamctl sigv4` (pasted requests: LF or CRLF,
// folded headers, absolute-form targets, raw bytes in the path). Any input gives a request or a
// std::runtime_error naming the problem, never a crash; a parsed request has a method, a path
// that starts with '/' unless the file gave a relative one, and header names without ':'.

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "src/cli/sigv4_request_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const pamproxy::cli::RequestFile r = pamproxy::cli::parse_request_file(text);
    if (r.method.empty() || r.path.empty() || r.body.size() > text.size()) std::abort();
    for (const auto& [name, value] : r.headers) {
      if (name.empty() || name.find(':') != std::string::npos ||
          name.find('\n') != std::string::npos || value.find('\n') != std::string::npos) {
        std::abort();
      }
    }
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).empty()) std::abort();
  }
  return 0;
}
