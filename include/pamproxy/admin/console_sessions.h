#pragma once
// The web console's sign-in sessions, kept in the admin server's memory. A session ties a
// browser cookie to the REST API token it signed in with, so that a cookie request is
// authenticated and authorized exactly as that token's bearer requests are (docs/console.md).
//
//   ConsoleSessions sessions(1024);
//   auto s = sessions.create({.user_id = u, .token_id = t, .secret_sha256 = d}, now);
//   ... Set-Cookie: __Host-pamproxy=<s->id> ...
//   const ConsoleSession* found = sessions.find(cookie_value, now, idle, absolute);
//
// Invariants:
//   - A session id is 256 random bits (43 base64url characters), shown once to create() 's caller
//     and never kept: the table is keyed by its SHA-256. A lookup hashes what the browser sent
//     and finds the digest in a hash table, so its time depends on the digest, never on how much
//     of a real id a guess shares.
//   - Bounds: at most `sessions_max` sessions; create() first drops expired ones and refuses
//     (nullopt) when the table is still full, so nobody's session is ended to make room.
//   - A session ends at its idle timeout (since its last use), its absolute timeout (since it
//     was created), or end(), whichever comes first; find() erases it then.
//
// Thread safety: none; the admin server's thread owns it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace pamproxy::admin {

struct ConsoleSession {
  std::string user_id;
  // "" for a sign-in through the identity provider: the session then stands for the user alone.
  std::string token_id;
  std::array<uint8_t, 32> secret_sha256{};  // of the token's secret at sign-in
  std::string csrf;                         // X-Pamproxy-CSRF: 256 random bits, base64url
  absl::Time created;
  absl::Time last_used;
};

class ConsoleSessions {
 public:
  explicit ConsoleSessions(size_t sessions_max) : sessions_max_(sessions_max) {}

  struct Created {
    std::string id;  // the cookie's value
    const ConsoleSession* session;
  };
  // A new session for `who` (its csrf, created and last_used are filled in here); nullopt when
  // the table is full of live sessions.
  std::optional<Created> create(ConsoleSession who, absl::Time now, absl::Duration idle,
                                absl::Duration absolute);
  // The live session with that id, touched (last_used = now); nullptr when unknown or expired.
  const ConsoleSession* find(std::string_view id, absl::Time now, absl::Duration idle,
                             absl::Duration absolute);
  // Ends the session; false when there was none.
  bool end(std::string_view id);
  size_t size() const { return by_digest_.size(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  static Digest digest(std::string_view id);
  static bool expired(const ConsoleSession& s, absl::Time now, absl::Duration idle,
                      absl::Duration absolute);

  size_t sessions_max_;
  absl::flat_hash_map<Digest, ConsoleSession> by_digest_;
};

// 256 bits from the system's CSPRNG as 43 base64url characters (no padding).
std::string random_256_bits_base64url();
// SHA-256 of the bytes.
std::array<uint8_t, 32> sha256(std::string_view bytes);

}  // namespace pamproxy::admin
