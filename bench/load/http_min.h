#pragma once
// The little HTTP/1.1 the load tools need: find the end of a head and read Content-Length.
// Bench-only (the tools talk to each other and to pamproxyd relaying them); the proxy's own
// parsing lives in src/.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pamproxy::bench {

// Bytes of the head including CRLF CRLF, or 0 when incomplete.
size_t head_length(std::string_view bytes);
// Content-Length of a head (-1 when absent or malformed).
int64_t content_length(std::string_view head);
// "/123" -> 123; anything else -> -1.
int64_t number_in_path(std::string_view head);

}  // namespace pamproxy::bench
