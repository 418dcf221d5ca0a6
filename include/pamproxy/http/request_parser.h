#pragma once
// The incremental, zero-copy parser of HTTP/1.1 request heads (the buffer contract and the
// strictness rules are in head_fields.h).
//
//   RequestParser parser(limits);                 // once per connection (reserves field slots)
//   for (;;) {
//     switch (parser.parse(head_bytes_so_far)) {  // all bytes of this head so far, from its start
//       case ParseStatus::kIncomplete: read more; continue;
//       case ParseStatus::kError: answer error_status_code(parser.error()); close;
//       case ParseStatus::kDone: break;
//     }
//     const RequestHead& h = parser.head();       // valid until the next parse() or reset()
//     body starts at head_bytes_so_far[parser.head_bytes()];
//     ... parser.reset();                         // next pipelined request
//   }

#include <cstdint>
#include <string_view>

#include "pamproxy/http/error.h"
#include "pamproxy/http/head_fields.h"
#include "pamproxy/http/limits.h"

namespace pamproxy::http {

class RequestParser : private HeadBuilder {
 public:
  // Reserves room for limits.header_count_max fields: the only allocation.
  explicit RequestParser(const Limits& limits);
  ParseStatus parse(std::string_view buf);
  // After kDone: the head, and how many bytes of the buffer it took (the body starts there).
  const RequestHead& head() const { return head_; }
  uint32_t head_bytes() const { return head_.head_bytes_; }
  Error error() const { return error_; }
  // Ready for the next head (e.g. the next pipelined request); keeps the reserved slots.
  void reset();
  // reset(), and the memory of the field table given back until the next head's first field
  // (about 2.4 KiB with the default header_count_max): for a connection gone quiet.
  void release_memory();

 private:
  Error start_line(uint32_t begin, uint32_t end) override;
  Error finish() override;
  RequestHead head_;
};
}  // namespace pamproxy::http
