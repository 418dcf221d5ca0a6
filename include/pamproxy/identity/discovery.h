#pragma once
// The provider's metadata, read from <issuer>/.well-known/openid-configuration (OpenID Connect
// Discovery 1.0). Pure: the caller fetches the document.
//
//   absl::StatusOr<ProviderMetadata> m = parse_discovery(body, "https://id.example");
//
// The document must name exactly the configured issuer (section 4.3: an attacker who answers
// for one issuer must not be able to speak for another), https endpoints for authorization,
// token and keys (and for the optional device authorization and userinfo endpoints, when
// named), and, when it lists them, the code flow and PKCE's S256 among what it supports.
// Bounds: a document of at most kDiscoveryBytesMax bytes; each URL at most kUrlBytesMax.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pamproxy::identity {

inline constexpr size_t kDiscoveryBytesMax = 256 * 1024;
inline constexpr size_t kUrlBytesMax = 2048;

struct ProviderMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  // Optional ones: "" when the document names none.
  std::string device_authorization_endpoint;  // RFC 8628, for `pamctl login --device`
  std::string userinfo_endpoint;              // asked when a refresh answers without an ID token
};

// The well-known URL for an issuer: a trailing '/' of the issuer is not doubled.
std::string discovery_url(std::string_view issuer);

absl::StatusOr<ProviderMetadata> parse_discovery(std::string_view json, std::string_view issuer);

}  // namespace pamproxy::identity
