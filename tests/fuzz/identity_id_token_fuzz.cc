// Fuzz target: a provider's JWKS and an ID token, the two things the provider (or whoever
// answers in its place) sends. The input is the JWKS, a NUL byte, then the token. Whatever
// arrives, parsing and verification end with a named refusal or with a token whose subject is
// present, and nothing is read past its buffers.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/identity/id_token.h"
#include "pamproxy/identity/jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pamproxy::identity;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::string_view jwks_text = input.substr(0, nul);
  std::string_view token =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  absl::StatusOr<Jwks> jwks = Jwks::parse(jwks_text);
  if (jwks.ok() && jwks->size() > Jwks::kKeysMax) std::abort();
  const Jwks empty;
  IdTokenCheck check = verify_id_token(token, jwks.ok() ? *jwks : empty,
                                       {.issuer = "https://id.example",
                                        .client_id = "pamproxy",
                                        .nonce = "n",
                                        .now = absl::FromUnixSeconds(1'800'000'000)});
  if (check.ok() && check.claims.subject.empty()) std::abort();
  if (!check.ok() && check.reason.empty()) std::abort();
  if (check.claims.groups.size() > kGroupsMax) std::abort();
  return 0;
}
