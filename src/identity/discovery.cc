// The provider's metadata (see include/pamproxy/identity/discovery.h).

#include "pamproxy/identity/discovery.h"

#include <simdjson.h>

#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

bool https_url(std::string_view url) {
  if (url.size() > kUrlBytesMax || !url.starts_with("https://") || url.size() == 8) return false;
  for (unsigned char c : url) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

// When the document lists what it supports under `name`, `wanted` must be among it.
bool supports(simdjson::dom::object doc, std::string_view name, std::string_view wanted) {
  simdjson::dom::array list;
  if (doc[name].get_array().get(list) != simdjson::SUCCESS) return true;
  for (simdjson::dom::element item : list) {
    std::string_view s;
    if (item.get_string().get(s) == simdjson::SUCCESS && s == wanted) return true;
  }
  return false;
}

}  // namespace

std::string discovery_url(std::string_view issuer) {
  if (issuer.ends_with('/')) issuer.remove_suffix(1);
  return internal::cat(issuer, "/.well-known/openid-configuration");
}

absl::StatusOr<ProviderMetadata> parse_discovery(std::string_view json, std::string_view issuer) {
  if (json.size() > kDiscoveryBytesMax) {
    return absl::InvalidArgumentError(
        internal::cat("the discovery document is larger than ", kDiscoveryBytesMax, " bytes"));
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::object doc;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the discovery document is not a JSON object");
  }
  ProviderMetadata m;
  struct Member {
    std::string_view name;
    std::string* out;
  };
  for (const Member& member :
       {Member{"issuer", &m.issuer}, Member{"authorization_endpoint", &m.authorization_endpoint},
        Member{"token_endpoint", &m.token_endpoint}, Member{"jwks_uri", &m.jwks_uri}}) {
    std::string_view value;
    if (doc[member.name].get_string().get(value) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          internal::cat("the discovery document has no ", member.name));
    }
    if (!https_url(value)) {
      return absl::InvalidArgumentError(
          internal::cat("the discovery document's ", member.name, " is not an https URL"));
    }
    *member.out = std::string(value);
  }
  for (const Member& member :
       {Member{"device_authorization_endpoint", &m.device_authorization_endpoint},
        Member{"userinfo_endpoint", &m.userinfo_endpoint}}) {
    std::string_view value;
    if (doc[member.name].get_string().get(value) != simdjson::SUCCESS) continue;
    if (!https_url(value)) {
      return absl::InvalidArgumentError(
          internal::cat("the discovery document's ", member.name, " is not an https URL"));
    }
    *member.out = std::string(value);
  }
  if (m.issuer != issuer) {
    return absl::InvalidArgumentError(internal::cat("the discovery document names the issuer \"",
                                                    m.issuer.substr(0, 200),
                                                    "\", not the configured \"", issuer, "\""));
  }
  if (!supports(doc, "response_types_supported", "code")) {
    return absl::InvalidArgumentError("the provider does not support the code flow");
  }
  if (!supports(doc, "code_challenge_methods_supported", "S256")) {
    return absl::InvalidArgumentError("the provider does not support PKCE with S256");
  }
  return m;
}

}  // namespace pamproxy::identity
