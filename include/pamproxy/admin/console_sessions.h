#pragma once
// The web console's sign-in sessions. A session ties a browser cookie to the REST API token it
// signed in with (or, through the identity provider, to the user alone), so that a cookie
// request is authenticated and authorized exactly as that token's bearer requests are
// (docs/console.md). The sessions live in the store, so a restart keeps them and every node of a
// shared PostgreSQL database knows them; this class is what the admin API makes of a row.
//
//   ConsoleSessions sessions(store, 1024);
//   auto s = sessions.create({.user_id = u, .token_id = t}, secret, now, idle, absolute);
//   ... Set-Cookie: __Host-pamproxy=<s->id> ...
//   auto found = sessions.find(cookie_value, now, idle, absolute);  // -> optional session
//
// Invariants:
//   - A session id is 256 random bits (43 base64url characters), shown once to create()'s caller
//     and never kept: the store's row is keyed by its SHA-256. A lookup hashes what the browser
//     sent and looks the digest up by equality, so its time depends on the digest, never on how
//     much of a real id a guess shares.
//   - Nothing stored lets a reader of the database act as a browser: the CSRF token is an HMAC
//     keyed by the id (so it is derived again on each call, never stored), and the token's
//     secret is kept as an HMAC keyed by the id as well.
//   - Bounds: at most `sessions_max` sessions in the store; create() first drops expired ones
//     and refuses (ResourceExhausted) when they are still that many, so nobody's session is
//     ended to make room.
//   - A session ends at its idle timeout (since its last use), its absolute timeout (since it
//     was created), or end(), whichever comes first; find() erases it then. Disabling or
//     deleting its user ends it too (the store deletes her rows).
//
// Thread safety: as the store's (any thread); the admin server's thread is the caller.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pamproxy::store {
class Store;
}

namespace pamproxy::admin {

struct ConsoleSession {
  std::string user_id;
  // "" for a sign-in through the identity provider: the session then stands for the user alone.
  std::string token_id;
  std::string token_check;  // HMAC-SHA256(id, the token's secret at sign-in), hex; "" without
  std::string csrf;         // X-Pamproxy-CSRF: HMAC-SHA256(id, a fixed label), base64url
  absl::Time created;
  absl::Time last_used;
};

class ConsoleSessions {
 public:
  ConsoleSessions(store::Store* store, size_t sessions_max)
      : store_(store), sessions_max_(sessions_max) {}

  struct Created {
    std::string id;  // the cookie's value
    ConsoleSession session;
  };
  // A new session for `who` (user_id and token_id; the rest is filled in here, token_check from
  // `token_secret` when there is a token); ResourceExhausted when the store holds sessions_max
  // live sessions, or the store's error.
  absl::StatusOr<Created> create(ConsoleSession who, std::string_view token_secret, absl::Time now,
                                 absl::Duration idle, absl::Duration absolute);
  // The live session with that id, touched (last_used = now); nullopt when unknown or expired.
  absl::StatusOr<std::optional<ConsoleSession>> find(std::string_view id, absl::Time now,
                                                     absl::Duration idle, absl::Duration absolute);
  // Whether `secret` is the token's secret the session with that id signed in with (constant
  // time).
  static bool same_secret(std::string_view id, const ConsoleSession& session,
                          std::string_view secret);
  // Ends the session (nothing when there is none).
  absl::Status end(std::string_view id);

 private:
  store::Store* store_;  // not owned
  size_t sessions_max_;
};

// 256 bits from the system's CSPRNG as 43 base64url characters (no padding).
std::string random_256_bits_base64url();
// SHA-256 of the bytes.
std::array<uint8_t, 32> sha256(std::string_view bytes);

}  // namespace pamproxy::admin
