#pragma once
// What the command tests share: an environment of their own for pamctl's settings (restored
// afterwards), and running a command family with its stdout and stderr captured.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pamproxy::cli::test_util {

// A complete HTTP/1.1 answer with a JSON body, as the test server sends it.
inline std::string json_answer(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// The body of a request the test server received.
inline std::string body_of(const std::string& request) {
  size_t end = request.find("\r\n\r\n");
  return end == std::string::npos ? "" : request.substr(end + 4);
}

// Sets PAMCTL_TOKEN and points the config file at an empty directory; unsets the other PAMCTL_*
// variables. The previous values come back at destruction.
class CliEnv {
 public:
  CliEnv() {
    char path[] = "/tmp/pamctl-cli-test-XXXXXX";
    EXPECT_NE(::mkdtemp(path), nullptr);
    dir_ = path;
    set("XDG_CONFIG_HOME", dir_);
    set("PAMCTL_TOKEN", "tok-1:s3cret-value");
    set("PAMCTL_URL", std::nullopt);
    set("PAMCTL_CA", std::nullopt);
  }
  ~CliEnv() {
    for (const auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
    std::filesystem::remove_all(dir_);
  }
  void set(const std::string& name, const std::optional<std::string>& value) {
    if (!saved_.contains(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, std::optional<std::string>> saved_;
};

struct Run {
  int rc;
  std::string out;
  std::string err;
};

inline Run run(int (*family)(const std::vector<std::string>&), std::vector<std::string> args) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  int rc = family(args);
  std::fflush(stdout);
  std::fflush(stderr);
  Run r{rc, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return r;
}

}  // namespace pamproxy::cli::test_util
