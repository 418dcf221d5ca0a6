#pragma once
// Signing, verifying and re-signing SigV4 requests. One Signer per worker thread: it owns the
// derived-key cache and the scratch buffers, so after warm-up none of its calls allocate.
//
// The proxy's sequence for a request:
//
//   ParsedAuth auth;  parse_auth(view, auth)            -> auth.token_id, auth.record
//   signer.verify(view, auth, token_secret, {now_s})     -> ok, or a specific Error
//   signer.resign(view, auth, record_credentials, out)   -> out.authorization / out.query, ...
//   ChunkSigner (chunk_signer.h) seeded with auth.signature and out.signature, for signed
//   aws-chunked bodies.

#include <string>
#include <string_view>

#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/canonical.h"
#include "pamproxy/sigv4/error.h"
#include "pamproxy/sigv4/key_cache.h"
#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

struct VerifyOptions {
  int64_t now_s = 0;
  int64_t clock_skew_s = 900;               // config proxy.clock_skew_s
  int64_t presigned_expiry_max_s = 604800;  // config proxy.presigned_expiry_max_s
};

// What to change in the request head after re-signing.
struct Resigned {
  // Header form: the new Authorization value. Presigned: empty.
  std::string authorization;
  // Presigned: the new raw query string (replaces the client's, without '?'). Header form: empty.
  std::string query;
  std::string signed_headers;
  // Remove every X-Amz-Security-Token header the client sent; then, header form only, add one
  // with `security_token` when it is not empty.
  bool remove_security_token = false;
  std::string_view security_token;
  // The new seed signature (chunk signatures chain from it).
  char signature[kSignatureHexLength];
  std::string_view signature_view() const { return {signature, kSignatureHexLength}; }
};

class Signer {
 public:
  explicit Signer(size_t key_cache_entries = 256) : keys_(key_cache_entries) {}

  // Signs a canonical input. Leaves canonical_request() and string_to_sign() for inspection and
  // writes 64 hex chars to `signature_hex`.
  Result sign(const CanonicalInput& in, std::string_view secret, const Scope& scope,
              std::string_view amz_date, char* signature_hex);

  // Checks the client's signature with `secret` (constant time) and the time window.
  // `body_sha256_hex` is needed only when needs_body_hash() says so.
  Result verify(const RequestView& request, const ParsedAuth& auth, std::string_view secret,
                const VerifyOptions& options, std::string_view body_sha256_hex = {});

  // Signs the same request with `creds`, keeping the client's date, scope, signed header set
  // (minus hop-by-hop headers; X-Amz-Security-Token following `creds`) and payload hash.
  Result resign(const RequestView& request, const ParsedAuth& auth, const Credentials& creds,
                Resigned& out, std::string_view body_sha256_hex = {});

  // The payload hash the request signs (x-amz-content-sha256, UNSIGNED-PAYLOAD for presigned
  // S3, else the body's hash). Errors: kBadPayloadHash, kSigV4aRefused, kPayloadHashRequired.
  static Result payload_hash(const RequestView& request, const ParsedAuth& auth,
                             std::string_view body_sha256_hex, std::string_view& out);
  static bool needs_body_hash(const RequestView& request, const ParsedAuth& auth);

  // Checks only the time window (skew; presigned expiry).
  static Result check_time(const ParsedAuth& auth, const VerifyOptions& options);

  const std::string& canonical_request() const { return canonical_; }
  const std::string& string_to_sign() const { return string_to_sign_; }
  KeyCache& key_cache() { return keys_; }

 private:
  void build_resigned_query(const RequestView& request, const ParsedAuth& auth,
                            const Credentials& creds, Resigned& out);

  KeyCache keys_;
  Canonicalizer canonicalizer_;
  std::string canonical_;
  std::string string_to_sign_;
  std::string scratch_;
};

// Builds "AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=..., Signature=..." into `out`.
void format_authorization(std::string& out, std::string_view access_key, const Scope& scope,
                          std::string_view signed_headers, std::string_view signature);

}  // namespace pamproxy::sigv4
