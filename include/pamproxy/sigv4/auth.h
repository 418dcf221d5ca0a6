#pragma once
// Parsing the client's SigV4 parameters, from the Authorization header or from a presigned URL's
// query, and splitting the access key into TOKENID#RECORD.
//
//   Authorization: AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request,
//                  SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// The access key is everything before the last four '/' fields of the credential and may itself
// hold '/', ',', '=', spaces and '#'. Values decoded from the query live in the ParsedAuth's own
// fixed storage, so a ParsedAuth is neither copied nor moved; the string_views otherwise point
// into the request, which must outlive it.

#include <cstdint>
#include <string_view>

#include "pamproxy/sigv4/error.h"
#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

enum class AuthForm : uint8_t { kHeader, kPresigned };

struct ParsedAuth {
  ParsedAuth() = default;
  ParsedAuth(const ParsedAuth&) = delete;
  ParsedAuth& operator=(const ParsedAuth&) = delete;

  AuthForm form = AuthForm::kHeader;
  std::string_view access_key;  // TOKENID#RECORD
  std::string_view token_id;
  std::string_view record;
  Scope scope;
  std::string_view signed_headers;  // "host;x-amz-date" as the client sent it
  std::string_view signature;       // 64 lowercase hex
  std::string_view amz_date;        // YYYYMMDDTHHMMSSZ
  int64_t request_time_s = 0;
  int64_t expires_s = 0;  // presigned only
  bool has_client_security_token = false;

  // Bound on decoded presigned values (credential, signed headers, date, ...), and so on them.
  static constexpr size_t kStorageBytes = 4096;
  char storage[kStorageBytes];
  size_t storage_used = 0;
};

// Fills `out` from the request: Authorization when present, else the presigned query. The date
// comes from X-Amz-Date (header or query). Checks shapes only; times are checked by the signer.
// With `require_token` (the proxy), an access key that is not TOKENID#RECORD is an error;
// without it (pamctl verifying plain AWS requests) token_id and record are left empty.
Result parse_auth(const RequestView& request, ParsedAuth& out, bool require_token = true);

// Splits "TOKENID#RECORD" at the first '#'.
Result split_access_key(std::string_view access_key, std::string_view& token_id,
                        std::string_view& record);

// Splits "AK/date/region/service/aws4_request" from the right.
Result split_credential(std::string_view credential, std::string_view& access_key, Scope& scope);

// True when SignedHeaders is a ';'-list of lowercase header-name tokens.
bool valid_signed_headers(std::string_view list);

}  // namespace pamproxy::sigv4
