// Users and records through Api::handle (no sockets), as an admin and as an engineer: a user
// disabled and enabled again (by id or name), what that does to her bearer token, her console
// session and her sign-in; and the records list an engineer gets (her granted records only, her
// own stars) with the changes she is refused.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pamproxy/admin/api.h"
#include "pamproxy/store/store.h"
#include "tests/unit/audit/audit_test_util.h"

namespace pamproxy::admin {
namespace {

constexpr std::string_view kHost = "127.0.0.1:8443";
constexpr std::string_view kOrigin = "https://127.0.0.1:8443";

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

// The value between `"key":"` and the next quote.
std::string json_string(const std::string& body, std::string_view key) {
  std::string marker = "\"" + std::string(key) + "\":\"";
  size_t at = body.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  return body.substr(at, body.find('"', at) - at);
}

size_t count(const std::string& body, std::string_view what) {
  size_t n = 0;
  for (size_t at = body.find(what); at != std::string::npos; at = body.find(what, at + 1)) ++n;
  return n;
}

class AccessApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open(
        {.database_file = dir_.sub("p.db"), .master_key_file = dir_.sub("master.key")});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto boot = store_->bootstrap("admin");
    ASSERT_TRUE(boot.ok() && boot->has_value());
    admin_ = (*boot)->token.token.id + ":" + (*boot)->token.secret;
    admin_id_ = (*boot)->admin.id;
    client_ = *net::IpAddress::parse("127.0.0.1");
    api_ = std::make_unique<Api>(
        ApiOptions{.store = store_.get(), .ca_pem = "PEM", .now = [this] { return now_; }});

    alice_id_ = json_string(as(admin_, "POST", "/api/v1/users", "{\"name\":\"alice\"}").body, "id");
    ApiResponse token = as(admin_, "POST", "/api/v1/tokens",
                           "{\"name\":\"laptop\",\"user_id\":\"" + alice_id_ + "\"}");
    ASSERT_EQ(token.status, 201) << token.body;
    alice_token_id_ = json_string(token.body, "id");
    alice_secret_ = json_string(token.body, "secret");
    alice_ = alice_token_id_ + ":" + alice_secret_;
  }

  ApiResponse as(const std::string& bearer, std::string_view method, std::string_view target,
                 std::string_view body = "") {
    return api_->handle({.method = method,
                         .target = target,
                         .authorization = "Bearer " + bearer,
                         .body = body,
                         .client = client_});
  }
  ApiResponse with_cookie(std::string_view method, std::string_view target, std::string_view cookie,
                          std::string_view body = "") {
    return api_->handle({.method = method,
                         .target = target,
                         .body = body,
                         .client = client_,
                         .cookie = cookie,
                         .host = kHost,
                         .origin = kOrigin});
  }
  // Alice signs in to the console; returns her Cookie field.
  ApiResponse alice_sign_in() {
    return with_cookie(
        "POST", "/api/v1/console/session", "",
        "{\"token_id\":\"" + alice_token_id_ + "\",\"secret\":\"" + alice_secret_ + "\"}");
  }
  std::string record(const std::string& name, const std::string& tag) {
    ApiResponse r = as(admin_, "POST", "/api/v1/records",
                       "{\"name\":\"" + name +
                           "\",\"access_key_id\":\"AKIAIOSFODNN7EXAMPLE\","
                           "\"secret_access_key\":\"s\",\"tags\":[\"" +
                           tag + "\"]}");
    EXPECT_EQ(r.status, 201) << r.body;
    return json_string(r.body, "id");
  }

  audit::testing::TempDir dir_;  // outlives the store
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Api> api_;
  std::string admin_, admin_id_, alice_id_, alice_token_id_, alice_secret_, alice_;
  net::IpAddress client_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(AccessApi, ADisabledUsersTokenSessionAndSignInAreRefusedUntilSheIsEnabled) {
  ApiResponse in = alice_sign_in();
  ASSERT_EQ(in.status, 201) << in.body;
  const std::string set = header(in, "Set-Cookie");
  const std::string cookie = set.substr(0, set.find(';'));
  ASSERT_EQ(with_cookie("GET", "/api/v1/whoami", cookie).status, 200);

  // By name, as pamctl users disable alice sends it.
  ApiResponse disabled = as(admin_, "PATCH", "/api/v1/users/alice", "{\"disabled\":true}");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_NE(disabled.body.find("\"disabled\":true"), std::string::npos) << disabled.body;
  EXPECT_EQ(json_string(disabled.body, "id"), alice_id_);

  ApiResponse refused = as(alice_, "GET", "/api/v1/whoami");
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("user alice is disabled"), std::string::npos) << refused.body;
  EXPECT_EQ(with_cookie("GET", "/api/v1/whoami", cookie).status, 401);
  EXPECT_EQ(alice_sign_in().status, 401);
  // Her token is kept, not revoked.
  ApiResponse tokens = as(admin_, "GET", "/api/v1/tokens?user=" + alice_id_);
  EXPECT_NE(tokens.body.find("\"revoked\":false"), std::string::npos) << tokens.body;

