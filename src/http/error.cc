#include "pamproxy/http/error.h"

#include <array>

namespace pamproxy::http {
namespace {

struct Info {
  std::string_view name;
  std::string_view message;
  int status;
};

// Indexed by Error; the static_assert below keeps it in step with the enum.
constexpr std::array<Info, static_cast<size_t>(Error::kCount_)> kInfo = {{
    {"none", "no error", 200},
    {"head_too_large", "message head is larger than [limits] head_bytes_max", 431},
    {"too_many_headers", "more header fields than [limits] header_count_max", 431},
    {"header_name_too_long", "header field name longer than [limits] header_name_bytes_max", 431},
    {"header_value_too_long", "header field value longer than [limits] header_value_bytes_max",
     431},
    {"bare_lf", "line ends with LF without CR", 400},
    {"bare_cr", "CR not followed by LF", 400},
    {"nul_byte", "NUL byte in the message head", 400},
    {"control_char", "control character in a header field value", 400},
    {"obs_fold", "header field line starts with whitespace (obsolete line folding)", 400},
    {"bad_method", "request method is not a token", 400},
    {"bad_target", "request target holds a character outside visible ASCII", 400},
    {"bad_version", "malformed HTTP version", 400},
    {"unsupported_version", "HTTP version other than 1.0 or 1.1", 505},
    {"bad_request_line", "malformed request line", 400},
    {"bad_status_line", "malformed status line", 502},
    {"bad_status_code", "status code is not three digits from 100 to 599", 502},
    {"bad_connect_target", "CONNECT target is not host:port", 400},
    {"target_form_mismatch", "request target form does not suit the method", 400},
    {"whitespace_before_colon", "whitespace between header field name and colon", 400},
    {"empty_header_name", "empty header field name", 400},
    {"bad_header_name", "header field name is not a token", 400},
    {"missing_colon", "header field line without a colon", 400},
    {"missing_host", "HTTP/1.1 request without a Host header field", 400},
    {"duplicate_host", "more than one Host header field", 400},
    {"bad_content_length", "Content-Length is not a single decimal number", 400},
    {"content_length_overflow", "Content-Length is too large", 400},
    {"differing_content_length", "Content-Length fields with different values", 400},
    {"duplicate_content_length", "Content-Length field repeated", 400},
    {"content_length_with_transfer_encoding", "Content-Length together with Transfer-Encoding",
     400},
    {"bad_transfer_encoding", "malformed Transfer-Encoding", 400},
    {"unsupported_transfer_coding", "Transfer-Encoding other than chunked", 501},
    {"chunked_not_final", "chunked is not the final transfer coding", 400},
    {"chunked_repeated", "chunked transfer coding applied more than once", 400},
    {"transfer_encoding_http10", "Transfer-Encoding in an HTTP/1.0 message", 400},
    {"unsupported_expectation", "Expect other than 100-continue", 417},
    {"connect_with_body", "CONNECT request with a body", 400},
    {"bad_chunk_size", "chunk size is not hexadecimal", 400},
    {"chunk_size_overflow", "chunk size is too large", 400},
    {"bad_chunk_extension", "malformed chunk extension", 400},
    {"chunk_line_too_long", "chunk size line is too long", 400},
    {"bad_chunk_terminator", "chunk data not followed by CRLF", 400},
    {"bad_trailer", "malformed trailer field", 400},
    {"trailer_too_large", "trailer section is too large", 431},
    {"bad_chunk_signature", "chunk-signature is not 64 lowercase hexadecimal digits", 400},
    {"missing_chunk_signature", "aws-chunked chunk without a chunk-signature", 400},
    {"bad_aws_trailer", "malformed aws-chunked trailer", 400},
    {"truncated_body", "connection closed before the end of the body", 400},
    {"bad_header_for_output", "header name or value cannot be written safely", 500},
    {"output_too_small", "output buffer too small for the head", 500},
}};
static_assert(kInfo.back().name == "output_too_small", "kInfo must list every Error in order");

}  // namespace

std::string_view error_message(Error e) {
  auto i = static_cast<size_t>(e);
  return i < kInfo.size() ? kInfo[i].message : "unknown error";
}

std::string_view error_name(Error e) {
  auto i = static_cast<size_t>(e);
  return i < kInfo.size() ? kInfo[i].name : "unknown";
}

int error_status_code(Error e) {
  auto i = static_cast<size_t>(e);
  return i < kInfo.size() ? kInfo[i].status : 400;
}

}  // namespace pamproxy::http
