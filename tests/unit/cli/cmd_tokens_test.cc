// pamctl tokens and requests end to end against a local HTTPS server: the bearer shown once or
// saved 0600, never both; the bodies of the calls.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
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

constexpr char kCreated[] =
    R"({"id":"t-9","name":"laptop","user_id":"u-1","created_at":"2026-12-05T08:00:00Z",)"
    R"("expires_at":"2027-01-04T08:00:00Z","allowed_networks":["10.0.0.0/8"],"revoked":false,)"
    R"("revoked_at":null,"last_used_at":null,"secret":"NEWSECRET","bearer":"t-9:NEWSECRET"})";

TEST(CmdTokens, CreateShowsTheBearerOnce) {
  CliEnv env;
  TlsTestServer server(json_answer(201, kCreated));
  auto r = run(run_tokens, {"create", "laptop", "--expires-in", "30d", "--network", "10.0.0.0/8",
                            "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(body_of(server.request()),
            R"({"name":"laptop","expires_in_s":2592000,"allowed_networks":["10.0.0.0/8"]})");
  EXPECT_NE(r.out.find("\n  t-9:NEWSECRET\n"), std::string::npos) << r.out;
  // Once: not also as the "secret" or "bearer" fields.
  EXPECT_EQ(r.out.find("NEWSECRET"), r.out.rfind("NEWSECRET"));
  EXPECT_NE(r.out.find("id:"), std::string::npos);
}

TEST(CmdTokens, CreateSavesTheBearer0600) {
  CliEnv env;
  TlsTestServer server(json_answer(201, kCreated));
  const std::string file = env.dir() + "/token";
  std::ofstream(file) << "old-token:old\n";
  ::chmod(file.c_str(), 0644);
  auto r = run(run_tokens, {"create", "laptop", "--save", file, "--url", server.url(), "--ca",
                            server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(r.out.find("NEWSECRET"), std::string::npos) << r.out;
  std::stringstream saved;
  saved << std::ifstream(file).rdbuf();
  EXPECT_EQ(saved.str(), "t-9:NEWSECRET\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(CmdTokens, FailedCreateLeavesTheSaveFileAlone) {
  CliEnv env;
  TlsTestServer server(
      json_answer(403, R"({"error":{"code":"Forbidden","message":"only admins"}})"));
  const std::string file = env.dir() + "/token";
  std::ofstream(file) << "old-token:old\n";
  auto r = run(run_tokens, {"create", "x", "--user", "u-2", "--save", file, "--url", server.url(),
                            "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitFailed);
  EXPECT_EQ(r.err, "pamctl tokens create: only admins (Forbidden)\n");
  std::stringstream saved;
  saved << std::ifstream(file).rdbuf();
  EXPECT_EQ(saved.str(), "old-token:old\n");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(env.dir())) ++files;
  EXPECT_EQ(files, 1u);  // no temporary file left behind
}

TEST(CmdRequests, CreateAndApproveBodies) {
  CliEnv env;
  {
    TlsTestServer server(json_answer(201, R"({"id":"q-1","state":"pending"})"));
    auto r = run(run_requests,
                 {"create", "name:prod db", "--reason", "INC-42", "--duration", "2h", "--start",
                  "2026-12-05T09:00:00+01:00", "--url", server.url(), "--ca", server.ca_file()});
    EXPECT_EQ(r.rc, kExitOk) << r.err;
    EXPECT_EQ(body_of(server.request()),
              R"({"record":"name:prod db","start_at":"2026-12-05T08:00:00Z","duration_s":7200,)"
              R"("reason":"INC-42"})");
  }
  {
    TlsTestServer server(json_answer(200, R"({"id":"q-1","state":"approved"})"));
    auto r = run(run_requests, {"approve", "q-1", "--note", "ok", "--url", server.url(), "--ca",
                                server.ca_file()});
    EXPECT_EQ(r.rc, kExitOk) << r.err;
    EXPECT_EQ(server.request().rfind("POST /api/v1/requests/q-1/approve HTTP/1.1\r\n", 0), 0u);
    EXPECT_EQ(body_of(server.request()), R"({"note":"ok"})");
    EXPECT_NE(r.out.find("state: approved"), std::string::npos) << r.out;
  }
}

TEST(CmdRequests, RevokeTakesNoNote) {
  CliEnv env;
  EXPECT_EQ(run(run_requests, {"revoke", "q-1", "--note", "x"}).rc, kExitUsage);
  EXPECT_EQ(run(run_requests, {"create", "r-1"}).rc, kExitUsage);  // no --reason
}

}  // namespace
}  // namespace pamproxy::cli
