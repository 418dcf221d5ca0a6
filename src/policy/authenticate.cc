#include "pamproxy/policy/authenticate.h"

#include <openssl/crypto.h>

#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::policy {
namespace {

std::string rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

TokenCheck fail(TokenCheck c, DenyKind kind, std::string reason) {
  c.deny = kind;
  c.reason = std::move(reason);
  return c;
}

}  // namespace

TokenCheck check_token(const Snapshot& s, std::string_view token_id, const net::IpAddress& client,
                       absl::Time now) {
  TokenCheck c;
  c.token = s.find_token(token_id);
  if (c.token == nullptr) {
    return fail(std::move(c), DenyKind::kTokenUnknown,
                cat("no REST API token with id '", token_id, "'"));
  }
  const Token& token = c.token->token;
  c.user = &s.user(c.token->user_index);
  if (token.revoked_at.has_value()) {
    return fail(std::move(c), DenyKind::kTokenRevoked,
                cat("token ", token.id, " was revoked at ", rfc3339(*token.revoked_at)));
  }
  if (c.user->user.disabled) {
    return fail(std::move(c), DenyKind::kUserDisabled,
                cat("user ", c.user->user.name,
                    " is disabled; an admin enables the user again with pamctl users enable ",
                    c.user->user.name));
  }
  if (now >= token.expires_at) {
    return fail(std::move(c), DenyKind::kTokenExpired,
                cat("token ", token.id, " expired at ", rfc3339(token.expires_at),
                    "; create a new one with pamctl tokens create"));
  }
  if (!cidr_list_allows(token.allowed_networks, client)) {
    return fail(
        std::move(c), DenyKind::kTokenNetwork,
        cat("token ", token.id, " may be used only from ", format_cidr_list(token.allowed_networks),
            "; this request came from ", client.to_string()));
  }
  return c;
}

TokenCheck authenticate_bearer(const Snapshot& s, std::string_view token_id,
                               std::string_view secret, const net::IpAddress& client,
                               absl::Time now) {
  const TokenEntry* entry = s.find_token(token_id);
  std::string_view expected = entry ? entry->token.secret.reveal() : std::string_view();
  bool match = entry != nullptr && expected.size() == secret.size() &&
               CRYPTO_memcmp(expected.data(), secret.data(), secret.size()) == 0;
  if (!match) {
    TokenCheck c;
    return fail(std::move(c), DenyKind::kTokenUnknown,
                cat("no REST API token with id '", token_id, "' and that secret"));
  }
  return check_token(s, token_id, client, now);
}

}  // namespace pamproxy::policy
