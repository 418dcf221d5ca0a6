// pamctl records and policies end to end against a local HTTPS server: the call each command
// makes (method, percent-encoded path, body), secrets only from files, API errors shown as
// "<message> (<code>)" with exit 1, usage errors with exit 2.

#include <gtest/gtest.h>

#include <fstream>
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

constexpr char kRecord[] =
    R"({"id":"r-1","type":"aws-access-keys","name":"prod db","description":"","reference_record":null,)"
    R"("access_key_id":"AKIAEXAMPLE","secret_access_key_set":true,"session_token_set":false,)"
    R"("default_region":"eu-west-1","aws_account_id":"123456789012","tags":["prod"],"created_at":"2026-12-05T08:00:00Z",)"
    R"("updated_at":"2026-12-05T08:00:00Z"})";

TEST(CmdRecords, ShowEncodesTheReference) {
  CliEnv env;
  TlsTestServer server(json_answer(200, kRecord));
  auto r =
      run(run_records, {"show", "name:prod db", "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("GET /api/v1/records/name%3Aprod%20db HTTP/1.1\r\n", 0), 0u)
      << server.request();
  EXPECT_NE(r.out.find("name:                  prod db\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tags:                  prod\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("aws_account_id:        123456789012\n"), std::string::npos) << r.out;
}

TEST(CmdRecords, JsonPrintsTheAnswerOnOneLine) {
  CliEnv env;
  TlsTestServer server(json_answer(200, "{\n  \"id\": \"r-1\"\n}\n"));
  auto r =
      run(run_records, {"show", "r-1", "--json", "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(r.out, "{\"id\":\"r-1\"}\n");
}

TEST(CmdRecords, ListIsATable) {
  CliEnv env;
  TlsTestServer server(
      json_answer(200, std::string(R"({"items":[)") + kRecord + R"(],"next_cursor":"c2"})"));
  auto r =
      run(run_records, {"list", "--tag", "prod", "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("GET /api/v1/records?tag=prod HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(r.out,
            "ID   NAME     TYPE             ACCESS KEY ID  REGION     AWS ACCOUNT   TAGS\n"
            "r-1  prod db  aws-access-keys  AKIAEXAMPLE    eu-west-1  123456789012  prod\n");
  EXPECT_EQ(r.err, "(more: add --cursor c2)\n");
}

TEST(CmdRecords, ListFavoritesAsksForTheCallersStars) {
  CliEnv env;
  TlsTestServer server(json_answer(200, R"({"items":[]})"));
  auto r =
      run(run_records, {"list", "--favorites", "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("GET /api/v1/records?favorites=1 HTTP/1.1\r\n", 0), 0u)
      << server.request();
}

TEST(CmdRecords, FavoriteAndUnfavoritePutAndDeleteTheStar) {
  for (const auto& [action, method] :
       {std::pair<std::string, std::string>{"favorite", "PUT"},
        std::pair<std::string, std::string>{"unfavorite", "DELETE"}}) {
    CliEnv env;
    TlsTestServer server(json_answer(200, R"({"record_id":"r-1","favorite":true})"));
    auto r =
        run(run_records, {action, "name:prod db", "--url", server.url(), "--ca", server.ca_file()});
    EXPECT_EQ(r.rc, kExitOk) << r.err;
    EXPECT_EQ(server.request().rfind(
                  method + " /api/v1/records/name%3Aprod%20db/favorite HTTP/1.1\r\n", 0),
              0u)
        << server.request();
    EXPECT_NE(r.out.find("record_id:"), std::string::npos) << r.out;
  }
  CliEnv env;
  auto none = run(run_records, {"favorite"});
  EXPECT_EQ(none.rc, kExitUsage);
  EXPECT_NE(none.err.find("favorite takes one REF"), std::string::npos) << none.err;
}

TEST(CmdRecords, AddReadsTheSecretFromAFile) {
  CliEnv env;
  TlsTestServer server(json_answer(201, kRecord));
  std::string secret = env.dir() + "/secret";
  std::ofstream(secret) << "wJalrXUtnFEMI/K7MDENG\n";
  auto r = run(run_records, {"add", "--name", "prod db", "--access-key-id", "AKIAEXAMPLE",
                             "--secret-key-file", secret, "--tag", "prod", "--tag", "eu", "--url",
                             server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("POST /api/v1/records HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(body_of(server.request()),
            R"({"name":"prod db","access_key_id":"AKIAEXAMPLE",)"
            R"("secret_access_key":"wJalrXUtnFEMI/K7MDENG","tags":["prod","eu"]})");
  EXPECT_EQ(r.out.find("wJalr"), std::string::npos);
}

TEST(CmdRecords, EditSetsTheAwsAccountId) {
  CliEnv env;
  TlsTestServer server(json_answer(200, kRecord));
  // With --version the edit is sent at once, made from that version.
  auto r = run(run_records, {"edit", "r-1", "--aws-account-id", "123456789012", "--version", "3",
                             "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("PATCH /api/v1/records/r-1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(body_of(server.request()), R"({"aws_account_id":"123456789012","version":3})");
}

TEST(CmdRecords, SecretOnTheCommandLineIsRefused) {
  CliEnv env;
  auto r = run(run_records, {"add", "--name", "n", "--access-key-id", "K", "--secret-key", "S"});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("never taken from the command line"), std::string::npos) << r.err;
}

TEST(CmdRecords, EditWithNothingToChangeIsUsage) {
  CliEnv env;
  auto r = run(run_records, {"edit", "r-1"});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("nothing to change"), std::string::npos) << r.err;
}

TEST(CmdRecords, ApiErrorShownWithItsCode) {
  CliEnv env;
  TlsTestServer server(json_answer(
      404, R"({"error":{"code":"NotFound","message":"no record 'nope' you may view"}})"));
  auto r = run(run_records, {"rm", "nope", "--url", server.url(), "--ca", server.ca_file()});
  EXPECT_EQ(r.rc, kExitFailed);
  EXPECT_EQ(server.request().rfind("DELETE /api/v1/records/nope HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(r.err, "pamctl records rm: no record 'nope' you may view (NotFound)\n");
  EXPECT_EQ(r.out, "");
}

TEST(CmdRecords, NoTokenIsUsage) {
  CliEnv env;
  env.set("PAMCTL_TOKEN", std::nullopt);
  auto r = run(run_records, {"show", "r-1", "--url", "https://127.0.0.1:1"});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("no token"), std::string::npos) << r.err;
}

TEST(CmdRecords, UnknownActionOrFlagIsUsage) {
  CliEnv env;
  EXPECT_EQ(run(run_records, {}).rc, kExitUsage);
  EXPECT_EQ(run(run_records, {"frobnicate"}).rc, kExitUsage);
  EXPECT_EQ(run(run_records, {"show", "r-1", "--bogus"}).rc, kExitUsage);
  EXPECT_EQ(run(run_records, {"show"}).rc, kExitUsage);
  auto help = run(run_records, {"help"});
  EXPECT_EQ(help.rc, kExitOk);
  EXPECT_NE(help.out.find("usage: pamctl records list"), std::string::npos);
}

TEST(CmdPolicies, SetBuildsTheWholePolicyInOrder) {
  CliEnv env;
  TlsTestServer server(json_answer(200, R"({"record_id":"r-1"})"));
  auto r = run(run_policies, {"set",
                              "tag:prod",
                              "--window",
                              "Mon-Fri 08:00-18:00",
                              "--window",
                              "Sat 10:00-12:00",
                              "--time-zone",
                              "Europe/Berlin",
                              "--network",
                              "10.0.0.0/8",
                              "--allow",
                              "s3:Get*",
                              "--deny",
                              "s3:GetObjectAcl",
                              "--allow",
                              "s3:List*",
                              "--approval-required",
                              "--approver-role",
                              "ro-1",
                              "--approval-max",
                              "8h",
                              "--url",
                              server.url(),
                              "--ca",
                              server.ca_file()});
  EXPECT_EQ(r.rc, kExitOk) << r.err;
  EXPECT_EQ(server.request().rfind("PUT /api/v1/records/tag%3Aprod/policy HTTP/1.1\r\n", 0), 0u)
      << server.request();
  EXPECT_EQ(body_of(server.request()),
            R"({"windows":["Mon-Fri 08:00-18:00","Sat 10:00-12:00"],"time_zone":"Europe/Berlin",)"
            R"("allowed_networks":["10.0.0.0/8"],)"
            R"("approval":{"required":true,"approver_role_id":"ro-1","max_duration_s":28800},)"
            R"("command_rules":[{"effect":"allow","pattern":"s3:Get*"},)"
            R"({"effect":"deny","pattern":"s3:GetObjectAcl"},)"
            R"({"effect":"allow","pattern":"s3:List*"}]})");
}

TEST(CmdPolicies, BadDurationIsUsage) {
  CliEnv env;
  auto r = run(run_policies, {"set", "r-1", "--approval-max", "8 hours"});
  EXPECT_EQ(r.rc, kExitUsage);
  EXPECT_NE(r.err.find("--approval-max"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::cli
