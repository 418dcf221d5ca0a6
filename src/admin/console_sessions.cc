// The web console's sign-in sessions (see include/pamproxy/admin/console_sessions.h).

#include "pamproxy/admin/console_sessions.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "pamproxy/base/check.h"

namespace pamproxy::admin {

std::string random_256_bits_base64url() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint8_t bytes[33] = {};  // 32 random, one zero byte so the last group of 3 is whole
  PAMPROXY_CHECK(RAND_bytes(bytes, 32) == 1);
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

std::array<uint8_t, 32> sha256(std::string_view bytes) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out.data());
  return out;
}

ConsoleSessions::Digest ConsoleSessions::digest(std::string_view id) {
  return sha256(id);
}

bool ConsoleSessions::expired(const ConsoleSession& s, absl::Time now, absl::Duration idle,
                              absl::Duration absolute) {
  return now - s.last_used >= idle || now - s.created >= absolute;
}

std::optional<ConsoleSessions::Created> ConsoleSessions::create(ConsoleSession who, absl::Time now,
                                                                absl::Duration idle,
                                                                absl::Duration absolute) {
  if (by_digest_.size() >= sessions_max_) {
    absl::erase_if(by_digest_,
                   [&](const auto& entry) { return expired(entry.second, now, idle, absolute); });
    if (by_digest_.size() >= sessions_max_) return std::nullopt;
  }
  who.csrf = random_256_bits_base64url();
  who.created = now;
  who.last_used = now;
  std::string id = random_256_bits_base64url();
  auto [it, inserted] = by_digest_.emplace(digest(id), std::move(who));
  PAMPROXY_CHECK(inserted);  // 256 random bits do not repeat
  return Created{std::move(id), &it->second};
}

const ConsoleSession* ConsoleSessions::find(std::string_view id, absl::Time now,
                                            absl::Duration idle, absl::Duration absolute) {
  auto it = by_digest_.find(digest(id));
  if (it == by_digest_.end()) return nullptr;
  if (expired(it->second, now, idle, absolute)) {
    by_digest_.erase(it);
    return nullptr;
  }
  it->second.last_used = now;
  return &it->second;
}

bool ConsoleSessions::end(std::string_view id) {
  return by_digest_.erase(digest(id)) > 0;
}

}  // namespace pamproxy::admin
