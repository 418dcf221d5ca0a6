// Field lines and framing checks shared by request and response heads (RFC 9112 sections 5, 6
// and 9). Every rejection names its own Error; the order of checks decides which one a message
// with several problems gets, and is kept stable for tests.

#include <cstring>

#include "pamproxy/base/check.h"
#include "pamproxy/http/head_fields.h"
#include "src/http/chars.h"
#include "src/http/lists.h"

namespace pamproxy::http {
namespace {

// Compares a name with a lowercase literal of the same length.
bool name_is(const char* p, std::string_view lower_literal) {
  for (size_t i = 0; i < lower_literal.size(); ++i) {
    if (chars::lower(p[i]) != lower_literal[i]) return false;
  }
  return true;
}

HeaderId classify(const char* p, uint32_t n) {
  switch (n) {
    case 2: return name_is(p, "te") ? HeaderId::kTe : HeaderId::kOther;
    case 4: return name_is(p, "host") ? HeaderId::kHost : HeaderId::kOther;
    case 6: return name_is(p, "expect") ? HeaderId::kExpect : HeaderId::kOther;
    case 7:
      if (name_is(p, "upgrade")) return HeaderId::kUpgrade;
      if (name_is(p, "trailer")) return HeaderId::kTrailer;
      return HeaderId::kOther;
    case 10:
      if (name_is(p, "connection")) return HeaderId::kConnection;
      if (name_is(p, "keep-alive")) return HeaderId::kKeepAlive;
      break;
    case 14:
      if (name_is(p, "content-length")) return HeaderId::kContentLength;
      break;
    case 16:
      if (name_is(p, "content-encoding")) return HeaderId::kContentEncoding;
      if (name_is(p, "proxy-connection")) return HeaderId::kProxyConnection;
      break;
    case 17:
      if (name_is(p, "transfer-encoding")) return HeaderId::kTransferEncoding;
      break;
    case 18:
      if (name_is(p, "proxy-authenticate")) return HeaderId::kProxyAuthenticate;
      break;
    case 19:
      if (name_is(p, "proxy-authorization")) return HeaderId::kProxyAuthorization;
      break;
    default: break;
  }
  if (n > 6 && name_is(p, "proxy-")) return HeaderId::kProxyOther;
  return HeaderId::kOther;
}

bool is_hop_by_hop(HeaderId id) {
  switch (id) {
    case HeaderId::kConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kProxyConnection:
    case HeaderId::kProxyAuthorization:
    case HeaderId::kProxyAuthenticate:
    case HeaderId::kProxyOther:
    case HeaderId::kTe:
    case HeaderId::kUpgrade: return true;
    default: return false;
  }
}

// Content-Length = 1*DIGIT. Values above 2^62 are refused: no real body is that large, and it
// keeps every later sum of lengths far from overflow.
Error parse_content_length(std::string_view v, uint64_t* out) {
  if (v.empty()) return Error::kBadContentLength;
  constexpr uint64_t kMax = uint64_t{1} << 62;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return Error::kBadContentLength;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) return Error::kContentLengthOverflow;
    n = n * 10 + d;
  }
  *out = n;
  return Error::kNone;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (chars::lower(a[i]) != chars::lower(b[i])) return false;
  }
  return true;
}

HeaderField HeadFields::header(size_t i) const {
  PAMPROXY_CHECK(i < fields_.size());
  const detail::FieldSlot& s = fields_[i];
  return {view(s.name), view(s.value), s.id, s.hop_by_hop};
}

std::optional<std::string_view> HeadFields::find(std::string_view name) const {
  for (const detail::FieldSlot& s : fields_) {
    if (equals_ignore_case(view(s.name), name)) return view(s.value);
  }
  return std::nullopt;
}

std::optional<std::string_view> HeadFields::find(HeaderId id) const {
  for (const detail::FieldSlot& s : fields_) {
    if (s.id == id) return view(s.value);
  }
  return std::nullopt;
}

std::string_view RequestHead::path_and_query() const {
  if (target_form_ == TargetForm::kOrigin) return target();
  if (target_form_ != TargetForm::kAbsolute) return {};
  std::string_view t = target();
  size_t rest = authority_.off + authority_.len - target_.off;
  return rest < t.size() ? t.substr(rest) : std::string_view("/");
}

