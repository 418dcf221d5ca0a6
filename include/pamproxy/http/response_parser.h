#pragma once
// The incremental, zero-copy parser of HTTP/1.1 response heads, as the proxy follows what an
// upstream answers (the buffer contract and the strictness rules are in head_fields.h).

#include <cstdint>
#include <string_view>

#include "pamproxy/http/error.h"
#include "pamproxy/http/head_fields.h"
#include "pamproxy/http/limits.h"

namespace pamproxy::http {

class ResponseParser : private HeadBuilder {
 public:
  explicit ResponseParser(const Limits& limits);
  ParseStatus parse(std::string_view buf);
  const ResponseHead& head() const { return head_; }
  uint32_t head_bytes() const { return head_.head_bytes_; }
  Error error() const { return error_; }
  // Ready for the next response head, to a request with this method (HEAD and CONNECT change how
  // the response is framed). Call again after an interim (1xx) response.
  void reset(Method request_method);
  // reset(Method::kGet), and the field table's memory given back until the next head's first
  // field: for a connection gone quiet.
  void release_memory();

 private:
  Error start_line(uint32_t begin, uint32_t end) override;
  Error finish() override;
  ResponseHead head_;
  Method request_method_ = Method::kGet;
};
}  // namespace pamproxy::http
