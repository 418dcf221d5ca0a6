// One-pass head writer. A small cursor refuses to write past the end of the buffer; all checks
// on caller-supplied names and values happen before the first byte of them is written.

#include "pamproxy/http/serializer.h"

#include <cstring>

#include "pamproxy/base/check.h"
#include "src/http/chars.h"

namespace pamproxy::http {
namespace {

class Cursor {
 public:
  explicit Cursor(std::span<char> out) : out_(out) {}
  void put(std::string_view s) {
    if (overflow_ || s.size() > out_.size() - pos_) {
      overflow_ = true;
      return;
    }
    std::memcpy(out_.data() + pos_, s.data(), s.size());
    pos_ += s.size();
  }
  void field(std::string_view name, std::string_view value) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  WriteResult result() const {
    if (overflow_) return {Error::kOutputTooSmall, 0};
    return {Error::kNone, pos_};
  }

 private:
  std::span<char> out_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!chars::is_token(c)) return false;
  }
  return true;
}

bool valid_value(std::string_view v) {
  if (!v.empty() && (chars::is_ows(v.front()) || chars::is_ows(v.back()))) return false;
  return chars::find_non_field(v.data(), v.size()) == v.size();
}

Error check_rewrite(const HeadRewrite& rw) {
  PAMPROXY_CHECK(rw.set.size() <= 64);
  for (const NameValue& f : rw.set) {
    if (!valid_name(f.name) || !valid_value(f.value)) return Error::kBadHeaderForOutput;
  }
  for (const NameValue& f : rw.add) {
    if (!valid_name(f.name) || !valid_value(f.value)) return Error::kBadHeaderForOutput;
  }
  if (!rw.method.empty() && !valid_name(rw.method)) return Error::kBadHeaderForOutput;
  for (char c : rw.target) {
    if (!chars::is(c, chars::kTarget)) return Error::kBadHeaderForOutput;
  }
  return Error::kNone;
}

void write_fields(const HeadFields& head, const HeadRewrite& rw, Cursor& out) {
  uint64_t set_written = 0;  // bit i: rw.set[i] is out
  for (size_t i = 0; i < head.header_count(); ++i) {
    const HeaderField f = head.header(i);
    if (rw.drop_hop_by_hop && f.hop_by_hop) continue;
    bool removed = false;
    for (std::string_view r : rw.remove) {
      if (equals_ignore_case(f.name, r)) {
        removed = true;
        break;
      }
    }
    if (removed) continue;
    bool replaced = false;
    for (size_t k = 0; k < rw.set.size(); ++k) {
      if (!equals_ignore_case(f.name, rw.set[k].name)) continue;
      replaced = true;
      if ((set_written & (uint64_t{1} << k)) == 0) {
        out.field(f.name, rw.set[k].value);  // keep the client's spelling and position
        set_written |= uint64_t{1} << k;
      }
      break;
    }
    if (!replaced) out.field(f.name, f.value);
  }
  for (size_t k = 0; k < rw.set.size(); ++k) {
    if ((set_written & (uint64_t{1} << k)) == 0) out.field(rw.set[k].name, rw.set[k].value);
  }
  for (const NameValue& f : rw.add) out.field(f.name, f.value);
  out.put("\r\n");
}

std::string_view version_text(int minor) {
  return minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

WriteResult write_request_head(const RequestHead& head, const HeadRewrite& rw,
                               std::span<char> out) {
  if (Error e = check_rewrite(rw); e != Error::kNone) return {e, 0};
  Cursor c(out);
  c.put(rw.method.empty() ? head.method_text() : rw.method);
  c.put(" ");
  c.put(rw.target.empty() ? head.target() : rw.target);
  c.put(" ");
  c.put(version_text(head.version_minor()));
  c.put("\r\n");
  write_fields(head, rw, c);
  return c.result();
}

WriteResult write_response_head(const ResponseHead& head, const HeadRewrite& rw,
                                std::span<char> out) {
  if (Error e = check_rewrite(rw); e != Error::kNone) return {e, 0};
  PAMPROXY_CHECK(head.status() >= 100 && head.status() <= 599);
  const char status[3] = {static_cast<char>('0' + head.status() / 100),
                          static_cast<char>('0' + head.status() / 10 % 10),
                          static_cast<char>('0' + head.status() % 10)};
  Cursor c(out);
  c.put(version_text(head.version_minor()));
  c.put(" ");
  c.put({status, 3});
  c.put(" ");
  c.put(head.reason());
  c.put("\r\n");
  write_fields(head, rw, c);
  return c.result();
}

}  // namespace pamproxy::http
