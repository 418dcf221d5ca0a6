// `pamctl login`'s file: read back as written, refused by name when malformed or open to others,
// written atomically with 0600 in a 0700 directory; and when a token is due for renewal.

#include "src/cli/login_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace pamproxy::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

LoginState sample() {
  return LoginState{.url = "https://pam.example.net:8443",
                    .ca = "/home/ada/ca.pem",
                    .user = "Ada Lovelace",
                    .token_id = "tok-0123",
                    .secret = "s3cret",
                    .expires_at = kNow + absl::Hours(8),
                    .refresh = "r3fresh",
                    .recheck_s = 300,
                    .checked_at = kNow};
}

TEST(LoginFile, ReadsBackWhatItWrites) {
  absl::StatusOr<LoginState> back = parse_login(format_login(sample()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->url, "https://pam.example.net:8443");
  EXPECT_EQ(back->ca, "/home/ada/ca.pem");
  EXPECT_EQ(back->user, "Ada Lovelace");
  EXPECT_EQ(back->token_id, "tok-0123");
  EXPECT_EQ(back->secret, "s3cret");
  EXPECT_EQ(back->refresh, "r3fresh");
  EXPECT_EQ(back->expires_at, kNow + absl::Hours(8));
  EXPECT_EQ(back->checked_at, kNow);
  EXPECT_EQ(back->recheck_s, 300);
}

TEST(LoginFile, NamesWhatIsMissingWithoutQuotingSecrets) {
  for (const char* member : {"url", "token_id", "secret", "expires_at", "refresh", "checked_at"}) {
    std::string json = format_login(sample());
    const std::string key = std::string("\"") + member + "\":";
    json.replace(json.find(key), key.size(), "\"x_" + std::string(member) + "\":");
    absl::StatusOr<LoginState> parsed = parse_login(json);
    ASSERT_FALSE(parsed.ok()) << member;
    EXPECT_NE(parsed.status().message().find(member), std::string_view::npos) << parsed.status();
    EXPECT_EQ(parsed.status().message().find("s3cret"), std::string_view::npos);
  }
  EXPECT_FALSE(parse_login("[]").ok());
  std::string bad_time = format_login(sample());
  bad_time.replace(bad_time.find("\"expires_at\":\"") + 14, 4, "20xx");
  EXPECT_FALSE(parse_login(bad_time).ok());
}

TEST(LoginFile, RefreshIsDueNearTheEndOrAfterRecheck) {
  LoginState l = sample();
  EXPECT_FALSE(refresh_due(l, kNow + absl::Seconds(299)));
  EXPECT_TRUE(refresh_due(l, kNow + absl::Seconds(300)));  // last check too old
  l.checked_at = kNow + absl::Hours(8) - absl::Seconds(100);
  EXPECT_TRUE(refresh_due(l, kNow + absl::Hours(8) - absl::Seconds(100)));  // near the end
  l = sample();
  l.recheck_s = 0;
  EXPECT_TRUE(refresh_due(l, kNow));  // at every use
}

TEST(LoginFile, PathHonoursXdgConfigHome) {
  std::map<std::string, std::string> vars = {{"HOME", "/home/ada"}};
  EnvLookup env = [&](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(login_path(env), "/home/ada/.config/pamctl/login.json");
  vars["XDG_CONFIG_HOME"] = "/x";
  EXPECT_EQ(login_path(env), "/x/pamctl/login.json");
  vars.clear();
  EXPECT_EQ(login_path(env), "");
}

TEST(LoginFile, WritesPrivatelyAndRefusesAFileOthersCanRead) {
  char tmpl[] = "/tmp/pamctl-login-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/config/pamctl/login.json";
  {
    LoginLock lock(path);
    ASSERT_TRUE(lock.locked());
    ASSERT_TRUE(write_login(path, sample()).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((std::string(tmpl) + "/config/pamctl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  absl::StatusOr<LoginState> read = read_login(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->token_id, "tok-0123");
  ::chmod(path.c_str(), 0644);
  EXPECT_TRUE(absl::IsPermissionDenied(read_login(path).status()));
  EXPECT_TRUE(absl::IsNotFound(read_login(path + ".none").status()));
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace pamproxy::cli
