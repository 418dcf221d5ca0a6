#include "pamproxy/sigv4/canonical.h"

#include <algorithm>

#include "pamproxy/sigv4/encoding.h"

namespace pamproxy::sigv4 {
namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

}  // namespace

void append_trimmed_value(std::string& out, std::string_view value) {
  // Appends whole runs of non-space bytes at a time; the per-byte push_back of a naive loop is
  // the largest cost of canonicalizing a typical head.
  size_t i = 0;
  const size_t n = value.size();
  bool first = true;
  while (true) {
    while (i < n && is_ws(value[i])) ++i;
    if (i == n) return;
    size_t j = i;
    while (j < n && !is_ws(value[j])) ++j;
    if (!first) out.push_back(' ');
    out.append(value.data() + i, j - i);
    first = false;
    i = j;
  }
}

Result Canonicalizer::build(const CanonicalInput& in, std::string& out) {
  out.clear();
  if (in.method.size() + in.path.size() * 9 + in.query.size() * 3 > kCanonicalRequestBytesMax) {
    return Result::fail(Error::kTooLarge);
  }
  out.append(in.method);
  out.push_back('\n');
  const std::string_view path = in.path.empty() ? std::string_view("/") : in.path;
  if (in.normalize_path) {
    path_.clear();
    wire_path_append(path_, path);
    decoded_.clear();
    normalize_path_append(decoded_, path_);
    uri_encode_append(out, decoded_, /*keep_slash=*/true);
  } else {
    s3_path_append(out, path);
  }
  out.push_back('\n');
  if (Result r = append_query(in, out); !r.ok()) return r;
  out.push_back('\n');
  if (Result r = append_headers(in, out); !r.ok()) return r;
  out.push_back('\n');
  out.append(in.signed_headers);
  out.push_back('\n');
  out.append(in.payload_hash);
  if (out.size() > kCanonicalRequestBytesMax) return Result::fail(Error::kTooLarge);
  return {};
}

Result Canonicalizer::append_query(const CanonicalInput& in, std::string& out) {
  arena_.clear();
  params_.clear();
  std::string_view rest = in.query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (in.skip_signature_param && key == "X-Amz-Signature") continue;
    if (params_.size() == kQueryParamsMax) return Result::fail(Error::kTooLarge);
    Param p;
    decoded_.clear();
    if (!percent_decode_append(decoded_, key)) return Result::fail(Error::kBadPercentEncoding);
    p.key_offset = static_cast<uint32_t>(arena_.size());
    uri_encode_append(arena_, decoded_, false);
    p.key_size = static_cast<uint32_t>(arena_.size() - p.key_offset);
    decoded_.clear();
    if (!percent_decode_append(decoded_, value)) return Result::fail(Error::kBadPercentEncoding);
    p.value_offset = static_cast<uint32_t>(arena_.size());
    uri_encode_append(arena_, decoded_, false);
    p.value_size = static_cast<uint32_t>(arena_.size() - p.value_offset);
    params_.push_back(p);
  }
  const std::string_view arena = arena_;
  std::sort(params_.begin(), params_.end(), [arena](const Param& a, const Param& b) {
    const std::string_view ak = arena.substr(a.key_offset, a.key_size);
    const std::string_view bk = arena.substr(b.key_offset, b.key_size);
    if (ak != bk) return ak < bk;
    return arena.substr(a.value_offset, a.value_size) < arena.substr(b.value_offset, b.value_size);
  });
  for (size_t i = 0; i < params_.size(); ++i) {
    if (i > 0) out.push_back('&');
    out.append(arena.substr(params_[i].key_offset, params_[i].key_size));
    out.push_back('=');
    out.append(arena.substr(params_[i].value_offset, params_[i].value_size));
  }
  return {};
}

Result Canonicalizer::append_headers(const CanonicalInput& in, std::string& out) {
  std::string_view rest = in.signed_headers;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    const std::string_view name = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    out.append(name);
    out.push_back(':');
    if (in.override_security_token && name == "x-amz-security-token") {
      append_trimmed_value(out, in.security_token);
    } else {
      bool found = false;
      for (const Header& h : in.headers) {
        if (!iequals(h.name, name)) continue;
        if (found) out.push_back(',');
        append_trimmed_value(out, h.value);
        found = true;
      }
      if (!found) return Result::fail(Error::kSignedHeaderMissing);
    }
    out.push_back('\n');
    if (out.size() > kCanonicalRequestBytesMax) return Result::fail(Error::kTooLarge);
  }
  return {};
}

}  // namespace pamproxy::sigv4
