// The way back to pamctl after a sign-in in a browser (see
// include/pamproxy/identity/cli_return.h).

#include "pamproxy/identity/cli_return.h"

#include <openssl/sha.h>

#include "pamproxy/base/check.h"
#include "pamproxy/identity/id_token.h"
#include "pamproxy/identity/sign_ins.h"
#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

std::array<uint8_t, 32> sha256(std::string_view text) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const uint8_t*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

std::optional<uint16_t> parse_cli_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

bool valid_cli_challenge(std::string_view text) {
  if (text.size() != 43) return false;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string cli_callback_url(uint16_t port, std::string_view code) {
  return internal::cat("http://127.0.0.1:", port, "/callback?code=", code);
}

std::optional<std::string> CliCodes::add(CliGrant grant, absl::Time now) {
  if (by_digest_.size() >= codes_max_) {
    absl::erase_if(by_digest_, [&](const auto& entry) {
      return now - entry.second.issued >= kCliCodeLifetime;
    });
    if (by_digest_.size() >= codes_max_) return std::nullopt;
  }
  std::string code = random_base64url_256();
  auto [it, inserted] = by_digest_.emplace(
      sha256(code), Entry{.code = code, .grant = std::move(grant), .issued = now});
  PAMPROXY_CHECK(inserted);  // 256 random bits do not repeat
  return code;
}

CliCodes::Taken CliCodes::take(std::string_view code, std::string_view verifier, absl::Time now) {
  auto it = by_digest_.find(sha256(code));
  if (it == by_digest_.end()) return {.refusal = Refusal::kUnknownCode};
  Entry entry = std::move(it->second);
  by_digest_.erase(it);
  if (!secrets_equal(entry.code, code) || now - entry.issued >= kCliCodeLifetime) {
    return {.refusal = Refusal::kUnknownCode};
  }
  if (!secrets_equal(pkce_s256_challenge(verifier), entry.grant.challenge)) {
    return {.refusal = Refusal::kWrongVerifier};
  }
  return {.grant = std::move(entry.grant)};
}

}  // namespace pamproxy::identity
