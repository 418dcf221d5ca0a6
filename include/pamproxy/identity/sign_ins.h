#pragma once
// The sign-ins under way: what the appliance sent to the provider with a browser (state, nonce,
// PKCE verifier), kept here and never in the browser, until the browser comes back with the
// state.
//
//   PendingSignIns pending(256, absl::Minutes(10));
//   auto started = pending.start(now);        // -> state, nonce, S256 challenge for the URL
//   ... the provider redirects back with ?state=...&code=...
//   auto sign_in = pending.take(state, now);  // nullopt: unknown, used or expired
//
// Invariants:
//   - state, nonce and verifier are each 256 bits from the system's CSPRNG (43 base64url
//     characters); the challenge is BASE64URL(SHA-256(verifier)) (RFC 7636, S256).
//   - Single use: take() removes the sign-in whatever it finds, so a state replayed (a callback
//     URL from a browser history or a log) finds nothing.
//   - The table is keyed by SHA-256 of the state, and the state found is then compared with the
//     one presented in constant time: a lookup's time tells nothing of how much of a real state
//     a guess shares.
//   - Bounds: at most `sign_ins_max` at once; start() first drops expired ones and refuses
//     (nullopt) when the table is still full. A sign-in lives `lifetime` at most.
//
// Thread safety: none; one thread (the admin server's) owns it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace pamproxy::identity {

struct PendingSignIn {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  absl::Time started;
};

class PendingSignIns {
 public:
  PendingSignIns(size_t sign_ins_max, absl::Duration lifetime)
      : sign_ins_max_(sign_ins_max), lifetime_(lifetime) {}

  struct Started {
    std::string state;
    std::string nonce;
    std::string code_challenge;  // S256
  };
  std::optional<Started> start(absl::Time now);
  std::optional<PendingSignIn> take(std::string_view state, absl::Time now);
  size_t size() const { return by_digest_.size(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  size_t sign_ins_max_;
  absl::Duration lifetime_;
  absl::flat_hash_map<Digest, PendingSignIn> by_digest_;
};

// 256 bits from the system's CSPRNG, base64url without padding (43 characters).
std::string random_base64url_256();
// BASE64URL(SHA-256(verifier)), the PKCE S256 challenge.
std::string pkce_s256_challenge(std::string_view code_verifier);

}  // namespace pamproxy::identity
