#pragma once
// The admin API's HTTPS server: one thread, non-blocking sockets under poll(), TLS through
// tls::Session over the connection's own buffers, requests parsed with the project's HTTP codec,
// each handed whole (head and body) to a handler that answers it.
//
//   auto server = Server::start(options, *runtime->admin_server,
//                               [&api](const ApiRequest& r) { return api.handle(r); });
//   ... server->port() ...  server.reset();   // stops and joins
//
// The admin API carries a few requests a second, not the data plane's load: one thread keeps it
// plain and keeps the store's calls on one thread. A request that must wait for a service outside
// the appliance (the identity provider, STS) never waits on that thread: its handler answers
// with ApiResponse::deferred, whose work runs on a small worker (work_threads threads,
// work_queued_max more waiting; beyond that the answer is 503 with Retry-After) while the
// thread serves everyone else, and whose finish step (store writes, the answer) runs back on the
// thread once the work is done. The connection reads nothing meanwhile and keeps its request
// deadline. Hostile clients are bounded: connections
// ([admin] connections_max; more wait in the kernel's backlog), head and body sizes, and a
// deadline for every wait (handshake, a request's arrival, idle keep-alive, a response's
// departure). Bodies must come with Content-Length (chunked is 411).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pamproxy/admin/api.h"
#include "pamproxy/tls/context.h"

namespace pamproxy::admin {

struct ServerOptions {
  std::string listen = "127.0.0.1:8443";  // ip:port; port 0 picks one (tests)
  size_t connections_max = 256;
  size_t head_bytes_max = 16384;
  size_t body_bytes_max = 1 << 20;
  int64_t handshake_timeout_ms = 10000;
  int64_t request_timeout_ms = 30000;  // from a request's first byte to its last
  int64_t idle_timeout_ms = 60000;     // between requests on a kept-alive connection
  int64_t write_timeout_ms = 30000;    // for an answer to leave
  size_t work_threads = 2;             // the worker that runs deferred answers' outbound calls
  size_t work_queued_max = 16;         // deferred answers waiting for a worker thread
};

using Handler = std::function<ApiResponse(const ApiRequest&)>;

class Server {
 public:
  // Binds and listens (errors name the address), then serves on its own thread.
  static absl::StatusOr<std::unique_ptr<Server>> start(ServerOptions options,
                                                       const tls::ServerContext& tls,
                                                       Handler handler);
  ~Server();  // stop() and join
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const { return port_; }
  // Any thread: new body cap and timeouts (a reload). The server thread takes them up before
  // its next event; connections_max, head_bytes_max and listen stay as started.
  void set_limits(size_t body_bytes_max, int64_t handshake_timeout_ms, int64_t request_timeout_ms,
                  int64_t idle_timeout_ms);
  // Stops accepting and closes every connection. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl, uint16_t port);
  std::unique_ptr<Impl> impl_;
  uint16_t port_;
};

}  // namespace pamproxy::admin
