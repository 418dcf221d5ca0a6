// The listener's thread (change_listener.h): connect, LISTEN, wait on the socket; on a broken
// connection reconnect at once, then with a doubling backoff.

#include "src/store/change_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::store {

using policy::cat;

namespace {

constexpr int64_t kBackoffMinMs = 100;
constexpr int64_t kBackoffMaxMs = 2000;

using Clock = std::chrono::steady_clock;
using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

int64_t ms_until(Clock::time_point t) {
  auto d = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();  // not early
  return std::max<int64_t>(0, d);
}

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s.empty() ? std::string("connection lost") : s;
}

}  // namespace

ChangeListener::ChangeListener(ChangeListenerOptions options) : options_(std::move(options)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  PAMPROXY_CHECK(stop_fd_ >= 0);
}

ChangeListener::~ChangeListener() {
  stop();
  ::close(stop_fd_);
}

void ChangeListener::start() {
  PAMPROXY_CHECK(!thread_.joinable());
  thread_ = std::thread([this] { run(); });
}

void ChangeListener::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  uint64_t one = 1;
  ssize_t n = ::write(stop_fd_, &one, sizeof one);
  (void)n;
  thread_.join();
}

bool ChangeListener::wait_for_stop(int64_t ms) {
  pollfd p{stop_fd_, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 60'000)));
  return stopping_.load();
}

namespace {

// Waits until the socket is ready for what `events` asks, the stop fd fires or `deadline`
// passes. 1: ready; 0: deadline; -1: stop.
int wait_socket(int sock, short events, int stop_fd, Clock::time_point deadline) {
  for (;;) {
    pollfd p[2] = {{sock, events, 0}, {stop_fd, POLLIN, 0}};
    int n = ::poll(p, 2, static_cast<int>(ms_until(deadline)));
    if (n < 0 && errno == EINTR) continue;
    if (p[1].revents != 0) return -1;
    if (n <= 0) return 0;
    return 1;
  }
}

// A non-blocking connect bounded by the connect timeout; nullptr with `error` on failure or stop.
Conn connect(const ChangeListenerOptions& o, int stop_fd, std::string* error) {
  // Keepalives find a server that vanished without closing the socket (a lost network) within
  // about 10 s; the connection string's own keys win (expand_dbname).
  const char* keys[] = {"keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          nullptr};
  const char* values[] = {"1", "4", "2", "3", o.conninfo.c_str(), nullptr};
  Conn conn(PQconnectStartParams(keys, values, /*expand_dbname=*/1), &PQfinish);
  if (conn == nullptr) {
    *error = "out of memory";
    return Conn(nullptr, &PQfinish);
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(conn.get()) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
         st != PGRES_POLLING_FAILED) {
    int ready = wait_socket(PQsocket(conn.get()), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                            stop_fd, deadline);
    if (ready <= 0) {
      *error = ready == 0 ? cat("no answer within ", o.connect_timeout_ms, " ms") : "stopping";
      return Conn(nullptr, &PQfinish);
    }
    st = PQconnectPoll(conn.get());
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    *error = first_line(PQerrorMessage(conn.get()));
    return Conn(nullptr, &PQfinish);
  }
  // The server's notices (and its goodbye when it shuts down) are not for stderr: the state
  // changes are logged once each by the store.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

// Sends LISTEN and reads its answer, bounded by the connect timeout.
bool listen(PGconn* conn, const ChangeListenerOptions& o, int stop_fd, std::string* error) {
  std::string sql = cat("LISTEN ", kChangeChannel);
  if (PQsendQuery(conn, sql.c_str()) == 0) {
    *error = first_line(PQerrorMessage(conn));
    return false;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
  bool ok = true;
  for (;;) {
    while (PQisBusy(conn) == 0) {
      PGresult* r = PQgetResult(conn);
      if (r == nullptr) return ok;
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        ok = false;
        *error = first_line(PQresultErrorMessage(r));
      }
      PQclear(r);
    }
    int ready = wait_socket(PQsocket(conn), POLLIN, stop_fd, deadline);
    if (ready <= 0) {
      *error =
          ready == 0 ? cat("no answer to LISTEN within ", o.connect_timeout_ms, " ms") : "stopping";
      return false;
    }
    if (PQconsumeInput(conn) == 0) {
      *error = first_line(PQerrorMessage(conn));
      return false;
    }
  }
}

}  // namespace

void ChangeListener::run() {
  int64_t backoff_ms = 0;  // none for the first attempt after a break: it may be a blip
  while (!stopping_.load()) {
    std::string error;
    Conn conn = connect(options_, stop_fd_, &error);
    if (conn != nullptr && !listen(conn.get(), options_, stop_fd_, &error)) conn.reset();
    if (stopping_.load()) return;
    // Notifications sent while this node had no listening connection are gone: compare now. The
    // store's own connection must answer too, or the database is not reachable for this node.
    if (conn != nullptr && !options_.check()) {
      conn.reset();
      error = "the store's connection did not answer";
    }
    if (conn == nullptr) {
      options_.reachability(false, error);
      if (wait_for_stop(backoff_ms)) return;
      backoff_ms = std::clamp(backoff_ms * 2, kBackoffMinMs, kBackoffMaxMs);
      continue;
    }
    backoff_ms = 0;
    options_.reachability(true, "");
    bool answered = true;
    auto next_check = Clock::now() + std::chrono::milliseconds(options_.check_interval_ms);
    const int sock = PQsocket(conn.get());
    while (answered && !stopping_.load()) {
      int ready = wait_socket(sock, POLLIN, stop_fd_, next_check);
      if (ready < 0) return;
      bool due = ready == 0;
      if (ready > 0) {
        if (PQconsumeInput(conn.get()) == 0 || PQstatus(conn.get()) != CONNECTION_OK) {
          error = first_line(PQerrorMessage(conn.get()));
          break;
        }
        while (PGnotify* n = PQnotifies(conn.get())) {
          PQfreemem(n);
          due = true;
        }
      }
      if (!due) continue;
      answered = options_.check();
      // The store's connection may have found the database away meanwhile (a statement left
      // unanswered): an answer here is what brings it back.
      if (answered) options_.reachability(true, "");
      next_check = Clock::now() + std::chrono::milliseconds(options_.check_interval_ms);
    }
    // The connection broke (or the store's own one did not answer): reconnect, at once the first
    // time; only a failed reconnect makes the database unreachable.
  }
}

}  // namespace pamproxy::store
