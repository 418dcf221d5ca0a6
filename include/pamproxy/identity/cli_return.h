#pragma once
// The way back to pamctl after a command-line sign-in in a browser:
//
//   pamctl listens on 127.0.0.1:P and opens /auth/oidc/start?cli_port=P&cli_challenge=C
//   (C = BASE64URL(SHA-256(verifier)), the verifier kept by pamctl);
//   the provider's callback comes to the appliance, which signs the person in and sends the
//   browser to cli_callback_url(P, code): http://127.0.0.1:P/callback?code=<one-time code>;
//   pamctl posts {code, verifier} to /api/v1/auth/cli/exchange and gets its token.
//
// Invariants:
//   - The browser is only ever sent to http://127.0.0.1 and the port given, never to a host
//     named by a request: the start URL cannot be turned into an open redirect.
//   - A code is 256 random bits, single use (take() removes it whatever it finds), lives
//     kCliCodeLifetime, and is worth nothing without the verifier: a code seen by another
//     program on the machine (a browser history, a local listener that raced pamctl) cannot be
//     exchanged. The verifier is checked in constant time.
//   - Bounds: at most `codes_max` codes at once; add() first drops expired ones and refuses
//     when the table is still full.
//
// Thread safety: none; one thread (the admin server's) owns a CliCodes.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace pamproxy::identity {

inline constexpr absl::Duration kCliCodeLifetime = absl::Seconds(120);

// A port as cli_port gives it: decimal digits only, 1 to 65535; nullopt otherwise.
std::optional<uint16_t> parse_cli_port(std::string_view text);
// Whether `text` can be an S256 challenge: 43 base64url characters.
bool valid_cli_challenge(std::string_view text);
// http://127.0.0.1:<port>/callback?code=<code> (`code` is base64url: nothing to escape).
std::string cli_callback_url(uint16_t port, std::string_view code);

// What the appliance keeps between the browser's callback and pamctl's exchange.
struct CliGrant {
  std::string challenge;
  std::string user_id;
  std::string subject;
  std::string refresh_token;  // the provider's
};

class CliCodes {
 public:
  explicit CliCodes(size_t codes_max) : codes_max_(codes_max) {}

  // The code for `grant`; nullopt when the table is full.
  std::optional<std::string> add(CliGrant grant, absl::Time now);

  enum class Refusal { kNone, kUnknownCode, kWrongVerifier };
  struct Taken {
    Refusal refusal = Refusal::kNone;
    CliGrant grant;  // when refusal is kNone
  };
  // Takes the code's grant if `verifier` is the one its challenge was made from.
  Taken take(std::string_view code, std::string_view verifier, absl::Time now);
  size_t size() const { return by_digest_.size(); }

 private:
  struct Entry {
    std::string code;
    CliGrant grant;
    absl::Time issued;
  };
  using Digest = std::array<uint8_t, 32>;
  size_t codes_max_;
  absl::flat_hash_map<Digest, Entry> by_digest_;
};

}  // namespace pamproxy::identity
