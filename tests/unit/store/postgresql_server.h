#pragma once
// A private PostgreSQL 15 for the store's tests: started once per test binary on first use
// (initdb in a temporary directory as the postgres user, trust authentication, 127.0.0.1 on a
// free port, pg_ctl -w start), stopped at exit; each test then gets a fresh database of its own
// (CREATE DATABASE, a copy of template1: milliseconds). When PostgreSQL cannot be started, the
// reason is the failure of every test that needs it: nothing is skipped silently.

#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

namespace pamproxy::store::testing {

class PostgresqlServer {
 public:
  static constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

  // The one server of this process, started on first use.
  static PostgresqlServer& get() {
    static PostgresqlServer* server = [] {
      auto* s = new PostgresqlServer();
      s->start();
      std::atexit([] { get().stop(); });
      return s;
    }();
    return *server;
  }

  // "" once running, else why not.
  const std::string& error() const { return error_; }

  // A connection string for a new, empty database ("" with error() set on failure).
  std::string create_database() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.empty()) return {};
    std::string name = "store_test_" + std::to_string(++databases_);
    std::string result = exec("postgres", "CREATE DATABASE " + name);
    if (!result.empty()) {
      error_ = "CREATE DATABASE failed: " + result;
      return {};
    }
    return conninfo(name);
  }

  // Sends `sig` to the postmaster, then to each of its children (the backends, each in a session
  // of its own): SIGSTOP pauses the server as a partition would (its connections stay open,
  // nothing answers), SIGCONT resumes it.
  void signal_all(int sig) const {
    std::ifstream pid_file(dir_ + "/data/postmaster.pid");
    pid_t postmaster = 0;
    if (!(pid_file >> postmaster) || postmaster <= 0) return;
    ::kill(postmaster, sig);
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      // "pid (comm) state ppid ...": the command may hold spaces and parentheses.
      const size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 1));
      std::string state;
      pid_t ppid = 0;
      if (rest >> state >> ppid && ppid == postmaster) ::kill(std::stoi(name), sig);
    }
  }

  // Runs `sql` in database `dbname`: "" on success, else the server's message.
  std::string exec(const std::string& dbname, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(dbname).c_str());
    std::string out;
    if (PQstatus(c) != CONNECTION_OK) {
      out = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      ExecStatusType st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) out = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

  // Every row of `sql`'s first column, joined with '|' (for looking at what is stored).
  std::string query(const std::string& dbname, const std::string& sql) const {
    PGconn* c = PQconnectdb(conninfo(dbname).c_str());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); ++i) {
        out += std::string(PQgetvalue(r, i, 0)) + "|";
      }
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }

  std::string conninfo(const std::string& dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=pamproxy dbname=" + dbname;
  }

 private:
  PostgresqlServer() = default;

  // As the postgres user when running as root (PostgreSQL refuses root), else as ourselves.
  std::string as_owner(const std::string& command) const {
    return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  }

  void start() {
    if (!std::filesystem::exists(std::string(kBin) + "/initdb")) {
      error_ = std::string("PostgreSQL 15 is not installed (no ") + kBin +
               "/initdb): apt-get install postgresql-15 (scripts/setup does)";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "pamproxy-pg-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr || chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "no postgres user to run PostgreSQL as (it refuses to run as root)";
        return;
      }
    }
    port_ = free_port();
    std::string initdb =
        as_owner(std::string(kBin) + "/initdb -D " + dir_ +
                 "/data -A trust -U pamproxy --no-locale -E UTF8 > " + dir_ + "/initdb.log 2>&1");
    if (std::system(initdb.c_str()) != 0) {
      error_ = "initdb failed; see " + dir_ + "/initdb.log";
      return;
    }
    std::string start =
        as_owner(std::string(kBin) + "/pg_ctl -D " + dir_ + "/data -o \"-k " + dir_ + " -p " +
                 std::to_string(port_) + " -c listen_addresses=127.0.0.1 -c fsync=off\" -l " +
                 dir_ + "/log -w start > /dev/null 2>&1");
    if (std::system(start.c_str()) != 0) {
      error_ = "pg_ctl start failed; see " + dir_ + "/log";
      return;
    }
    started_ = true;
  }

  void stop() {
    if (started_) {
      std::string stop = as_owner(std::string(kBin) + "/pg_ctl -D " + dir_ +
                                  "/data -m immediate stop > /dev/null 2>&1");
      if (std::system(stop.c_str()) != 0) return;  // leave the directory for a look
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }

  std::mutex mu_;
  std::string dir_;
  std::string error_;
  int port_ = 0;
  int databases_ = 0;
  bool started_ = false;
};

}  // namespace pamproxy::store::testing