void HeadBuilder::reset_fields(HeadFields& h) {
  phase_ = Phase::kStartLine;
  error_ = Error::kNone;
  line_start_ = 0;
  scan_pos_ = 0;
  colon_ = 0;
  host_count_ = 0;
  has_content_length_ = false;
  has_transfer_encoding_ = false;
  te_chunked_ = false;
  te_error_ = Error::kNone;
  conn_close_ = false;
  conn_keep_alive_ = false;
  conn_other_ = false;
  expect_continue_ = false;
  expect_error_ = Error::kNone;
  h.base_ = nullptr;
  h.head_bytes_ = 0;
  h.fields_.clear();  // keeps the capacity
  h.body_kind_ = BodyKind::kNone;
  h.content_length_ = 0;
  h.version_minor_ = 1;
  h.keep_alive_ = true;
  h.has_upgrade_ = false;
}

void HeadBuilder::release_fields(HeadFields& h) {
  reset_fields(h);
  std::vector<detail::FieldSlot>().swap(h.fields_);
}

ParseStatus HeadBuilder::scan(HeadFields& h, std::string_view buf) {
  if (phase_ == Phase::kDone) return ParseStatus::kDone;
  if (phase_ == Phase::kError) return ParseStatus::kError;
  PAMPROXY_CHECK(buf.size() >= scan_pos_);
  h.base_ = buf.data();
  const char* base = buf.data();
  // The head, final CRLF included, must fit in head_bytes_max: never look beyond.
  const auto end = static_cast<uint32_t>(std::min<size_t>(buf.size(), limits_.head_bytes_max));
  while (phase_ == Phase::kStartLine) {
    const void* found = std::memchr(base + scan_pos_, '\n', end - scan_pos_);
    if (found == nullptr) {
      scan_pos_ = end;
      break;
    }
    const auto lf = static_cast<uint32_t>(static_cast<const char*>(found) - base);
    scan_pos_ = lf + 1;
    if (lf == line_start_ || base[lf - 1] != '\r') return fail(Error::kBareLf);
    if (lf - 1 != line_start_) {  // empty lines before the start line are skipped
      if (Error e = start_line(line_start_, lf - 1); e != Error::kNone) return fail(e);
      phase_ = Phase::kFields;
    }
    line_start_ = scan_pos_;
  }
  if (phase_ == Phase::kFields) {
    const ParseStatus s = scan_fields(h, base, end);
    if (s != ParseStatus::kIncomplete) return s;
  }
  if (buf.size() >= limits_.head_bytes_max) return fail(Error::kHeadTooLarge);
  return ParseStatus::kIncomplete;
}

// One pass over each field line: the name through the token table, the value eight bytes at a
// time up to its first control byte, which must be the CR of a CRLF. Where the input ends, the
// position is kept (scan_pos_, colon_) and the next call resumes there.
ParseStatus HeadBuilder::scan_fields(HeadFields& h, const char* p, uint32_t end) {
  for (;;) {
    uint32_t i = scan_pos_;
    if (colon_ == 0) {
      // Four table lookups per branch: names are short, branches are what they cost.
      while (i + 4 <= end && (chars::kTable[static_cast<uint8_t>(p[i])] &
                              chars::kTable[static_cast<uint8_t>(p[i + 1])] &
                              chars::kTable[static_cast<uint8_t>(p[i + 2])] &
                              chars::kTable[static_cast<uint8_t>(p[i + 3])] & chars::kToken)) {
        i += 4;
      }
      while (i < end && chars::is_token(p[i])) ++i;
      scan_pos_ = i;
      if (i == end) return ParseStatus::kIncomplete;
      const char c = p[i];
      if (i == line_start_) {
        if (c == '\r') {  // the empty line ending the head
          if (i + 1 == end) return ParseStatus::kIncomplete;
          if (p[i + 1] != '\n') return fail(Error::kBareCr);
          h.head_bytes_ = i + 2;
          if (Error e = finish(); e != Error::kNone) return fail(e);
          phase_ = Phase::kDone;
          return ParseStatus::kDone;
        }
        if (c == ':') return fail(Error::kEmptyHeaderName);
        if (chars::is_ows(c)) return fail(Error::kObsFold);
      }
      if (c != ':') {
        if (chars::is_ows(c)) return fail(Error::kWhitespaceBeforeColon);
        if (c == '\0') return fail(Error::kNulByte);
        if (c == '\n') return fail(Error::kBareLf);
        if (c == '\r') return fail(Error::kMissingColon);
        return fail(Error::kBadHeaderName);
      }
      colon_ = i;
      scan_pos_ = ++i;
    }
    const uint32_t j = i + static_cast<uint32_t>(chars::find_non_field(p + i, end - i));
    scan_pos_ = j;
    if (j == end) return ParseStatus::kIncomplete;
    const char c = p[j];
    if (c != '\r') {
      if (c == '\0') return fail(Error::kNulByte);
      if (c == '\n') return fail(Error::kBareLf);
      return fail(Error::kControlChar);
    }
    if (j + 1 == end) return ParseStatus::kIncomplete;
    if (p[j + 1] != '\n') return fail(Error::kBareCr);
    if (Error e = field_line(h, line_start_, colon_, j); e != Error::kNone) return fail(e);
    line_start_ = scan_pos_ = j + 2;
    colon_ = 0;
  }
}

