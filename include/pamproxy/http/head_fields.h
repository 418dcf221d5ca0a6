#pragma once
// HTTP/1.1 request and response heads as parsed (RFC 9110, RFC 9112): the field lines, the framing
// verdict, and the line scanning both parsers share (request_parser.h, response_parser.h).
//
// What this module owns: turning the bytes of a head into fields and a framing verdict, strictly
// enough that pamproxy and the next parser (AWS, the client) can never disagree on where a
// message ends. It never does I/O, never allocates after construction, and never copies a name or
// a value: results are views into the caller's buffer.
//
// The buffer contract: each parse() call passes every byte of the current head received so far,
// starting with its first byte (possibly more: bytes after the head, such as body or pipelined
// requests, are never looked at). The bytes already passed must not change; the buffer itself
// may move between calls (the engine copies a head that spans receive buffers into one head
// buffer of `head_bytes_max`). Views returned by head() point into the buffer of the last call
// and stay valid while that buffer does. Each call only scans the new bytes, so feeding a head
// one byte at a time costs O(head) overall.
//
// Decisions where RFC 9112 leaves a choice (strict wherever two parsers could differ):
//   - Line endings are CRLF. A bare LF is refused (kBareLf), as is a CR not followed by LF
//     (kBareCr): the RFC allows accepting bare LF, but a proxy that accepts it while its peer does
//     not (or the reverse) is a smuggling gadget.
//   - Empty lines (CRLF) before a request line are skipped (RFC 9112 section 2.2), counted against
//     head_bytes_max.
//   - obs-fold, whitespace before the colon, NUL and other control characters are refused.
//   - Content-Length must be 1*DIGIT, once; a repeated equal value or a list is refused too.
//   - Transfer-Encoding must be exactly "chunked" (one coding, any case); anything else is refused,
//     and so is Transfer-Encoding with Content-Length or in an HTTP/1.0 message.
//   - Only HTTP/1.0 and HTTP/1.1. A response without a reason phrase ("HTTP/1.1 200\r\n") is
//     accepted.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pamproxy/http/error.h"
#include "pamproxy/http/limits.h"

namespace pamproxy::http {

enum class ParseStatus : uint8_t { kIncomplete, kDone, kError };

enum class Method : uint8_t {
  kOther,
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kPatch,
  kTrace,
};

// Fields the codec itself interprets or that a proxy must treat specially. kProxyOther is any
// other "Proxy-*" field.
enum class HeaderId : uint8_t {
  kOther,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kProxyAuthorization,
  kProxyAuthenticate,
  kProxyOther,
  kTe,
  kTrailer,
  kUpgrade,
  kExpect,
  kContentEncoding,
};

// How the body of a message is delimited (RFC 9112 section 6.3).
enum class BodyKind : uint8_t {
  kNone,           // no body: GET without length, HEAD/1xx/204/304 responses, CONNECT
  kContentLength,  // exactly content_length() bytes (may be 0)
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // responses only: the body ends when the connection closes
};

enum class TargetForm : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };

struct HeaderField {
  std::string_view name;   // as sent (case preserved)
  std::string_view value;  // leading and trailing whitespace removed
  HeaderId id = HeaderId::kOther;
  // Meaningful only to the next hop (Connection and the fields it names, Keep-Alive, TE, Upgrade,
  // Proxy-*): a proxy must not forward it. Transfer-Encoding and Trailer describe the framing and
  // are not marked: forward them exactly when the body's framing is forwarded unchanged.
  bool hop_by_hop = false;
};

namespace detail {
struct Span32 {
  uint32_t off = 0;
  uint32_t len = 0;
};
struct FieldSlot {
  Span32 name;
  Span32 value;
  HeaderId id;
  bool hop_by_hop;
};
}  // namespace detail

// What request and response heads share: the field lines and the framing verdict.
class HeadFields {
 public:
  size_t header_count() const { return fields_.size(); }
  HeaderField header(size_t i) const;
  // The value of the first field with this name (case-insensitive), if any.
  std::optional<std::string_view> find(std::string_view name) const;
  // The first field with this id, if any.
  std::optional<std::string_view> find(HeaderId id) const;

  int version_minor() const { return version_minor_; }  // 0 or 1 (HTTP/1.x)
  BodyKind body_kind() const { return body_kind_; }
  uint64_t content_length() const { return content_length_; }  // with kContentLength
  // Whether the connection may carry another message after this one (RFC 9112 section 9.3).
  bool keep_alive() const { return keep_alive_; }
  bool has_upgrade() const { return has_upgrade_; }
  // The head's bytes, from the first byte passed (leading empty lines included) to the final CRLF.
  std::string_view raw() const { return {base_, head_bytes_}; }

