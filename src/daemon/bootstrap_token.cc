#include "bootstrap_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "pamproxy/base/log.h"

namespace pamproxy::daemon {
namespace {

// True when stdout is systemd's journal stream ($JOURNAL_STREAM names its device:inode).
bool stdout_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr) return false;
  struct stat st{};
  if (::fstat(STDOUT_FILENO, &st) != 0) return false;
  char own[64];
  std::snprintf(own, sizeof own, "%llu:%llu", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return std::string_view(js) == own;
}

bool write_private_file(const std::string& path, std::string_view text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

bool publish_bootstrap_token(const store::Bootstrap& bootstrap, const config::Paths& paths,
                             const config::Config& config) {
  const std::string file = paths.state_directory + "/bootstrap-admin-token";
  const std::string bearer = bootstrap.token.token.id + ":" + bootstrap.token.secret;
  if (!write_private_file(file, bearer + "\n")) {
    log::error("store.bootstrap_token_write_failed").kv("file", file).kv("error",
                                                                         std::strerror(errno));
    return false;
  }
  log::info("store.bootstrap_admin")
      .kv("user", bootstrap.admin.name)
      .kv("user_id", bootstrap.admin.id)
      .kv("token_id", bootstrap.token.token.id)
      .kv("token_file", file);
  if (stdout_is_journal()) return true;

  char cwd[4096];
  std::string dir = paths.state_directory;
  if (!dir.starts_with("/") && ::getcwd(cwd, sizeof cwd) != nullptr) dir = std::string(cwd) + "/" + dir;
  std::string ca = paths.ca_cert_file;
  if (!ca.starts_with("/") && ::getcwd(cwd, sizeof cwd) != nullptr) ca = std::string(cwd) + "/" + ca;
  std::printf(
      "\n"
      "pamproxy: first start. A bootstrap admin user '%s' and its REST API token were created.\n"
      "The token is shown only now; it is also in %s/bootstrap-admin-token (mode 0600).\n"
      "To manage the appliance with pamctl, export:\n"
      "\n"
      "  export PAMCTL_URL=https://%s\n"
      "  export PAMCTL_CA=%s\n"
      "  export PAMCTL_TOKEN='%s'\n"
      "\n",
      bootstrap.admin.name.c_str(), dir.c_str(), config.admin.listen.c_str(), ca.c_str(),
      bearer.c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace pamproxy::daemon
