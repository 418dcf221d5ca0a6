// Fuzz target: SigV4 parameter parsing (Authorization header and presigned query) followed by
// verify and re-sign. Input: fields separated by NUL bytes: Authorization value, raw query,
// X-Amz-Date value, then header name/value pairs. Whatever the input: a distinct error or a
// parse whose invariants hold, and verify/re-sign never crash, never read out of bounds, and
// re-signing yields a head that verifies with the new key.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/signer.h"

using namespace pamproxy::sigv4;

namespace {

std::vector<std::string_view> split_nul(std::string_view in) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t z = in.find('\0');
    parts.push_back(in.substr(0, z));
    if (z == std::string_view::npos) break;
    in.remove_prefix(z + 1);
  }
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Signer* signer = new Signer(16);
  const std::vector<std::string_view> f =
      split_nul(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<Header> headers;
  if (!f[0].empty()) headers.push_back({"Authorization", f[0]});
  const std::string_view query = f.size() > 1 ? f[1] : std::string_view();
  if (f.size() > 2) headers.push_back({"X-Amz-Date", f[2]});
  for (size_t i = 3; i + 1 < f.size(); i += 2) headers.push_back({f[i], f[i + 1]});
  const RequestView view{"GET", "/p", query, headers};

  ParsedAuth auth;
  const Result r = parse_auth(view, auth);
  if (error_name(r.code).empty() || describe(r).empty()) std::abort();
  if (!r.ok()) return 0;
  if (auth.token_id.empty() || auth.record.empty() ||
      auth.token_id.size() + 1 + auth.record.size() != auth.access_key.size() ||
      auth.token_id.find('#') != std::string_view::npos || !is_lower_hex64(auth.signature) ||
      auth.scope.date.size() != 8 || auth.amz_date.substr(0, 8) != auth.scope.date ||
      !valid_signed_headers(auth.signed_headers)) {
    std::abort();
  }
  const Result v = signer->verify(view, auth, "fuzz-secret", {auth.request_time_s}, kEmptySha256);
  if (v.code == Error::kOk) std::abort();  // a random signature never matches
  Resigned out;
  const Result rs = signer->resign(view, auth, {"AKIAFUZZ", "real", "tok"}, out, kEmptySha256);
  if (!rs.ok()) return 0;
  // Apply the edit and check the new head against the new key.
  std::vector<Header> up;
  for (const Header& h : headers) {
    if (!iequals(h.name, "authorization") && !iequals(h.name, "x-amz-security-token")) {
      up.push_back(h);
    }
  }
  if (auth.form == AuthForm::kHeader) {
    up.push_back({"X-Amz-Security-Token", out.security_token});
    up.push_back({"Authorization", out.authorization});
  }
  const RequestView uv{"GET", "/p", auth.form == AuthForm::kHeader ? query : out.query, up};
  ParsedAuth again;
  if (!parse_auth(uv, again, false).ok()) return 0;  // e.g. client headers that now collide
  if (again.access_key != "AKIAFUZZ") return 0;
  // Only the signature is under test here: any expiry the client asked for is allowed.
  const VerifyOptions any_expiry{again.request_time_s, 900, int64_t{1} << 40};
  if (!signer->verify(uv, again, "real", any_expiry, kEmptySha256).ok()) {
    std::abort();
  }
  return 0;
}