 protected:
  friend class HeadBuilder;
  std::string_view view(detail::Span32 s) const { return {base_ + s.off, s.len}; }

  const char* base_ = nullptr;
  uint32_t head_bytes_ = 0;
  std::vector<detail::FieldSlot> fields_;  // header_count_max reserved at the first field
  BodyKind body_kind_ = BodyKind::kNone;
  uint64_t content_length_ = 0;
  int version_minor_ = 1;
  bool keep_alive_ = true;
  bool has_upgrade_ = false;
};

class RequestHead : public HeadFields {
 public:
  Method method() const { return method_; }
  std::string_view method_text() const { return view(method_text_); }
  std::string_view target() const { return view(target_); }
  TargetForm target_form() const { return target_form_; }
  // Absolute-form: "host[:port]" after "scheme://"; authority-form (CONNECT): the whole target.
  std::string_view authority() const { return view(authority_); }
  // Absolute-form: what follows the authority ("/a?b"; "/" when nothing does, "?b" when only a
  // query does); origin-form: the target; other forms: empty.
  std::string_view path_and_query() const;
  // CONNECT only: the host without brackets ("::1" for "[::1]:443") and the port.
  std::string_view connect_host() const { return view(connect_host_); }
  uint16_t connect_port() const { return connect_port_; }
  // Expect: 100-continue on an HTTP/1.1 request: the client waits for a 100 before the body.
  bool expect_continue() const { return expect_continue_; }
  std::optional<std::string_view> host() const { return find(HeaderId::kHost); }

 private:
  friend class RequestParser;
  Method method_ = Method::kOther;
  detail::Span32 method_text_;
  detail::Span32 target_;
  detail::Span32 authority_;
  detail::Span32 connect_host_;
  TargetForm target_form_ = TargetForm::kOrigin;
  uint16_t connect_port_ = 0;
  bool expect_continue_ = false;
};

class ResponseHead : public HeadFields {
 public:
  int status() const { return status_; }
  std::string_view reason() const { return view(reason_); }
  // 1xx other than 101: an interim response; the final one follows on the same connection.
  bool interim() const { return status_ >= 100 && status_ < 200 && status_ != 101; }

 private:
  friend class ResponseParser;
  int status_ = 0;
  detail::Span32 reason_;
};

// Shared line scanning and field handling; the parsers below add their start lines.
class HeadBuilder {
 public:
  explicit HeadBuilder(const Limits& limits) : limits_(limits) {}
  HeadBuilder(const HeadBuilder&) = default;
  HeadBuilder& operator=(const HeadBuilder&) = default;

 protected:
  enum class Phase : uint8_t { kStartLine, kFields, kDone, kError };
  virtual ~HeadBuilder() = default;
  // Scans the new bytes of `buf` for complete lines: the first non-empty one goes to
  // start_line(), the others to field_line(); at the empty line, finish() decides.
  ParseStatus scan(HeadFields& h, std::string_view buf);
  virtual Error start_line(uint32_t begin, uint32_t end) = 0;
  virtual Error finish() = 0;
  void reset_fields(HeadFields& h);
  // reset_fields(), and the field table's memory given back (a quiet connection's parser).
  void release_fields(HeadFields& h);
  // Reads field lines from scan_pos_ on; kIncomplete when the input ends inside one.
  ParseStatus scan_fields(HeadFields& h, const char* p, uint32_t end);
  // A complete field line: name [begin, colon), value bytes (already checked) up to cr.
  Error field_line(HeadFields& h, uint32_t begin, uint32_t colon, uint32_t cr);
  // Framing checks shared by both directions, run once the head is complete.
  Error finish_fields(HeadFields& h);
  ParseStatus fail(Error e) {
    error_ = e;
    phase_ = Phase::kError;
    return ParseStatus::kError;
  }

  Limits limits_;
  Phase phase_ = Phase::kStartLine;
  Error error_ = Error::kNone;
  uint32_t line_start_ = 0;  // first byte of the line being received
  uint32_t scan_pos_ = 0;    // bytes before this were scanned already
  uint32_t colon_ = 0;       // the current field line's colon, 0 while its name is incomplete
  // Accumulated while reading fields.
  uint32_t host_count_ = 0;
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool te_chunked_ = false;        // the last coding so far is chunked
  Error te_error_ = Error::kNone;  // first problem found in Transfer-Encoding values
  bool conn_close_ = false;
  bool conn_keep_alive_ = false;
  bool conn_other_ = false;  // Connection names other fields: mark them hop-by-hop at the end
  bool expect_continue_ = false;
  Error expect_error_ = Error::kNone;
};

// Case-insensitive ASCII comparison of field names and tokens.
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace pamproxy::http