Error HeadBuilder::field_line(HeadFields& h, uint32_t begin, uint32_t colon, uint32_t cr) {
  const char* p = h.base_;
  const uint32_t name_len = colon - begin;
  if (name_len > limits_.header_name_bytes_max) return Error::kHeaderNameTooLong;
  uint32_t vb = colon + 1;
  uint32_t ve = cr;
  while (vb < ve && chars::is_ows(p[vb])) ++vb;
  while (ve > vb && chars::is_ows(p[ve - 1])) --ve;
  if (ve - vb > limits_.header_value_bytes_max) return Error::kHeaderValueTooLong;
  if (h.fields_.size() >= limits_.header_count_max) return Error::kTooManyHeaders;
  // Reserved whole at a head's first field (after construction or release_fields()), so no
  // later field of this head or the next ones allocates.
  if (h.fields_.capacity() == 0) h.fields_.reserve(limits_.header_count_max);

  const HeaderId id = classify(p + begin, name_len);
  h.fields_.push_back({{begin, name_len}, {vb, ve - vb}, id, is_hop_by_hop(id)});
  const std::string_view value(p + vb, ve - vb);
  switch (id) {
    case HeaderId::kHost: ++host_count_; break;
    case HeaderId::kContentLength: {
      uint64_t n = 0;
      if (Error e = parse_content_length(value, &n); e != Error::kNone) return e;
      if (has_content_length_) {
        return n == h.content_length_ ? Error::kDuplicateContentLength
                                      : Error::kDifferingContentLength;
      }
      has_content_length_ = true;
      h.content_length_ = n;
      break;
    }
    case HeaderId::kTransferEncoding: {
      has_transfer_encoding_ = true;
      if (te_error_ != Error::kNone) break;
      te_error_ = lists::check_transfer_codings(value, &te_chunked_);
      break;
    }
    case HeaderId::kConnection:
      lists::for_each_element(value, [&](std::string_view token) {
        if (equals_ignore_case(token, "close")) {
          conn_close_ = true;
        } else if (equals_ignore_case(token, "keep-alive")) {
          conn_keep_alive_ = true;
        } else {
          conn_other_ = true;
        }
      });
      break;
    case HeaderId::kUpgrade: h.has_upgrade_ = true; break;
    case HeaderId::kExpect:
      if (equals_ignore_case(value, "100-continue")) {
        expect_continue_ = true;
      } else if (expect_error_ == Error::kNone) {
        expect_error_ = Error::kUnsupportedExpectation;
      }
      break;
    default: break;
  }
  return Error::kNone;
}

Error HeadBuilder::finish_fields(HeadFields& h) {
  if (has_transfer_encoding_) {
    if (has_content_length_) return Error::kContentLengthWithTransferEncoding;
    if (h.version_minor_ == 0) return Error::kTransferEncodingHttp10;
    if (te_error_ != Error::kNone) return te_error_;
    // check_transfer_codings refuses every list but a single "chunked".
    PAMPROXY_CHECK(te_chunked_);
  }
  h.keep_alive_ = h.version_minor_ == 1 ? !conn_close_ : (conn_keep_alive_ && !conn_close_);
  if (conn_other_) {
    // Fields named by Connection are hop-by-hop (RFC 9110 section 7.6.1). Bounded by
    // header_count_max squared name comparisons, paid only when Connection names a field.
    for (const detail::FieldSlot& c : h.fields_) {
      if (c.id != HeaderId::kConnection) continue;
      lists::for_each_element(h.view(c.value), [&](std::string_view token) {
        for (detail::FieldSlot& f : h.fields_) {
          if (equals_ignore_case(h.view(f.name), token)) f.hop_by_hop = true;
        }
      });
    }
  }
  return Error::kNone;
}

}  // namespace pamproxy::http
