#pragma once
// `pamctl login`'s file: who signed in through the identity provider, the REST API token the
// appliance issued for her and the refresh secret that renews it (docs/identity.md).
//
//   $XDG_CONFIG_HOME/pamctl/login.json, else ~/.config/pamctl/login.json
//   {"url": "https://pam.example.net:8443", "ca": "/home/ada/pam-ca.pem", "user": "Ada",
//    "token_id": "tok-...", "secret": "...", "expires_at": "2026-12-07T18:00:00Z",
//    "refresh": "...", "recheck_s": 300, "checked_at": "2026-12-07T10:00:00Z"}
//
// The directory is 0700 and the file 0600, written whole to a temporary file and renamed over
// the old one, so a reader sees the old login or the new one, never half of either. Writers
// (a refresh by credential-process, login, logout) hold an exclusive lock on login.json.lock
// while they read, ask the appliance and write, so two aws commands that both find the token due
// make one refresh, and the second uses its result.
//
// The secrets are never printed; a file readable by group or others is refused.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "admin_settings.h"

namespace pamproxy::cli {

struct LoginState {
  std::string url;
  std::string ca;  // "" = the system store
  std::string user;
  std::string token_id;
  std::string secret;
  absl::Time expires_at;
  std::string refresh;
  int64_t recheck_s = 300;
  absl::Time checked_at;
};

// The file's path for this environment, or "" when neither XDG_CONFIG_HOME nor HOME is set.
std::string login_path(const EnvLookup& env);

// InvalidArgument naming what is missing or malformed (never quoting a secret).
absl::StatusOr<LoginState> parse_login(std::string_view json);
std::string format_login(const LoginState& login);

// Whether the token is to be renewed now: within recheck_s of its end, or its last check by the
// provider at least recheck_s ago (so recheck_s = 0 renews at every use).
bool refresh_due(const LoginState& login, absl::Time now);

// Reads the file after checking it is the user's alone. NotFound when there is none.
absl::StatusOr<LoginState> read_login(const std::string& path);
// Writes it atomically (0600, its directory made 0700 when missing).
absl::Status write_login(const std::string& path, const LoginState& login);

// An exclusive lock on <path>.lock, released when it goes.
class LoginLock {
 public:
  explicit LoginLock(const std::string& path);
  ~LoginLock();
  LoginLock(const LoginLock&) = delete;
  LoginLock& operator=(const LoginLock&) = delete;
  bool locked() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace pamproxy::cli
