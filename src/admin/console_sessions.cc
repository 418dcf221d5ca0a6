// The web console's sign-in sessions (see include/pamproxy/admin/console_sessions.h).

#include "pamproxy/admin/console_sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "pamproxy/base/check.h"
#include "pamproxy/store/store.h"

namespace pamproxy::admin {
namespace {

// 32 bytes as 43 base64url characters (no padding).
std::string base64url_32(const uint8_t (&in)[32]) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint8_t bytes[33] = {};  // one zero byte more, so the last group of 3 is whole
  std::copy(in, in + 32, bytes);
  std::string out;
  out.reserve(44);
  for (size_t i = 0; i < 33; i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  out.resize(43);  // 256 bits need 43 characters; the 44th only carries the zero padding
  return out;
}

std::string hex(const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

void hmac_sha256(std::string_view key, std::string_view message, uint8_t (&out)[32]) {
  unsigned int n = 0;
  PAMPROXY_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                      reinterpret_cast<const uint8_t*>(message.data()), message.size(), out,
                      &n) != nullptr &&
                 n == 32);
}

// The store's key for a session: the id's SHA-256, in hex.
std::string id_digest(std::string_view id) {
  const std::array<uint8_t, 32> d = sha256(id);
  return hex(d.data(), d.size());
}

// The CSRF token the page sends back: only the holder of the id can compute it, and it is not
// the id (a script may read it; the cookie stays HttpOnly).
std::string csrf_of(std::string_view id) {
  uint8_t mac[32];
  hmac_sha256(id, "pamproxy console CSRF token", mac);
  return base64url_32(mac);
}

std::string token_check_of(std::string_view id, std::string_view secret) {
  uint8_t mac[32];
  hmac_sha256(id, secret, mac);
  return hex(mac, sizeof(mac));
}

}  // namespace

std::string random_256_bits_base64url() {
  uint8_t bytes[32] = {};
  PAMPROXY_CHECK(RAND_bytes(bytes, 32) == 1);
  return base64url_32(bytes);
}

std::array<uint8_t, 32> sha256(std::string_view bytes) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out.data());
  return out;
}

absl::StatusOr<ConsoleSessions::Created> ConsoleSessions::create(ConsoleSession who,
                                                                 std::string_view token_secret,
                                                                 absl::Time now,
                                                                 absl::Duration idle,
                                                                 absl::Duration absolute) {
  std::string id = random_256_bits_base64url();
  who.token_check = who.token_id.empty() ? "" : token_check_of(id, token_secret);
  who.csrf = csrf_of(id);
  who.created = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  who.last_used = who.created;
  absl::Status s = store_->create_console_session({.id_sha256 = id_digest(id),
                                                   .user_id = who.user_id,
                                                   .token_id = who.token_id,
                                                   .token_check = who.token_check,
                                                   .created_at = who.created,
                                                   .last_used_at = who.created},
                                                  {idle, absolute, sessions_max_});
  if (!s.ok()) return s;
  return Created{std::move(id), std::move(who)};
}

absl::StatusOr<std::optional<ConsoleSession>> ConsoleSessions::find(std::string_view id,
                                                                    absl::Time now,
                                                                    absl::Duration idle,
                                                                    absl::Duration absolute) {
  absl::StatusOr<std::optional<store::ConsoleSessionRow>> row =
      store_->use_console_session(id_digest(id), now, {idle, absolute, sessions_max_});
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ConsoleSession>();
  store::ConsoleSessionRow& r = **row;
  return std::optional<ConsoleSession>(ConsoleSession{.user_id = std::move(r.user_id),
                                                      .token_id = std::move(r.token_id),
                                                      .token_check = std::move(r.token_check),
                                                      .csrf = csrf_of(id),
                                                      .created = r.created_at,
                                                      .last_used = r.last_used_at});
}

bool ConsoleSessions::same_secret(std::string_view id, const ConsoleSession& session,
                                  std::string_view secret) {
  const std::string check = token_check_of(id, secret);
  return check.size() == session.token_check.size() &&
         CRYPTO_memcmp(check.data(), session.token_check.data(), check.size()) == 0;
}

absl::Status ConsoleSessions::end(std::string_view id) {
  return store_->end_console_session(id_digest(id));
}

}  // namespace pamproxy::admin
