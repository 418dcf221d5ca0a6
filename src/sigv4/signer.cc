#include "pamproxy/sigv4/signer.h"

#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/encoding.h"
#include "pamproxy/sigv4/payload.h"

namespace pamproxy::sigv4 {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_scope(std::string& out, const Scope& scope) {
  out.append(scope.date).append("/").append(scope.region).append("/").append(scope.service);
  out.append("/aws4_request");
}

// The client's signed header list minus hop-by-hop headers and x-amz-security-token, plus
// x-amz-security-token (in sorted position) when `add_token`.
void resigned_header_list(std::string& out, std::string_view client_list, bool add_token) {
  out.clear();
  constexpr std::string_view kToken = "x-amz-security-token";
  bool token_done = !add_token;
  std::string_view rest = client_list;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    const std::string_view name = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (name == kToken || is_hop_by_hop(name)) continue;
    if (!token_done && kToken < name) {
      out.append(kToken).push_back(';');
      token_done = true;
    }
    out.append(name).push_back(';');
  }
  if (!token_done) out.append(kToken).push_back(';');
  if (!out.empty()) out.pop_back();
}

}  // namespace

void format_authorization(std::string& out, std::string_view access_key, const Scope& scope,
                          std::string_view signed_headers, std::string_view signature) {
  out.clear();
  out.append(kAlgorithm).append(" Credential=").append(access_key).append("/");
  append_scope(out, scope);
  out.append(", SignedHeaders=").append(signed_headers).append(", Signature=").append(signature);
}

Result Signer::sign(const CanonicalInput& in, std::string_view secret, const Scope& scope,
                    std::string_view amz_date, char* signature_hex) {
  if (Result r = canonicalizer_.build(in, canonical_); !r.ok()) return r;
  string_to_sign_.clear();
  string_to_sign_.append(kAlgorithm).append("\n").append(amz_date).append("\n");
  append_scope(string_to_sign_, scope);
  string_to_sign_.push_back('\n');
  char hex[kSignatureHexLength];
  hex_encode(sha256(canonical_), hex);
  string_to_sign_.append(hex, sizeof hex);
  const HmacKey& key = keys_.get(secret, scope);
  hex_encode(key.mac(string_to_sign_), signature_hex);
  return {};
}

Result Signer::payload_hash(const RequestView& request, const ParsedAuth& auth,
                            std::string_view body_sha256_hex, std::string_view& out) {
  const Header* h = find_header(request.headers, "x-amz-content-sha256");
  if (h != nullptr) {
    out = trim(h->value);
    switch (classify_payload(out, true)) {
      case PayloadMode::kInvalid: return Result::fail(Error::kBadPayloadHash);
      case PayloadMode::kStreamingEcdsa: return Result::fail(Error::kSigV4aRefused);
      default: return {};
    }
  }
  if (auth.form == AuthForm::kPresigned && is_s3_family(auth.scope.service)) {
    out = "UNSIGNED-PAYLOAD";
    return {};
  }
  if (body_sha256_hex.empty()) return Result::fail(Error::kPayloadHashRequired);
  out = body_sha256_hex;
  return {};
}

bool Signer::needs_body_hash(const RequestView& request, const ParsedAuth& auth) {
  std::string_view unused;
  return payload_hash(request, auth, {}, unused).code == Error::kPayloadHashRequired;
}

Result Signer::check_time(const ParsedAuth& auth, const VerifyOptions& o) {
  const int64_t t = auth.request_time_s;
  if (auth.form == AuthForm::kPresigned) {
    if (auth.expires_s > o.presigned_expiry_max_s) {
      return Result{Error::kExpiresTooLong, auth.expires_s, o.now_s, o.presigned_expiry_max_s};
    }
    if (t - o.now_s > o.clock_skew_s) {
      return Result{Error::kSkewExceeded, t, o.now_s, o.clock_skew_s};
    }
    if (o.now_s > t + auth.expires_s) {
      return Result{Error::kPresignedExpired, t, o.now_s, auth.expires_s};
    }
    return {};
  }
  if (t - o.now_s > o.clock_skew_s || o.now_s - t > o.clock_skew_s) {
    return Result{Error::kSkewExceeded, t, o.now_s, o.clock_skew_s};
  }
  return {};
}