  // By id, enabled again: her token works as before; the session she had has ended.
  ApiResponse enabled = as(admin_, "PATCH", "/api/v1/users/" + alice_id_, "{\"disabled\":false}");
  ASSERT_EQ(enabled.status, 200) << enabled.body;
  EXPECT_EQ(as(alice_, "GET", "/api/v1/whoami").status, 200);
  EXPECT_EQ(with_cookie("GET", "/api/v1/whoami", cookie).status, 401);
  EXPECT_EQ(alice_sign_in().status, 201);
}

TEST_F(AccessApi, DisablingEndsHerSessionsAtOnce) {
  ApiResponse in = alice_sign_in();
  ASSERT_EQ(in.status, 201) << in.body;
  const std::string set = header(in, "Set-Cookie");
  const std::string cookie = set.substr(0, set.find(';'));
  // Disabled and enabled again without her calling in between: the session is gone anyway.
  ASSERT_EQ(as(admin_, "PATCH", "/api/v1/users/alice", "{\"disabled\":true}").status, 200);
  ASSERT_EQ(as(admin_, "PATCH", "/api/v1/users/alice", "{\"disabled\":false}").status, 200);
  EXPECT_EQ(with_cookie("GET", "/api/v1/whoami", cookie).status, 401);
  EXPECT_EQ(store_->count_console_sessions(), 0u);
}

TEST_F(AccessApi, OnlyAnAdminDisablesAndNeverHerself) {
  EXPECT_EQ(as(alice_, "PATCH", "/api/v1/users/admin", "{\"disabled\":true}").status, 403);
  EXPECT_EQ(as(alice_, "PATCH", "/api/v1/users/alice", "{\"disabled\":false}").status, 403);
  ApiResponse self = as(admin_, "PATCH", "/api/v1/users/" + admin_id_, "{\"disabled\":true}");
  EXPECT_EQ(self.status, 409) << self.body;
  EXPECT_EQ(as(admin_, "PATCH", "/api/v1/users/alice", "{\"disabled\":\"yes\"}").status, 400);
  EXPECT_EQ(as(admin_, "PATCH", "/api/v1/users/nobody", "{\"disabled\":true}").status, 404);
  // Her own user, by name too, and no one else's.
  EXPECT_EQ(as(alice_, "GET", "/api/v1/users/alice").status, 200);
  EXPECT_EQ(as(alice_, "GET", "/api/v1/users/admin").status, 403);
}

TEST_F(AccessApi, AnEngineerListsHerGrantedRecordsAndStarsThemButChangesNone) {
  ASSERT_EQ(as(admin_, "POST", "/api/v1/record-types/aws-access-keys/enable").status, 200);
  const std::string billing = record("billing", "finance");
  const std::string logs = record("logs", "ops");
  record("payroll", "finance");
  ASSERT_EQ(as(admin_, "POST", "/api/v1/grants",
               "{\"user_id\":\"" + alice_id_ + "\",\"record_id\":\"" + billing +
                   "\",\"permissions\":[\"view\",\"connect\"]}")
                .status,
            201);
  ASSERT_EQ(as(admin_, "POST", "/api/v1/grants",
               "{\"user_id\":\"" + alice_id_ + "\",\"record_id\":\"" + logs +
                   "\",\"permissions\":[\"view\"]}")
                .status,
            201);

  ApiResponse mine = as(alice_, "GET", "/api/v1/records");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(count(mine.body, "\"name\":\"billing\""), 1u);
  EXPECT_EQ(count(mine.body, "\"name\":\"logs\""), 1u);
  EXPECT_EQ(count(mine.body, "\"name\":\"payroll\""), 0u) << mine.body;
  EXPECT_EQ(mine.body.find("\"secret_access_key\":\""), std::string::npos);
  ApiResponse by_tag = as(alice_, "GET", "/api/v1/records?tag=finance");
  EXPECT_EQ(count(by_tag.body, "\"name\":"), 1u) << by_tag.body;

  // Her star is hers: the admin's Favorites stay empty.
  ASSERT_EQ(as(alice_, "PUT", "/api/v1/records/" + logs + "/favorite").status, 200);
  ApiResponse favorites = as(alice_, "GET", "/api/v1/records?favorites=1");
  EXPECT_EQ(count(favorites.body, "\"name\":"), 1u) << favorites.body;
  EXPECT_EQ(count(favorites.body, "\"name\":\"logs\""), 1u);
  EXPECT_EQ(count(as(admin_, "GET", "/api/v1/records?favorites=1").body, "\"name\":"), 0u);

  // A record she holds no grant on does not exist for her; no add, edit or policy change.
  EXPECT_EQ(as(alice_, "PUT", "/api/v1/records/payroll/favorite").status, 404);
  EXPECT_EQ(as(alice_, "POST", "/api/v1/records", "{\"name\":\"x\"}").status, 403);
  EXPECT_EQ(as(alice_, "PATCH", "/api/v1/records/" + billing, "{\"description\":\"x\"}").status,
            403);
  EXPECT_EQ(as(alice_, "PUT", "/api/v1/records/" + billing + "/policy", "{}").status, 403);
}

}  // namespace
}  // namespace pamproxy::admin
