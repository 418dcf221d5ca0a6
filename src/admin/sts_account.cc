// STS GetCallerIdentity over libcurl (see sts_account.h). libcurl rather than a client of our
// own: this is one blocking request on the admin thread, where curl's TLS verification, proxyless
// connect-to and whole-call timeout are what is needed, and the data plane's engine is not there.

#include "pamproxy/admin/sts_account.h"

#include <curl/curl.h>

#include <array>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "pamproxy/aws/caller_identity.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/encoding.h"
#include "pamproxy/sigv4/signer.h"

namespace pamproxy::admin {
namespace {

constexpr size_t kAnswerBytesMax = 64 * 1024;

struct Answer {
  std::string body;
  bool too_long = false;
};

size_t collect(char* data, size_t size, size_t count, void* user) {
  Answer* a = static_cast<Answer*>(user);
  const size_t n = size * count;
  if (a->body.size() + n > kAnswerBytesMax) {
    a->too_long = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  a->body.append(data, n);
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

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
  init_curl_once();
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

  std::unique_ptr<curl_slist, CurlDeleter> fields;
  auto add_field = [&](std::string_view name, std::string_view value) {
    std::string field(name);
    field.append(": ").append(value);
    curl_slist* next = curl_slist_append(fields.get(), field.c_str());
    if (next == nullptr) return false;
    (void)fields.release();  // `next` is the same list, grown by one
    fields.reset(next);
    return true;
  };
  bool fields_ok = add_field("Content-Type", kContentType) && add_field("X-Amz-Date", amz_date) &&
                   add_field("Authorization", authorization) && add_field("Accept", "text/xml") &&
                   add_field("Expect", "");
  if (token) fields_ok = fields_ok && add_field("X-Amz-Security-Token", keys.session_token);
  std::unique_ptr<curl_slist, CurlDeleter> connect_to;
  if (!options.connect_to.empty()) {
    connect_to.reset(
        curl_slist_append(nullptr, absl::StrCat(host, ":443:", options.connect_to).c_str()));
  }
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr || !fields_ok || (!options.connect_to.empty() && connect_to == nullptr)) {
    out.error = "the request to STS could not be made (out of memory)";
    return out;
  }
  const std::string url = absl::StrCat("https://", host, "/");
  Answer answer;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // never a proxy from the environment
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, fields.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "pamproxy");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  if (connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());

  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    out.error = absl::StrCat("STS did not answer within ", options.timeout_ms, " ms");
    return out;
  }
  if (answer.too_long) {
    out.error = absl::StrCat("STS answered with more than ", kAnswerBytesMax, " bytes");
    return out;
  }
  if (rc != CURLE_OK) {
    out.error = absl::StrCat("STS could not be reached at ", host, ": ", curl_easy_strerror(rc));
    return out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
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
