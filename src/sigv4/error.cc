#include "pamproxy/sigv4/error.h"

#include "pamproxy/sigv4/encoding.h"

namespace pamproxy::sigv4 {

std::string_view error_name(Error e) {
  switch (e) {
    case Error::kOk: return "ok";
    case Error::kMissingAuthorization: return "missing_authorization";
    case Error::kUnsupportedAlgorithm: return "unsupported_algorithm";
    case Error::kSigV4aRefused: return "sigv4a_refused";
    case Error::kMalformedAuthorization: return "malformed_authorization";
    case Error::kDuplicateParameter: return "duplicate_parameter";
    case Error::kMalformedCredential: return "malformed_credential";
    case Error::kMissingTokenSeparator: return "missing_token_separator";
    case Error::kEmptyTokenId: return "empty_token_id";
    case Error::kEmptyRecord: return "empty_record";
    case Error::kBadSignedHeaders: return "bad_signed_headers";
    case Error::kSignedHeaderMissing: return "signed_header_missing";
    case Error::kMalformedSignature: return "malformed_signature";
    case Error::kMissingDate: return "missing_date";
    case Error::kBadDate: return "bad_date";
    case Error::kCredentialDateMismatch: return "credential_date_mismatch";
    case Error::kBadExpires: return "bad_expires";
    case Error::kExpiresTooLong: return "expires_too_long";
    case Error::kPresignedExpired: return "presigned_expired";
    case Error::kSkewExceeded: return "skew_exceeded";
    case Error::kBadPercentEncoding: return "bad_percent_encoding";
    case Error::kBadPayloadHash: return "bad_payload_hash";
    case Error::kPayloadHashRequired: return "payload_hash_required";
    case Error::kTooLarge: return "too_large";
    case Error::kSignatureMismatch: return "signature_mismatch";
    case Error::kChunkMalformed: return "chunk_malformed";
    case Error::kChunkSignatureMismatch: return "chunk_signature_mismatch";
    case Error::kSigV2Refused: return "sigv2_refused";
  }
  return "unknown";
}

std::string_view aws_code(Error e) {
  switch (e) {
    case Error::kOk: return "";
    case Error::kMissingAuthorization: return "MissingAuthenticationToken";
    case Error::kUnsupportedAlgorithm:
    case Error::kSigV4aRefused:
    case Error::kMalformedAuthorization:
    case Error::kDuplicateParameter:
    case Error::kMalformedCredential:
    case Error::kBadSignedHeaders:
    case Error::kMalformedSignature:
    case Error::kCredentialDateMismatch: return "AuthorizationHeaderMalformed";
    case Error::kMissingTokenSeparator:
    case Error::kEmptyTokenId:
    case Error::kEmptyRecord: return "InvalidAccessKeyId";
    case Error::kSignedHeaderMissing:
    case Error::kMissingDate:
    case Error::kBadDate:
    case Error::kBadExpires:
    case Error::kExpiresTooLong:
    case Error::kBadPercentEncoding:
    case Error::kPayloadHashRequired: return "AuthorizationQueryParametersError";
    case Error::kPresignedExpired: return "AccessDenied";
    case Error::kSkewExceeded: return "RequestTimeTooSkewed";
    case Error::kBadPayloadHash: return "InvalidArgument";
    case Error::kTooLarge: return "RequestHeaderSectionTooLarge";
    case Error::kSignatureMismatch: return "SignatureDoesNotMatch";
    case Error::kChunkMalformed: return "IncompleteBody";
    case Error::kChunkSignatureMismatch: return "SignatureDoesNotMatch";
    // S3 answers a SigV2 request in a SigV4-only region with InvalidRequest ("The authorization
    // mechanism you have provided is not supported").
    case Error::kSigV2Refused: return "InvalidRequest";
  }
  return "AccessDenied";
}

std::string describe(const Result& r) {
  switch (r.code) {
    case Error::kOk: return "ok";
    case Error::kMissingAuthorization:
      return "the request is not signed: no Authorization header and no X-Amz-Algorithm query "
             "parameter";
    case Error::kUnsupportedAlgorithm:
      return "unsupported signing algorithm: only AWS4-HMAC-SHA256 (Signature Version 4) is "
             "accepted";
    case Error::kSigV4aRefused:
      return "Signature Version 4a (AWS4-ECDSA-P256-SHA256) is not supported by this proxy; "
             "configure the client to use SigV4 (AWS4-HMAC-SHA256)";
    case Error::kMalformedAuthorization:
      return "the Authorization header is malformed: expected 'AWS4-HMAC-SHA256 Credential=..., "
             "SignedHeaders=..., Signature=...'";
    case Error::kDuplicateParameter:
      return "a signature parameter (Credential, SignedHeaders, Signature, X-Amz-*) is given more "
             "than once";
    case Error::kMalformedCredential:
      return "the credential is malformed: expected "
             "ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request";
    case Error::kMissingTokenSeparator:
      return "the access key must be TOKENID#RECORD (REST API token id, '#', record id or "
             "search); it has no '#'";
    case Error::kEmptyTokenId:
      return "the access key must be TOKENID#RECORD; the token id before '#' is empty";
    case Error::kEmptyRecord:
      return "the access key must be TOKENID#RECORD; the record after '#' is empty";
    case Error::kBadSignedHeaders:
      return "SignedHeaders is empty or holds something other than lowercase header names "
             "separated by ';'";
    case Error::kSignedHeaderMissing:
      return "a header listed in SignedHeaders is not in the request";
    case Error::kMalformedSignature:
      return "the signature is not 64 lowercase hexadecimal characters";
    case Error::kMissingDate: return "the request has no X-Amz-Date (header or query parameter)";
    case Error::kBadDate: return "X-Amz-Date is malformed: expected YYYYMMDDTHHMMSSZ (UTC)";
    case Error::kCredentialDateMismatch:
      return "the credential's date does not match the day of X-Amz-Date";
    case Error::kBadExpires: return "X-Amz-Expires must be a positive number of seconds";
    case Error::kExpiresTooLong:
      return "X-Amz-Expires is " + std::to_string(r.request_time_s) +
             " seconds; the longest allowed is " + std::to_string(r.limit_s) + " seconds";
    case Error::kPresignedExpired:
      return "the presigned URL expired at " + format_iso8601(r.request_time_s + r.limit_s) +
             "; it is now " + format_iso8601(r.now_s);
    case Error::kSkewExceeded:
      return "the request time " + format_iso8601(r.request_time_s) +
             " is too far from the proxy's time " + format_iso8601(r.now_s) + " (difference " +
             std::to_string(r.request_time_s > r.now_s ? r.request_time_s - r.now_s
                                                       : r.now_s - r.request_time_s) +
             " s, allowed " + std::to_string(r.limit_s) + " s); check the client's clock";
    case Error::kBadPercentEncoding:
      return "the request has a malformed percent-encoding ('%' not followed by two hex digits)";
    case Error::kBadPayloadHash:
      return "x-amz-content-sha256 is neither a SHA-256 hex digest nor a known payload mode";
    case Error::kPayloadHashRequired:
      return "the body must be hashed to check this signature (no x-amz-content-sha256)";
    case Error::kTooLarge:
      return "a signature field or the canonical request is over its size limit";
    case Error::kSignatureMismatch:
      return "the request signature does not match: the token secret (AWS_SECRET_ACCESS_KEY) "
             "or the signed request differs";
    case Error::kChunkMalformed: return "the aws-chunked body is malformed";
    case Error::kChunkSignatureMismatch:
      return "a chunk signature of the aws-chunked body does not match";
    case Error::kSigV2Refused:
      return "the request is signed with AWS Signature Version 2, which this proxy does not "
             "accept: configure the client to sign with Signature Version 4 (boto3/botocore: "
             "Config(signature_version='s3v4'); AWS CLI: aws configure set "
             "default.s3.signature_version s3v4)";
  }
  return "signature check failed";
}

}  // namespace pamproxy::sigv4
