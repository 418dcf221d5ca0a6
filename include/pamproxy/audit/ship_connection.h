#pragma once
// The audit shipper's TLS client: one connection to the syslog collector, verified against the
// collector's CA and its name (the host of [audit] ship_syslog_address), and the one question
// RFC 5425 leaves open: when does the collector have the bytes? Syslog over TLS has no
// application acknowledgement, so a send counts as delivered when the collector's TCP has
// acknowledged every byte of it (the socket's send queue is empty) and the connection is still
// established. What the collector process does after that (its queue, its disk) is its own
// guarantee; the shipper additionally waits a short hold before it moves its cursor, so a
// collector that closes with unread data (a reset) makes the shipper resend.
//
// Blocking I/O on the shipper's thread, in slices of kSliceMs so `stop` is seen quickly; every
// wait is bounded by io_timeout_ms.

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pamproxy::audit {

struct ShipTlsOptions {
  std::string ca_file;    // the collector's CA (PEM); required
  std::string cert_file;  // client certificate (PEM); "" = none
  std::string key_file;   // its key; required with cert_file
};

// The OpenSSL context shared by every connection of one shipper.
class ShipTlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<ShipTlsContext>> create(const ShipTlsOptions& options);
  ~ShipTlsContext();
  ShipTlsContext(const ShipTlsContext&) = delete;
  ShipTlsContext& operator=(const ShipTlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit ShipTlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// host:port (a name, an IPv4 address or [IPv6]) split; false when it is not one.
bool split_host_port(std::string_view address, std::string* host, uint16_t* port);

class ShipConnection {
 public:
  static constexpr int kSliceMs = 100;

  // Resolves, connects and completes the handshake (the certificate verified) within
  // io_timeout_ms.
  static absl::StatusOr<std::unique_ptr<ShipConnection>> open(std::shared_ptr<ShipTlsContext> tls,
                                                              const std::string& host,
                                                              uint16_t port, int io_timeout_ms,
                                                              const std::atomic<bool>& stop);
  ~ShipConnection();
  ShipConnection(const ShipConnection&) = delete;
  ShipConnection& operator=(const ShipConnection&) = delete;

  // Writes all of `bytes`, then waits until the collector's TCP has acknowledged them.
  absl::Status send(std::string_view bytes, int io_timeout_ms, const std::atomic<bool>& stop);

  // True once the collector has closed or reset the connection (it never sends data of its own;
  // TLS records such as session tickets are read and dropped).
  bool peer_closed();

 private:
  ShipConnection(std::shared_ptr<ShipTlsContext> tls, int fd, SSL* ssl)
      : tls_(std::move(tls)), fd_(fd), ssl_(ssl) {}
  absl::Status wait_acknowledged(int io_timeout_ms, const std::atomic<bool>& stop);

  std::shared_ptr<ShipTlsContext> tls_;
  int fd_;
  SSL* ssl_;
};

}  // namespace pamproxy::audit
