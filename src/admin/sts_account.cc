// STS GetCallerIdentity (see sts_account.h): the request signed here, sent as one
// outbound::https_request (TLS verification, no proxy, connect-to and a whole-call timeout), from
// the admin server's worker; the data plane's engine is not there.

#include "pamproxy/admin/sts_account.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "pamproxy/aws/caller_identity.h"
#include "pamproxy/outbound/https_request.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/encoding.h"
#include "pamproxy/sigv4/signer.h"

namespace pamproxy::admin {
namespace {

constexpr size_t kAnswerBytesMax = 64 * 1024;

}  // namespace

AccountAnswer sts_account_id(const StsOptions& options, const AwsKeys& keys, absl::Time now) {
  AccountAnswer out;
  // The region names a host: letters, digits and '-' only (us-east-1, eu-central-2, ...).
  const bool region_ok = !options.region.empty() && options.region.size() <= 32 &&
                         options.region.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!region_ok) {
    out.error = absl::StrCat("\"", options.region.substr(0, 32), "\" is not a region name");
    return out;
  }
  const std::string host = absl::StrCat("sts.", options.region, ".amazonaws.com");

  // The signed request: POST / with the form body, signing content-type, host and x-amz-date
  // (and the session token when the keys have one).
  const std::string_view body = aws::kGetCallerIdentityBody;
  char date[sigv4::kAmzDateLength];
  sigv4::format_amz_date(absl::ToUnixSeconds(now), date);
  const std::string_view amz_date(date, sigv4::kAmzDateLength);
  char payload_hash[64];
  sigv4::hex_encode(sigv4::sha256(body), payload_hash);
  constexpr std::string_view kContentType = "application/x-www-form-urlencoded; charset=utf-8";
  std::array<sigv4::Header, 4> headers = {{{"content-type", kContentType},
                                           {"host", host},
                                           {"x-amz-date", amz_date},
                                           {"x-amz-security-token", keys.session_token}}};
  const bool token = !keys.session_token.empty();
  const std::string_view signed_headers =
      token ? "content-type;host;x-amz-date;x-amz-security-token" : "content-type;host;x-amz-date";
  sigv4::CanonicalInput in;
  in.method = "POST";
  in.path = "/";
  in.headers = std::span<const sigv4::Header>(headers.data(), token ? 4 : 3);
  in.signed_headers = signed_headers;
  in.payload_hash = std::string_view(payload_hash, 64);
  const sigv4::Scope scope{amz_date.substr(0, 8), options.region, "sts"};
  sigv4::Signer signer(1);
  char signature[sigv4::kSignatureHexLength];
  if (!signer.sign(in, keys.secret_access_key, scope, amz_date, signature).ok()) {
    out.error = "the request to STS could not be signed";
    return out;
  }
  std::string authorization;
  sigv4::format_authorization(authorization, keys.access_key_id, scope, signed_headers,
                              std::string_view(signature, sigv4::kSignatureHexLength));

  outbound::HttpsRequest request{.method = "POST", .body = body};
  request.headers = {"Content-Type: " + std::string(kContentType),
                     "X-Amz-Date: " + std::string(amz_date), "Authorization: " + authorization,
                     "Accept: text/xml", "Expect:"};
  if (token) request.headers.push_back("X-Amz-Security-Token: " + std::string(keys.session_token));
  const std::string url = absl::StrCat("https://", host, "/");
  request.url = url;
  std::string connect_to;
  if (!options.connect_to.empty()) connect_to = absl::StrCat(host, ":443:", options.connect_to);
  request.connect_to = connect_to;
  const outbound::HttpsAnswer answer =
      outbound::https_request(request, {.ca_file = options.ca_file,
                                        .connect_timeout_ms = options.timeout_ms,
                                        .timeout_ms = options.timeout_ms,
                                        .answer_bytes_max = kAnswerBytesMax});
  if (answer.failure == outbound::Failure::kTimeout) {
    out.error = absl::StrCat("STS did not answer within ", options.timeout_ms, " ms");
    return out;
  }
  if (answer.failure == outbound::Failure::kTooLarge) {
    out.error = absl::StrCat("STS answered with more than ", kAnswerBytesMax, " bytes");
    return out;
  }
  if (!answer.ok()) {
    out.error = absl::StrCat("STS could not be reached at ", host, ": ", answer.reason);
    return out;
  }
  const long status = answer.status;
  if (status != 200) {
    const auto code = aws::query_error_code(answer.body);
    out.error = absl::StrCat("STS answered HTTP ", status);
    if (code) out.error.append(" ").append(*code);
    return out;
  }
  const auto account = aws::caller_identity_account(answer.body);
  if (!account) {
    out.error = "STS answered HTTP 200 without one 12-digit <Account>";
    return out;
  }
  out.account_id = std::string(*account);
  return out;
}

}  // namespace pamproxy::admin
