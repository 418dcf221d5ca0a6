// Request lines (RFC 9112 section 3) and the request-specific checks of a complete head.

#include <cstring>

#include "pamproxy/http/request_parser.h"
#include "src/http/chars.h"

namespace pamproxy::http {
namespace {

Method classify_method(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "POST") return Method::kPost;
      if (m == "HEAD") return Method::kHead;
      break;
    case 5:
      if (m == "PATCH") return Method::kPatch;
      if (m == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "CONNECT") return Method::kConnect;
      if (m == "OPTIONS") return Method::kOptions;
      break;
    default: break;
  }
  return Method::kOther;
}

// The error for a byte that ended a start-line element where SP was expected.
Error stray_byte(char c, Error otherwise) {
  if (c == '\0') return Error::kNulByte;
  if (c == '\r') return Error::kBareCr;
  return otherwise;
}

// "HTTP/1.1" or "HTTP/1.0"; writes the minor version.
Error parse_version(std::string_view v, int* minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    return Error::kBadVersion;
  }
  if (v[5] != '1' || v[7] > '1') return Error::kUnsupportedVersion;
  *minor = v[7] - '0';
  return Error::kNone;
}

bool is_reg_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

RequestParser::RequestParser(const Limits& limits) : HeadBuilder(limits) { reset(); }

void RequestParser::release_memory() {
  reset();
  release_fields(head_);
}

void RequestParser::reset() {
  reset_fields(head_);
  head_.method_ = Method::kOther;
  head_.method_text_ = {};
  head_.target_ = {};
  head_.authority_ = {};
  head_.connect_host_ = {};
  head_.target_form_ = TargetForm::kOrigin;
  head_.connect_port_ = 0;
  head_.expect_continue_ = false;
}

ParseStatus RequestParser::parse(std::string_view buf) {
  return scan(head_, buf);
}

Error RequestParser::start_line(uint32_t begin, uint32_t end) {
  const char* p = head_.base_;
  uint32_t i = begin;
  while (i < end && chars::is_token(p[i])) ++i;
  if (i == end) return Error::kBadRequestLine;
  if (p[i] != ' ') return stray_byte(p[i], Error::kBadMethod);
  if (i == begin) return Error::kBadRequestLine;
  head_.method_text_ = {begin, i - begin};
  head_.method_ = classify_method({p + begin, i - begin});

  const uint32_t tb = ++i;
  while (i < end && chars::is(p[i], chars::kTarget)) ++i;
  if (i == end) return Error::kBadRequestLine;
  if (p[i] != ' ') return stray_byte(p[i], Error::kBadTarget);
  if (i == tb) return Error::kBadRequestLine;
  head_.target_ = {tb, i - tb};

  const std::string_view version(p + i + 1, end - i - 1);
  for (char c : version) {
    if (c == '\0') return Error::kNulByte;
    if (c == '\r') return Error::kBareCr;
  }
  if (version.find(' ') != std::string_view::npos) return Error::kBadRequestLine;
  return parse_version(version, &head_.version_minor_);
}

namespace {

// authority-form of CONNECT: host ":" port, host a reg-name or "[" IPv6 "]" (RFC 9112 3.2.3).
Error parse_connect_target(std::string_view t, uint32_t off, detail::Span32* host, uint16_t* port) {
  size_t colon;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close < 3) return Error::kBadConnectTarget;
    for (size_t i = 1; i < close; ++i) {
      const char c = t[i];
      if (chars::hex_value(c) < 0 && c != ':' && c != '.') return Error::kBadConnectTarget;
    }
    *host = {static_cast<uint32_t>(off + 1), static_cast<uint32_t>(close - 1)};
    colon = close + 1;
    if (colon >= t.size() || t[colon] != ':') return Error::kBadConnectTarget;
  } else {
    colon = t.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return Error::kBadConnectTarget;
    for (size_t i = 0; i < colon; ++i) {
      if (!is_reg_name_char(t[i])) return Error::kBadConnectTarget;
    }
    *host = {off, static_cast<uint32_t>(colon)};
  }
  std::string_view digits = t.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return Error::kBadConnectTarget;
  uint32_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return Error::kBadConnectTarget;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n == 0 || n > 65535) return Error::kBadConnectTarget;
  *port = static_cast<uint16_t>(n);
  return Error::kNone;
}

bool is_scheme_char(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

Error RequestParser::finish() {
  RequestHead& h = head_;
  if (Error e = finish_fields(h); e != Error::kNone) return e;
  if (host_count_ > 1) return Error::kDuplicateHost;
  if (host_count_ == 0 && h.version_minor_ == 1) return Error::kMissingHost;

  // The target. A fragment is never sent (RFC 9110 4.2.4); refusing '#' keeps two parsers from
  // disagreeing on where the path ends.
  const std::string_view t = h.target();
  if (t.find('#') != std::string_view::npos) return Error::kBadTarget;
  if (h.method_ == Method::kConnect) {
    h.target_form_ = TargetForm::kAuthority;
    h.authority_ = h.target_;
    if (Error e = parse_connect_target(t, h.target_.off, &h.connect_host_, &h.connect_port_);
        e != Error::kNone) {
      return e;
    }
  } else if (t[0] == '/') {
    h.target_form_ = TargetForm::kOrigin;
  } else if (t == "*") {
    if (h.method_ != Method::kOptions) return Error::kTargetFormMismatch;
    h.target_form_ = TargetForm::kAsterisk;
  } else {
    size_t i = 0;
    while (i < t.size() && is_scheme_char(t[i], i == 0)) ++i;
    if (i == 0 || t.substr(i, 3) != "://") return Error::kTargetFormMismatch;
    const size_t ab = i + 3;
    size_t ae = ab;
    while (ae < t.size() && t[ae] != '/' && t[ae] != '?') ++ae;
    if (ae == ab) return Error::kBadTarget;
    h.target_form_ = TargetForm::kAbsolute;
    h.authority_ = {static_cast<uint32_t>(h.target_.off + ab), static_cast<uint32_t>(ae - ab)};
  }

  // RFC 9110 10.1.1: a server MUST ignore 100-continue in an HTTP/1.0 request.
  if (expect_error_ != Error::kNone) return expect_error_;
  h.expect_continue_ = expect_continue_ && h.version_minor_ == 1;

  if (has_transfer_encoding_) {
    h.body_kind_ = BodyKind::kChunked;
  } else if (has_content_length_) {
    h.body_kind_ = BodyKind::kContentLength;
  } else {
    h.body_kind_ = BodyKind::kNone;
  }
  if (h.method_ == Method::kConnect) {
    if (has_transfer_encoding_ || h.content_length_ > 0) return Error::kConnectWithBody;
    h.body_kind_ = BodyKind::kNone;
  }
  return Error::kNone;
}

}  // namespace pamproxy::http
