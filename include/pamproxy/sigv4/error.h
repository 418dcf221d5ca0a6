#pragma once
// Every way a request can fail SigV4 checks, as a distinct code with a message a user can act on.
// The proxy shows these in the error format of the client's protocol; `aws_code` is the AWS error
// code the CLI recognizes. Messages never contain a secret or a signature.

#include <cstdint>
#include <string>
#include <string_view>

namespace pamproxy::sigv4 {

enum class Error : uint8_t {
  kOk = 0,
  kMissingAuthorization,    // no Authorization header and no X-Amz-Algorithm query parameter
  kUnsupportedAlgorithm,    // not AWS4-HMAC-SHA256 nor a known older scheme
  kSigV4aRefused,           // AWS4-ECDSA-P256-SHA256 (SigV4a) is not supported
  kMalformedAuthorization,  // Authorization header does not parse
  kDuplicateParameter,      // a SigV4 parameter given twice
  kMalformedCredential,     // Credential= is not AK/date/region/service/aws4_request
  kMissingTokenSeparator,   // access key has no '#': it must be TOKENID#RECORD
  kEmptyTokenId,            // '#' at the start
  kEmptyRecord,             // '#' at the end
  kBadSignedHeaders,        // SignedHeaders empty, not lowercase, or with bad characters
  kSignedHeaderMissing,     // a header named in SignedHeaders is absent from the request
  kMalformedSignature,      // Signature is not 64 lowercase hex characters
  kMissingDate,             // no X-Amz-Date (header, query) nor Date header
  kBadDate,                 // X-Amz-Date is not YYYYMMDDTHHMMSSZ
  kCredentialDateMismatch,  // credential date differs from the X-Amz-Date day
  kBadExpires,              // X-Amz-Expires missing or not a positive integer
  kExpiresTooLong,          // X-Amz-Expires beyond the allowed maximum
  kPresignedExpired,        // now > X-Amz-Date + X-Amz-Expires
  kSkewExceeded,            // request time too far from now
  kBadPercentEncoding,      // '%' not followed by two hex digits
  kBadPayloadHash,          // x-amz-content-sha256 is neither hex nor a known mode
  kPayloadHashRequired,     // no x-amz-content-sha256: the caller must hash the body
  kTooLarge,                // a SigV4 field or the canonical request is over its bound
  kSignatureMismatch,       // the signature does not match
  kChunkMalformed,          // aws-chunked framing broken
  kChunkSignatureMismatch,  // a chunk or trailer signature does not match
  kSigV2Refused,            // AWS Signature Version 2 ("AWS AK:sig", ?AWSAccessKeyId=&Signature=)
};

// Result of a check. `request_time_s`, `now_s` and `limit_s` are filled where they explain the
// failure (skew, expiry).
struct Result {
  Error code = Error::kOk;
  int64_t request_time_s = 0;
  int64_t now_s = 0;
  int64_t limit_s = 0;

  bool ok() const { return code == Error::kOk; }
  static Result fail(Error e) { return Result{e, 0, 0, 0}; }
};

// A stable short name for logs and tests ("signature_mismatch").
std::string_view error_name(Error e);
// The AWS error code clients recognize ("SignatureDoesNotMatch", "RequestTimeTooSkewed", ...).
std::string_view aws_code(Error e);
// The user-facing sentence, with both times for skew and expiry failures.
std::string describe(const Result& r);

}  // namespace pamproxy::sigv4