Result Signer::verify(const RequestView& request, const ParsedAuth& auth, std::string_view secret,
                      const VerifyOptions& options, std::string_view body_sha256_hex) {
  if (Result r = check_time(auth, options); !r.ok()) return r;
  CanonicalInput in;
  in.method = request.method;
  in.path = request.path;
  in.query = request.query;
  in.headers = request.headers;
  in.signed_headers = auth.signed_headers;
  in.normalize_path = !is_s3_family(auth.scope.service);
  in.skip_signature_param = auth.form == AuthForm::kPresigned;
  if (Result r = payload_hash(request, auth, body_sha256_hex, in.payload_hash); !r.ok()) return r;
  char expected[kSignatureHexLength];
  if (Result r = sign(in, secret, auth.scope, auth.amz_date, expected); !r.ok()) return r;
  if (!constant_time_equal(std::string_view(expected, sizeof expected), auth.signature)) {
    return Result::fail(Error::kSignatureMismatch);
  }
  return {};
}

void Signer::build_resigned_query(const RequestView& request, const ParsedAuth& auth,
                                  const Credentials& creds, Resigned& out) {
  out.query.clear();
  std::string_view rest = request.query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const std::string_view key = pair.substr(0, pair.find('='));
    if (key == "X-Amz-Signature" || key == "X-Amz-Security-Token") continue;
    if (!out.query.empty()) out.query.push_back('&');
    if (key == "X-Amz-Credential") {
      out.query.append("X-Amz-Credential=");
      scratch_.clear();
      scratch_.append(creds.access_key).push_back('/');
      append_scope(scratch_, auth.scope);
      uri_encode_append(out.query, scratch_, false);
    } else if (key == "X-Amz-SignedHeaders") {
      out.query.append("X-Amz-SignedHeaders=");
      uri_encode_append(out.query, out.signed_headers, false);
    } else {
      out.query.append(pair);
    }
  }
  if (!creds.session_token.empty()) {
    out.query.append("&X-Amz-Security-Token=");
    uri_encode_append(out.query, creds.session_token, false);
  }
}

Result Signer::resign(const RequestView& request, const ParsedAuth& auth, const Credentials& creds,
                      Resigned& out, std::string_view body_sha256_hex) {
  out.authorization.clear();
  out.query.clear();
  out.remove_security_token = find_header(request.headers, "x-amz-security-token") != nullptr;
  out.security_token = {};
  const bool presigned = auth.form == AuthForm::kPresigned;
  CanonicalInput in;
  in.method = request.method;
  in.path = request.path;
  in.headers = request.headers;
  in.normalize_path = !is_s3_family(auth.scope.service);
  if (Result r = payload_hash(request, auth, body_sha256_hex, in.payload_hash); !r.ok()) return r;
  resigned_header_list(out.signed_headers, auth.signed_headers,
                       !presigned && !creds.session_token.empty());
  if (out.signed_headers.empty()) return Result::fail(Error::kBadSignedHeaders);
  in.signed_headers = out.signed_headers;
  if (presigned) {
    build_resigned_query(request, auth, creds, out);
    in.query = out.query;
  } else {
    in.query = request.query;
    in.override_security_token = true;
    in.security_token = creds.session_token;
    out.security_token = creds.session_token;
  }
  if (Result r = sign(in, creds.secret_key, auth.scope, auth.amz_date, out.signature); !r.ok()) {
    return r;
  }
  if (presigned) {
    out.query.append("&X-Amz-Signature=").append(out.signature_view());
  } else {
    format_authorization(out.authorization, creds.access_key, auth.scope, out.signed_headers,
                         out.signature_view());
  }
  return {};
}

}  // namespace pamproxy::sigv4
