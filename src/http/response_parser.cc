// Status lines (RFC 9112 section 4) and how a response is framed given its request (section 6.3).

#include "pamproxy/http/response_parser.h"
#include "src/http/chars.h"

namespace pamproxy::http {

ResponseParser::ResponseParser(const Limits& limits) : HeadBuilder(limits) {
  reset(Method::kGet);
}

void ResponseParser::release_memory() {
  reset(Method::kGet);
  release_fields(head_);
}

void ResponseParser::reset(Method request_method) {
  reset_fields(head_);
  head_.status_ = 0;
  head_.reason_ = {};
  request_method_ = request_method;
}

ParseStatus ResponseParser::parse(std::string_view buf) {
  return scan(head_, buf);
}

Error ResponseParser::start_line(uint32_t begin, uint32_t end) {
  const char* p = head_.base_;
  const std::string_view line(p + begin, end - begin);
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]; "HTTP/1.1 200" is accepted.
  if (line.size() < 12 || line[8] != ' ') {
    for (char c : line) {
      if (c == '\0') return Error::kNulByte;
      if (c == '\r') return Error::kBareCr;
    }
    return Error::kBadStatusLine;
  }
  const std::string_view version = line.substr(0, 8);
  if (version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Error::kBadVersion;
  }
  if (version[5] != '1' || version[7] > '1') return Error::kUnsupportedVersion;
  head_.version_minor_ = version[7] - '0';
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return Error::kBadStatusCode;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || status > 599) return Error::kBadStatusCode;
  head_.status_ = status;
  if (line.size() > 12) {
    if (line[12] != ' ') return Error::kBadStatusCode;
    const std::string_view reason = line.substr(13);
    const size_t bad = chars::find_non_field(reason.data(), reason.size());
    if (bad != reason.size()) {
      const char c = reason[bad];
      if (c == '\0') return Error::kNulByte;
      if (c == '\r') return Error::kBareCr;
      return Error::kControlChar;
    }
    head_.reason_ = {begin + 13, static_cast<uint32_t>(reason.size())};
  }
  return Error::kNone;
}

Error ResponseParser::finish() {
  ResponseHead& h = head_;
  if (Error e = finish_fields(h); e != Error::kNone) return e;
  const int s = h.status_;
  if ((s >= 100 && s < 200) || s == 204 || s == 304 || request_method_ == Method::kHead) {
    h.body_kind_ = BodyKind::kNone;
  } else if (request_method_ == Method::kConnect && s >= 200 && s < 300) {
    h.body_kind_ = BodyKind::kNone;  // the connection becomes a tunnel
  } else if (has_transfer_encoding_) {
    h.body_kind_ = BodyKind::kChunked;
  } else if (has_content_length_) {
    h.body_kind_ = BodyKind::kContentLength;
  } else {
    h.body_kind_ = BodyKind::kUntilClose;
    h.keep_alive_ = false;
  }
  if (h.body_kind_ != BodyKind::kContentLength) h.content_length_ = 0;
  return Error::kNone;
}

}  // namespace pamproxy::http
