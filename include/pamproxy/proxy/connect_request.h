#pragma once
// The plain-text head a client sends to open a tunnel:
//
//   CONNECT s3.us-east-1.amazonaws.com:443 HTTP/1.1\r\n
//   Host: s3.us-east-1.amazonaws.com:443\r\n        (any header lines, ignored)
//   \r\n
//
// Parsed strictly: the method is exactly CONNECT, the target is authority-form host:port (a DNS
// name, an IPv4 literal or a bracketed IPv6 literal; port 1-65535), the version HTTP/1.0 or
// HTTP/1.1, lines end in CRLF (a bare LF is tolerated, as RFC 9112 allows), header lines have a
// name and a colon, and the whole head fits [limits] connect_head_bytes_max. Pure: no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pamproxy::proxy {

struct ConnectTarget {
  std::string host;  // lower-cased; IPv6 without brackets
  uint16_t port = 0;
  bool host_is_ip = false;
  std::string authority() const;  // "host:port" / "[v6]:port"
};

enum class ConnectParse {
  kComplete,     // head parsed; `head_bytes` says where it ended
  kIncomplete,   // need more bytes (and the limit is not reached yet)
  kTooLarge,     // no end of head within the limit: 431-style refusal (we answer 400)
  kNotConnect,   // a well-formed request line with another method (405-style; we answer 400)
  kMalformed,    // not an HTTP request head at all
  kBadTarget,    // CONNECT with a target that is not host:port
};
std::string_view connect_parse_name(ConnectParse p);

struct ConnectResult {
  ConnectParse status = ConnectParse::kIncomplete;
  size_t head_bytes = 0;  // kComplete: bytes of the head including the blank line
  ConnectTarget target;
};

ConnectResult parse_connect(std::string_view bytes, size_t head_bytes_max);

// A host name as used in a CONNECT target, a TLS SNI or a Host header: 1..253 bytes of labels
// [a-z0-9-_] (1..63 each), no empty label. Case is not checked (callers lower-case first).
bool valid_dns_name(std::string_view host);

}  // namespace pamproxy::proxy
