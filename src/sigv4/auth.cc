#include "pamproxy/sigv4/auth.h"

#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/encoding.h"

namespace pamproxy::sigv4 {
namespace {

constexpr std::string_view kSigV4a = "AWS4-ECDSA-P256-SHA256";
// Signature Version 2: "Authorization: AWS AK:signature".
constexpr std::string_view kSigV2 = "AWS";

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool is_hex_run(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in` into the ParsedAuth's storage.
Error store_decoded(ParsedAuth& out, std::string_view in, std::string_view& value) {
  char* const begin = out.storage + out.storage_used;
  char* p = begin;
  char* const end = out.storage + ParsedAuth::kStorageBytes;
  for (size_t i = 0; i < in.size(); ++i) {
    if (p == end) return Error::kTooLarge;
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return Error::kBadPercentEncoding;
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return Error::kBadPercentEncoding;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    *p++ = c;
  }
  value = std::string_view(begin, static_cast<size_t>(p - begin));
  out.storage_used += value.size();
  return Error::kOk;
}

Error check_algorithm(std::string_view algorithm) {
  if (algorithm == kAlgorithm) return Error::kOk;
  if (algorithm == kSigV4a) return Error::kSigV4aRefused;
  if (algorithm == kSigV2) return Error::kSigV2Refused;
  return Error::kUnsupportedAlgorithm;
}

// Common tail of both forms: credential, signature, signed headers and date.
Result finish(ParsedAuth& out, std::string_view credential, bool require_token) {
  Result r = split_credential(credential, out.access_key, out.scope);
  if (!r.ok()) return r;
  r = split_access_key(out.access_key, out.token_id, out.record);
  if (!r.ok()) {
    if (require_token) return r;
    out.token_id = out.record = {};
  }
  if (!is_lower_hex64(out.signature)) return Result::fail(Error::kMalformedSignature);
  if (!valid_signed_headers(out.signed_headers)) return Result::fail(Error::kBadSignedHeaders);
  if (out.amz_date.empty()) return Result::fail(Error::kMissingDate);
  std::optional<int64_t> t = parse_amz_date(out.amz_date);
  if (!t) return Result::fail(Error::kBadDate);
  out.request_time_s = *t;
  if (out.amz_date.substr(0, 8) != out.scope.date) {
    return Result::fail(Error::kCredentialDateMismatch);
  }
  return {};
}

Result parse_header_form(const RequestView& req, std::string_view value, ParsedAuth& out,
                         bool require_token) {
  value = trim(value);
  const size_t sp = value.find_first_of(" \t");
  const std::string_view algorithm = value.substr(0, sp);
  if (Error e = check_algorithm(algorithm); e != Error::kOk) return Result::fail(e);
  if (sp == std::string_view::npos) return Result::fail(Error::kMalformedAuthorization);

  // Parameters are separated by ',' (optional spaces after), in any order. The credential may
  // itself hold ',' (and '=', spaces): a segment only starts a new parameter when it begins with
  // a parameter name and, for SignedHeaders and Signature, carries a value of their restricted
  // alphabet; anything else continues the credential.
  const char* cred_begin = nullptr;
  const char* cred_end = nullptr;
  enum { kNone, kCredential, kOther } current = kNone;
  bool have_sh = false, have_sig = false;
  std::string_view rest = value.substr(sp + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view raw = rest.substr(0, comma);
    const std::string_view seg = trim(raw);
    // A parameter name not seen yet starts that parameter; a name seen before continues the
    // credential when inside it (the access key may hold ",Signature="), else is a duplicate.
    if (starts_with(seg, "Credential=") && cred_begin == nullptr) {
      cred_begin = seg.data() + 11;
      cred_end = seg.data() + seg.size();
      current = kCredential;
    } else if (starts_with(seg, "SignedHeaders=") && !have_sh) {
      out.signed_headers = seg.substr(14);  // validated in finish()
      have_sh = true;
      current = kOther;
    } else if (starts_with(seg, "Signature=") && !have_sig) {
      out.signature = seg.substr(10);
      if (!is_hex_run(out.signature)) return Result::fail(Error::kMalformedSignature);
      have_sig = true;
      current = kOther;
    } else if (current == kCredential) {
      cred_end = raw.data() + raw.size();  // the ',' belonged to the access key
      while (cred_end > cred_begin && is_space(cred_end[-1])) --cred_end;
    } else if (starts_with(seg, "Credential=") || starts_with(seg, "SignedHeaders=") ||
               starts_with(seg, "Signature=")) {
      return Result::fail(Error::kDuplicateParameter);
    } else {
      return Result::fail(Error::kMalformedAuthorization);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (cred_begin == nullptr || !have_sh || !have_sig) {
    return Result::fail(Error::kMalformedAuthorization);
  }
  const Header* date = find_header(req.headers, "x-amz-date");
  if (date != nullptr) out.amz_date = trim(date->value);
  out.has_client_security_token = find_header(req.headers, "x-amz-security-token") != nullptr;
  return finish(out, std::string_view(cred_begin, static_cast<size_t>(cred_end - cred_begin)),
                require_token);
}

Result parse_query_form(const RequestView& req, ParsedAuth& out, bool require_token) {
  std::string_view algorithm, credential, date, expires, signed_headers, signature;
  bool seen[6] = {};
  bool any = false;
  // A SigV2 presigned URL: ?AWSAccessKeyId=AK&Expires=T&Signature=S, no X-Amz-Algorithm.
  bool sigv2_key = false, sigv2_signature = false;
  std::string_view rest = req.query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!starts_with(key, "X-Amz-")) {
      sigv2_key = sigv2_key || key == "AWSAccessKeyId";
      sigv2_signature = sigv2_signature || key == "Signature";
      continue;
    }
    static constexpr std::string_view kNames[6] = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                                   "X-Amz-Date",          "X-Amz-Expires",
                                                   "X-Amz-SignedHeaders", "X-Amz-Signature"};
    std::string_view* slots[6] = {&algorithm, &credential,     &date,
                                  &expires,   &signed_headers, &signature};
    if (key == "X-Amz-Security-Token") {
      out.has_client_security_token = true;
      continue;
    }
    for (int i = 0; i < 6; ++i) {
      if (key != kNames[i]) continue;
      if (seen[i]) return Result::fail(Error::kDuplicateParameter);
      seen[i] = true;
      any = true;
      if (Error e = store_decoded(out, raw, *slots[i]); e != Error::kOk) return Result::fail(e);
    }
  }
  if (!any || !seen[0]) {
    return Result::fail(sigv2_key && sigv2_signature ? Error::kSigV2Refused
                                                     : Error::kMissingAuthorization);
  }
  if (Error e = check_algorithm(algorithm); e != Error::kOk) return Result::fail(e);
  if (!seen[1]) return Result::fail(Error::kMalformedCredential);
  if (!seen[2]) return Result::fail(Error::kMissingDate);
  if (!seen[4]) return Result::fail(Error::kBadSignedHeaders);
  if (!seen[5]) return Result::fail(Error::kMalformedSignature);
  if (!seen[3] || expires.empty() || expires.size() > 10) return Result::fail(Error::kBadExpires);
  int64_t e = 0;
  for (char c : expires) {
    if (c < '0' || c > '9') return Result::fail(Error::kBadExpires);
    e = e * 10 + (c - '0');
  }
  if (e <= 0) return Result::fail(Error::kBadExpires);
  out.form = AuthForm::kPresigned;
  out.expires_s = e;
  out.signed_headers = signed_headers;
  out.signature = signature;
  out.amz_date = date;
  return finish(out, credential, require_token);
}

}  // namespace

Result split_access_key(std::string_view access_key, std::string_view& token_id,
                        std::string_view& record) {
  const size_t hash = access_key.find('#');
  if (hash == std::string_view::npos) return Result::fail(Error::kMissingTokenSeparator);
  token_id = access_key.substr(0, hash);
  record = access_key.substr(hash + 1);
  if (token_id.empty()) return Result::fail(Error::kEmptyTokenId);
  if (record.empty()) return Result::fail(Error::kEmptyRecord);
  return {};
}

Result split_credential(std::string_view credential, std::string_view& access_key, Scope& scope) {
  std::string_view fields[4];
  std::string_view rest = credential;
  for (int i = 3; i >= 0; --i) {
    const size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return Result::fail(Error::kMalformedCredential);
    fields[i] = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  access_key = rest;
  scope.date = fields[0];
  scope.region = fields[1];
  scope.service = fields[2];
  if (access_key.empty() || fields[3] != "aws4_request" || scope.region.empty() ||
      scope.service.empty() || scope.date.size() != 8) {
    return Result::fail(Error::kMalformedCredential);
  }
  for (char c : scope.date) {
    if (c < '0' || c > '9') return Result::fail(Error::kMalformedCredential);
  }
  return {};
}

bool valid_signed_headers(std::string_view list) {
  if (list.empty() || list.front() == ';' || list.back() == ';') return false;
  char prev = ';';
  for (char c : list) {
    if (c == ';') {
      if (prev == ';') return false;
    } else if (!detail::kChars.token_lower[static_cast<unsigned char>(c)]) {
      return false;
    }
    prev = c;
  }
  return true;
}

Result parse_auth(const RequestView& request, ParsedAuth& out, bool require_token) {
  out.form = AuthForm::kHeader;
  out.access_key = out.token_id = out.record = {};
  out.scope = {};
  out.signed_headers = out.signature = out.amz_date = {};
  out.request_time_s = out.expires_s = 0;
  out.has_client_security_token = false;
  out.storage_used = 0;
  if (const Header* h = find_header(request.headers, "authorization")) {
    return parse_header_form(request, h->value, out, require_token);
  }
  return parse_query_form(request, out, require_token);
}

}  // namespace pamproxy::sigv4
