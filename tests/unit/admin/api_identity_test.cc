// Sign-in through the identity provider, as far as it goes without one: whether the console
// offers it, the start and callback refusing with the sign-in page's error words (provider down,
// no state bound to the browser), token sign-in working beside it, and the group-to-role
// mappings of the admin API.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "pamproxy/admin/api.h"
#include "pamproxy/store/store.h"
#include "tests/unit/audit/audit_test_util.h"

namespace pamproxy::admin {
namespace {

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class IdentityApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open(
        {.database_file = dir_.sub("p.db"), .master_key_file = dir_.sub("master.key")});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto boot = store_->bootstrap("admin");
    ASSERT_TRUE(boot.ok() && boot->has_value());
    bearer_ = "Bearer " + (*boot)->token.token.id + ":" + (*boot)->token.secret;
    client_ = *net::IpAddress::parse("127.0.0.1");
    api_ = std::make_unique<Api>(ApiOptions{.store = store_.get(),
                                            .ca_pem = "PEM",
                                            .now = [this] { return now_; },
                                            .identity = identity_});
  }

  // Sign-in through a provider at an address where nothing listens.
  void enable_identity() {
    const std::string secret_file = dir_.sub("client-secret");
    std::ofstream(secret_file) << "s3cret\n";
    config::IdentitySection i;
    i.enabled = true;
    i.issuer = "https://127.0.0.1:1/realms/staff";
    i.client_id = "pamproxy";
    i.client_secret_file = secret_file;
    i.console_url = "https://127.0.0.1:8443";
    i.provider_timeout_ms = 2000;
    ASSERT_TRUE(identity_->configure(i).ok());
  }

  ApiResponse call(std::string_view method, std::string_view target, std::string_view body = "",
                   std::string_view authorization = "", std::string_view cookie = "") {
    return api_->handle({.method = method,
                         .target = target,
                         .authorization = authorization,
                         .body = body,
                         .client = client_,
                         .cookie = cookie,
                         .host = "127.0.0.1:8443",
                         .origin = ""});
  }

  audit::testing::TempDir dir_;  // outlives the store
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<identity::RelyingParty> identity_ = std::make_shared<identity::RelyingParty>();
  std::unique_ptr<Api> api_;
  std::string bearer_;
  net::IpAddress client_;
  absl::Time now_ = absl::FromUnixSeconds(1795424400);
};

TEST_F(IdentityApi, TheConsoleLearnsWhetherSignInThroughTheProviderIsOffered) {
  ApiResponse r = call("GET", "/api/v1/console/identity");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"enabled":false})");
  r = call("GET", "/auth/oidc/start");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(header(r, "Location"), "/?signin_error=identity_off");

  enable_identity();
  r = call("GET", "/api/v1/console/identity");
  EXPECT_EQ(r.body, R"({"enabled":true,"start_url":"/auth/oidc/start"})");
}

TEST_F(IdentityApi, ProviderDownSendsTheBrowserBackWithTheReasonAndTokensKeepWorking) {
  enable_identity();
  ApiResponse r = call("GET", "/auth/oidc/start");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(header(r, "Location"), "/?signin_error=provider_unreachable");
  EXPECT_EQ(call("GET", "/api/v1/whoami", "", bearer_).status, 200);
}

TEST_F(IdentityApi, CallbackWithoutTheBrowsersStateIsRefused) {
  enable_identity();
  ApiResponse r = call("GET", "/auth/oidc/callback?state=abc&code=xyz");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(header(r, "Location"), "/?signin_error=expired");
  r = call("GET", "/auth/oidc/callback?state=abc&code=xyz", "", "", "__Host-pamproxy-oidc=abd");
  EXPECT_EQ(header(r, "Location"), "/?signin_error=expired");
  // Bound to this browser, but no sign-in with that state is under way.
  r = call("GET", "/auth/oidc/callback?state=abc&code=xyz", "", "", "__Host-pamproxy-oidc=abc");
  EXPECT_EQ(header(r, "Location"), "/?signin_error=expired");
  r = call("GET", "/auth/oidc/callback?error=access_denied&state=abc");
  EXPECT_EQ(header(r, "Location"), "/?signin_error=refused");
  EXPECT_EQ(call("POST", "/auth/oidc/start").status, 405);
  EXPECT_EQ(call("GET", "/auth/oidc/other").status, 404);
}

TEST_F(IdentityApi, AdminsMapProviderGroupsToRoles) {
  auto role = store_->create_role({"", "", "test"}, "ops", "");
  ASSERT_TRUE(role.ok());
  const std::string body = R"({"group":"okta-ops","role_id":")" + role->object_id + R"("})";
  ApiResponse r = call("POST", "/api/v1/group-roles", body, bearer_);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(call("POST", "/api/v1/group-roles", body, bearer_).status, 409);
  r = call("GET", "/api/v1/group-roles", "", bearer_);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("group":"okta-ops")"), std::string::npos) << r.body;
  EXPECT_EQ(call("DELETE", "/api/v1/group-roles/okta-ops/" + role->object_id, "", bearer_).status,
            200);
  EXPECT_EQ(call("DELETE", "/api/v1/group-roles/okta-ops/" + role->object_id, "", bearer_).status,
            404);
  EXPECT_EQ(call("GET", "/api/v1/group-roles").status, 401);
}

}  // namespace
}  // namespace pamproxy::admin
