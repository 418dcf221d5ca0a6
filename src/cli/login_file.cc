// `pamctl login`'s file (see login_file.h).

#include "login_file.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "pamproxy/base/json_writer.h"

namespace pamproxy::cli {
namespace {

constexpr size_t kLoginBytesMax = 64 * 1024;

std::string rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

std::string login_path(const EnvLookup& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) return *xdg + "/pamctl/login.json";
  if (auto home = env("HOME"); home && !home->empty()) return *home + "/.config/pamctl/login.json";
  return "";
}

absl::StatusOr<LoginState> parse_login(std::string_view json) {
  if (json.size() > kLoginBytesMax)
    return absl::InvalidArgumentError("the login file is too large");
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::object doc;
  if (parser.parse(padded).get_object().get(doc) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("the login file is not a JSON object");
  }
  LoginState login;
  struct Member {
    std::string_view name;
    std::string* out;
    bool required;
  };
  std::string expires, checked;
  for (const Member& m :
       {Member{"url", &login.url, true}, Member{"ca", &login.ca, false},
        Member{"user", &login.user, false}, Member{"token_id", &login.token_id, true},
        Member{"secret", &login.secret, true}, Member{"expires_at", &expires, true},
        Member{"refresh", &login.refresh, true}, Member{"checked_at", &checked, true}}) {
    std::string_view value;
    if (doc[m.name].get_string().get(value) != simdjson::SUCCESS) {
      if (!m.required && doc[m.name].error() == simdjson::NO_SUCH_FIELD) continue;
      return absl::InvalidArgumentError("the login file has no " + std::string(m.name));
    }
    if (m.required && value.empty()) {
      return absl::InvalidArgumentError("the login file's " + std::string(m.name) + " is empty");
    }
    *m.out = std::string(value);
  }
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, expires, &login.expires_at, &err)) {
    return absl::InvalidArgumentError("the login file's expires_at is not an RFC 3339 time");
  }
  if (!absl::ParseTime(absl::RFC3339_full, checked, &login.checked_at, &err)) {
    return absl::InvalidArgumentError("the login file's checked_at is not an RFC 3339 time");
  }
  int64_t recheck = 0;
  if (doc["recheck_s"].get_int64().get(recheck) != simdjson::SUCCESS || recheck < 0) {
    return absl::InvalidArgumentError("the login file's recheck_s is not a whole number >= 0");
  }
  login.recheck_s = recheck;
  return login;
}

std::string format_login(const LoginState& login) {
  JsonWriter w;
  w.begin_object()
      .key("url")
      .value(login.url)
      .key("ca")
      .value(login.ca)
      .key("user")
      .value(login.user)
      .key("token_id")
      .value(login.token_id)
      .key("secret")
      .value(login.secret)
      .key("expires_at")
      .value(rfc3339(login.expires_at))
      .key("refresh")
      .value(login.refresh)
      .key("recheck_s")
      .value(login.recheck_s)
      .key("checked_at")
      .value(rfc3339(login.checked_at))
      .end_object();
  return w.take() + "\n";
}

bool refresh_due(const LoginState& login, absl::Time now) {
  const absl::Duration recheck = absl::Seconds(login.recheck_s);
  return now + recheck >= login.expires_at || now - login.checked_at >= recheck;
}

absl::StatusOr<LoginState> read_login(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError("not signed in (no " + path + "): run pamctl login");
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(path + " is open to others: chmod 600 it");
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<LoginState> login = parse_login(ss.str());
  if (!login.ok()) {
    return absl::InvalidArgumentError(std::string(login.status().message()) + " (" + path +
                                      "): run pamctl login");
  }
  return login;
}

absl::Status write_login(const std::string& path, const LoginState& login) {
  const std::string dir = directory_of(path);
  // The parent of the pamctl directory (~/.config) may be missing too.
  ::mkdir(directory_of(dir).c_str(), 0700);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError("cannot make " + dir + ": " + std::strerror(errno));
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::PermissionDeniedError("cannot write " + tmp + ": " + std::strerror(errno));
  const std::string text = format_login(login);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::PermissionDeniedError("cannot write " + path);
  }
  return absl::OkStatus();
}

LoginLock::LoginLock(const std::string& path) {
  const std::string dir = directory_of(path);
  ::mkdir(directory_of(dir).c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);
  fd_ = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

LoginLock::~LoginLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace pamproxy::cli
