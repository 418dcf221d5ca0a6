// Where pamctl's API commands take the URL, the token and the CA from: flags over the
// environment over the config file over the defaults; token files that others can read refused;
// URLs other than https refused; the secret never in an error.

#include "src/cli/admin_settings.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace pamproxy::cli {
namespace {

class TempDir {
 public:
  TempDir() {
    char path[] = "/tmp/pamctl-settings-test-XXXXXX";
    EXPECT_NE(::mkdtemp(path), nullptr);
    path_ = path;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    std::string file = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file) << text;
    ::chmod(file.c_str(), mode);
    return file;
  }

 private:
  std::string path_;
};

struct Env {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

// A home directory with ~/.config/pamctl/config.toml and a token file next to it.
struct Home {
  TempDir dir;
  Env env;
  Home() { env.vars["HOME"] = dir.path(); }
  std::string config(const std::string& text) {
    return dir.write(".config/pamctl/config.toml", text, 0644);
  }
};

TEST(AdminSettings, DefaultsWithoutAnything) {
  Home home;
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "127.0.0.1");
  EXPECT_EQ(s->url.port, 8443);
  EXPECT_EQ(s->url.prefix, "");
  EXPECT_EQ(s->ca_file, "");  // the system trust store
  EXPECT_FALSE(s->token);
  EXPECT_TRUE(s->token_problem_is_usage);
  EXPECT_NE(s->token_problem.find("--token-file"), std::string::npos) << s->token_problem;
}

TEST(AdminSettings, ConfigFileOverDefaults) {
  Home home;
  home.dir.write(".config/pamctl/token", "tok-cfg:s3cret-cfg\n");
  home.config(
      "url = \"https://pam.example.com:9443/\"\n"
      "token_file = \"token\"\n"  // relative: next to the config file
      "ca = \"~/ca.pem\"\n");
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "pam.example.com");
  EXPECT_EQ(s->url.port, 9443);
  EXPECT_EQ(s->ca_file, home.dir.path() + "/ca.pem");
  ASSERT_TRUE(s->token) << s->token_problem;
  EXPECT_EQ(s->token->id, "tok-cfg");
  EXPECT_EQ(s->token->secret, "s3cret-cfg");
}

TEST(AdminSettings, EnvironmentOverConfigFile) {
  Home home;
  home.dir.write(".config/pamctl/token", "tok-cfg:s3cret-cfg\n");
  home.config("url = \"https://cfg.example\"\ntoken_file = \"token\"\nca = \"/cfg/ca.pem\"\n");
  home.env.vars["PAMCTL_URL"] = "https://env.example:1234";
  home.env.vars["PAMCTL_TOKEN"] = "tok-env:s3cret-env";
  home.env.vars["PAMCTL_CA"] = "/env/ca.pem";
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "env.example");
  EXPECT_EQ(s->url.port, 1234);
  EXPECT_EQ(s->ca_file, "/env/ca.pem");
  ASSERT_TRUE(s->token);
  EXPECT_EQ(s->token->id, "tok-env");
}

TEST(AdminSettings, FlagsOverEnvironment) {
  Home home;
  home.env.vars["PAMCTL_URL"] = "https://env.example:1234";
  home.env.vars["PAMCTL_TOKEN"] = "tok-env:s3cret-env";
  home.env.vars["PAMCTL_CA"] = "/env/ca.pem";
  std::string token = home.dir.write("flag-token", "tok-flag:s3cret-flag");
  AdminFlags flags{"https://[::1]:8443", token, "/flag/ca.pem"};
  auto s = resolve_admin_settings(flags, home.env.lookup());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "::1");
  EXPECT_EQ(s->ca_file, "/flag/ca.pem");
  ASSERT_TRUE(s->token);
  EXPECT_EQ(s->token->id, "tok-flag");
  EXPECT_EQ(s->token->secret, "s3cret-flag");
}

TEST(AdminSettings, XdgConfigHomeWins) {
  Home home;
  TempDir xdg;
  xdg.write("pamctl/config.toml", "url = \"https://xdg.example\"\n", 0644);
  home.config("url = \"https://home.example\"\n");
  home.env.vars["XDG_CONFIG_HOME"] = xdg.path();
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "xdg.example");
}

TEST(AdminSettings, TokenFileOpenToOthersIsRefused) {
  Home home;
  for (mode_t mode : {0640, 0604, 0620}) {
    std::string token = home.dir.write("token", "tok-1:s3cret-open", mode);
    auto s = resolve_admin_settings({.token_file = token}, home.env.lookup());
    ASSERT_TRUE(s.ok()) << s.status();  // only calls that need the token fail
    EXPECT_FALSE(s->token);
    EXPECT_FALSE(s->token_problem_is_usage);
    EXPECT_NE(s->token_problem.find("chmod 600 it"), std::string::npos) << s->token_problem;
    EXPECT_EQ(s->token_problem.find("s3cret"), std::string::npos);
  }
  std::string token = home.dir.write("token", "tok-1:s3cret-open", 0400);
  auto s = resolve_admin_settings({.token_file = token}, home.env.lookup());
  ASSERT_TRUE(s.ok() && s->token) << s->token_problem;
}

TEST(AdminSettings, MalformedTokenNeverQuoted) {
  Home home;
  for (const char* text : {"s3cret-no-colon", ":s3cret-no-id", "tok-1:", "tok-1:s3cret\r\nX: y",
                           "tok-1:s3cret with space"}) {
    home.env.vars["PAMCTL_TOKEN"] = text;
    auto s = resolve_admin_settings({}, home.env.lookup());
    ASSERT_TRUE(s.ok());
    EXPECT_FALSE(s->token) << text;
    EXPECT_NE(s->token_problem.find("PAMCTL_TOKEN"), std::string::npos) << s->token_problem;
    EXPECT_EQ(s->token_problem.find("s3cret"), std::string::npos) << s->token_problem;
  }
}

TEST(AdminSettings, MissingTokenFileNamed) {
  Home home;
  home.config("token_file = \"/nonexistent/token\"\n");
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->token);
  EXPECT_NE(s->token_problem.find("/nonexistent/token"), std::string::npos);
}

TEST(AdminSettings, ConfigErrorsNameTheLine) {
  Home home;
  home.config("url = \"https://a.example\"\n\nurll = \"typo\"\n");
  auto s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("config.toml:3: unknown key 'urll'"), std::string::npos)
      << s.status();

  home.config("ca = 5\n");
  s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("config.toml:1: key 'ca'"), std::string::npos) << s.status();

  home.config("url = \"unterminated\n");
  s = resolve_admin_settings({}, home.env.lookup());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("syntax error"), std::string::npos) << s.status();
}

TEST(AdminSettings, ExplicitConfigPath) {
  Home home;
  std::string other = home.dir.write("other.toml", "url = \"https://other.example\"\n");
  auto s = resolve_admin_settings({}, home.env.lookup(), other);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->url.host, "other.example");
}

TEST(AdminUrl, Parses) {
  auto u = parse_admin_url("https://pam.example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 443);
  u = parse_admin_url("HTTPS://10.0.0.5:8443/pam/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->prefix, "/pam");
  u = parse_admin_url("https://[fe80::1]");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "fe80::1");
}

TEST(AdminUrl, Refuses) {
  for (const char* bad :
       {"http://127.0.0.1:8443", "127.0.0.1:8443", "https://", "https://:8443", "https://a:0",
        "https://a:65536", "https://a:x", "https://user:pw@a", "https://a/?x=1", "https://[::1",
        "https://[nope]:1", "https://a b", "https://a:"}) {
    EXPECT_FALSE(parse_admin_url(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pamproxy::cli
