#include "pamproxy/proxy/connect_request.h"

#include <charconv>

#include "pamproxy/base/net_address.h"

namespace pamproxy::proxy {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Splits the head into lines; returns false when a line holds a control character (other than
// HTAB inside header values) or a bare CR.
bool next_line(std::string_view head, size_t* pos, std::string_view* line) {
  size_t nl = head.find('\n', *pos);
  if (nl == std::string_view::npos) return false;
  size_t end = nl;
  if (end > *pos && head[end - 1] == '\r') --end;
  *line = head.substr(*pos, end - *pos);
  *pos = nl + 1;
  for (char c : *line) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool parse_port(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5 || s[0] == '0') return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

bool parse_target(std::string_view t, ConnectTarget* out) {
  std::string_view host;
  std::string_view port;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      return false;
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
    auto ip = net::IpAddress::parse(host);
    if (!ip || ip->family != AF_INET6) return false;
    out->host_is_ip = true;
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
    out->host_is_ip = net::IpAddress::parse(host).has_value();
  }
  if (host.empty() || !parse_port(port, &out->port)) return false;
  out->host.assign(host.begin(), host.end());
  for (char& c : out->host) c = lower(c);
  if (!out->host_is_ip && !valid_dns_name(out->host)) return false;
  return true;
}

// Where the head ends (after its blank line: CRLF CRLF, or LF LF as RFC 9112 tolerates), or npos.
size_t head_end(std::string_view window) {
  for (size_t i = 0; i < window.size(); ++i) {
    if (window[i] != '\n') continue;
    if (i + 1 < window.size() && window[i + 1] == '\n') return i + 2;
    if (i + 2 < window.size() && window[i + 1] == '\r' && window[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// The first bytes (up to 8, or the first space) are token characters, as a method's are.
bool starts_like_a_method(std::string_view window) {
  for (size_t i = 0; i < window.size() && i < 8; ++i) {
    char c = window[i];
    if (c == ' ') break;
    if (!is_tchar(c)) return false;
  }
  return true;
}

// request-line = method SP request-target SP HTTP-version
bool request_line(std::string_view head, size_t* pos, std::string_view* method,
                  std::string_view* target) {
  std::string_view line;
  if (!next_line(head, pos, &line)) return false;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != line.npos) {
    return false;
  }
  *method = line.substr(0, sp1);
  *target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : *method) {
    if (!is_tchar(c)) return false;
  }
  return version == "HTTP/1.1" || version == "HTTP/1.0";
}

// Header lines up to the blank one: each a token name and a colon (values are not looked at).
bool header_lines(std::string_view head, size_t* pos) {
  std::string_view line;
  while (*pos < head.size()) {
    if (!next_line(head, pos, &line)) return false;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    for (char c : line.substr(0, colon)) {
      if (!is_tchar(c)) return false;
    }
  }
  return true;
}

}  // namespace

std::string ConnectTarget::authority() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  out += ":" + std::to_string(port);
  return out;
}

std::string_view connect_parse_name(ConnectParse p) {
  switch (p) {
    case ConnectParse::kComplete: return "complete";
    case ConnectParse::kIncomplete: return "incomplete";
    case ConnectParse::kTooLarge: return "connect_head_too_large";
    case ConnectParse::kNotConnect: return "not_connect";
    case ConnectParse::kMalformed: return "malformed_connect";
    case ConnectParse::kBadTarget: return "bad_connect_target";
  }
  return "unknown";
}

bool valid_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

ConnectResult parse_connect(std::string_view bytes, size_t head_bytes_max) {
  ConnectResult r;
  // Look for the end of the head only within the limit.
  std::string_view window = bytes.substr(0, std::min(bytes.size(), head_bytes_max));
  const size_t end = head_end(window);
  // An early look at the first bytes: a TLS ClientHello or binary garbage is refused at once,
  // without waiting for a head that will never come.
  if (!starts_like_a_method(window)) {
    r.status = ConnectParse::kMalformed;
    return r;
  }
  if (end == std::string_view::npos) {
    r.status = bytes.size() >= head_bytes_max ? ConnectParse::kTooLarge : ConnectParse::kIncomplete;
    return r;
  }
  std::string_view head = window.substr(0, end);
  size_t pos = 0;
  std::string_view method;
  std::string_view target;
  if (!request_line(head, &pos, &method, &target) || !header_lines(head, &pos)) {
    r.status = ConnectParse::kMalformed;
    return r;
  }
  if (method != "CONNECT") {
    r.status = ConnectParse::kNotConnect;
    return r;
  }
  if (!parse_target(target, &r.target)) {
    r.status = ConnectParse::kBadTarget;
    return r;
  }
  r.status = ConnectParse::kComplete;
  r.head_bytes = end;
  return r;
}

}  // namespace pamproxy::proxy
