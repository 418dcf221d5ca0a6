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

// Where a command-line sign-in (`pamctl login` with a browser) goes back to: pamctl's listener
// on 127.0.0.1, and the S256 challenge of the verifier pamctl keeps.
struct CliReturn {
  uint16_t port = 0;  // 0: a console sign-in
  std::string challenge;
};

struct PendingSignIn {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  absl::Time started;
  CliReturn cli;
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
  std::optional<Started> start(absl::Time now, CliReturn cli = {});
  std::optional<PendingSignIn> take(std::string_view state, absl::Time now);
  size_t size() const { return by_digest_.size(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  size_t sign_ins_max_;
  absl::Duration lifetime_;
  absl::flat_hash_map<Digest, PendingSignIn> by_digest_;
};

// The device sign-ins under way (RFC 8628): the provider's device code, kept here and never
// given to the client, which polls with a random handle instead. The same rules as the sign-ins
// above: the handle is 256 random bits, the table is keyed by its SHA-256 and the handle found
// is compared in constant time; at most `devices_max` at once (expired ones dropped first); each
// lives as long as the provider said its device code does.
struct PendingDevice {
  std::string handle;
  std::string device_code;
  absl::Time expires;
  int64_t interval_s = 5;
  absl::Time next_poll;  // the provider is not asked before this (RFC 8628 section 3.5)
};

class PendingDevices {
 public:
  explicit PendingDevices(size_t devices_max) : devices_max_(devices_max) {}

  // The handle; nullopt when the table is full.
  std::optional<std::string> add(std::string device_code, absl::Time now, absl::Duration lifetime,
                                 int64_t interval_s);
  // The device sign-in of `handle`, to be polled; nullptr when unknown or expired (then dropped).
  PendingDevice* find(std::string_view handle, absl::Time now);
  void remove(std::string_view handle);
  size_t size() const { return by_digest_.size(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  size_t devices_max_;
  absl::flat_hash_map<Digest, PendingDevice> by_digest_;
};

// 256 bits from the system's CSPRNG, base64url without padding (43 characters).
std::string random_base64url_256();
// BASE64URL(SHA-256(verifier)), the PKCE S256 challenge.
std::string pkce_s256_challenge(std::string_view code_verifier);

}  // namespace pamproxy::identity
