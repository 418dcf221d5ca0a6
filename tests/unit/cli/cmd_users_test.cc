// pamctl users disable|enable against a local HTTPS server: the call each one makes, and the
// usage errors.

#include <gtest/gtest.h>

#include <string>

#include "cli_env.h"
#include "src/cli/commands.h"
#include "tls_test_server.h"

namespace pamproxy::cli {
namespace {

using test_util::body_of;
using test_util::CliEnv;
using test_util::json_answer;
using test_util::run;
using test_util::TlsTestServer;

constexpr char kUser[] = R"({"id":"u-1","name":"alice","admin":false,"email":"","disabled":true,)"
                         R"("created_at":"2026-12-05T08:00:00Z"})";

TEST(CmdUsers, DisableAndEnableSendTheFlagForTheUserNamed) {
  CliEnv env;
  for (const char* action : {"disable", "enable"}) {
    TlsTestServer server(json_answer(200, kUser));
    auto r = run(run_users, {action, "alice", "--url", server.url(), "--ca", server.ca_file()});
    EXPECT_EQ(r.rc, kExitOk) << r.err;
    EXPECT_EQ(server.request().rfind("PATCH /api/v1/users/alice HTTP/1.1\r\n", 0), 0u)
        << server.request();
    EXPECT_EQ(body_of(server.request()), std::string(R"({"disabled":)") +
                                             (std::string(action) == "disable" ? "true" : "false") +
                                             "}");
  }
}

TEST(CmdUsers, DisableTakesOneUserAndNoFlagOfItsOwn) {
  CliEnv env;
  EXPECT_NE(run(run_users, {"disable"}).rc, kExitOk);
  EXPECT_NE(run(run_users, {"enable", "alice", "bob"}).rc, kExitOk);
  EXPECT_NE(run(run_users, {"disable", "alice", "--admin", "true"}).rc, kExitOk);
}

}  // namespace
}  // namespace pamproxy::cli
