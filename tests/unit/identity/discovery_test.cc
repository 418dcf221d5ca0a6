#include "pamproxy/identity/discovery.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::identity {
namespace {

constexpr std::string_view kIssuer = "https://id.example/realms/staff";

std::string document(std::string_view issuer, std::string_view extra = "") {
  return std::string(R"({"issuer":")") + std::string(issuer) +
         R"(","authorization_endpoint":"https://id.example/auth",)"
         R"("token_endpoint":"https://id.example/token","jwks_uri":"https://id.example/keys")" +
         std::string(extra) + "}";
}

TEST(Discovery, UrlIsUnderTheIssuer) {
  EXPECT_EQ(discovery_url("https://id.example"),
            "https://id.example/.well-known/openid-configuration");
  EXPECT_EQ(discovery_url("https://id.example/realms/staff/"),
            "https://id.example/realms/staff/.well-known/openid-configuration");
}

TEST(Discovery, ReadsTheEndpoints) {
  auto m =
      parse_discovery(document(kIssuer, R"(,"response_types_supported":["code","id_token"],)"
                                        R"("code_challenge_methods_supported":["plain","S256"])"),
                      kIssuer);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->authorization_endpoint, "https://id.example/auth");
  EXPECT_EQ(m->token_endpoint, "https://id.example/token");
  EXPECT_EQ(m->jwks_uri, "https://id.example/keys");
}

TEST(Discovery, RefusesAnotherIssuer) {
  auto m = parse_discovery(document("https://evil.example"), kIssuer);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("not the configured"), std::string::npos);
}

TEST(Discovery, RefusesPlainHttpEndpointsAndMissingOnes) {
  std::string doc = document(kIssuer);
  doc.replace(doc.find("https://id.example/token"), 8, "http://");
  EXPECT_NE(parse_discovery(doc, kIssuer).status().message().find("token_endpoint is not an https"),
            std::string::npos);
  EXPECT_NE(parse_discovery(R"({"issuer":"https://id.example/realms/staff"})", kIssuer)
                .status()
                .message()
                .find("no authorization_endpoint"),
            std::string::npos);
  EXPECT_FALSE(parse_discovery("[]", kIssuer).ok());
  EXPECT_FALSE(parse_discovery(std::string(kDiscoveryBytesMax + 1, ' '), kIssuer).ok());
}

TEST(Discovery, RefusesAProviderWithoutTheCodeFlowOrS256) {
  EXPECT_NE(
      parse_discovery(document(kIssuer, R"(,"response_types_supported":["id_token"])"), kIssuer)
          .status()
          .message()
          .find("code flow"),
      std::string::npos);
  EXPECT_NE(parse_discovery(document(kIssuer, R"(,"code_challenge_methods_supported":["plain"])"),
                            kIssuer)
                .status()
                .message()
                .find("S256"),
            std::string::npos);
}

}  // namespace
}  // namespace pamproxy::identity
