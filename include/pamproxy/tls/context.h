#pragma once
// The SSL_CTX objects of the data plane and the admin API. One of each per process, shared by all
// workers: OpenSSL 3.0 makes creating a context expensive (algorithm fetches, store loads), and a
// shared context also shares the server's session-ticket keys, so a client resumes on any worker.
//
//   ServerContext  terminates the client's TLS: TLS 1.2 (AEAD suites only) and 1.3, ALPN
//                  http/1.1, certificate chosen per SNI from the LeafCache (SNI checked against
//                  the CONNECT host first: see Session::set_expected_host), or one fixed
//                  certificate (admin API).
//   ClientContext  talks to the real endpoint: the chain verified against the system store or
//                  [tls] upstream_ca_file, host name checked, SNI and ALPN http/1.1 sent, and a
//                  bounded per-host session cache so reconnects resume.
//
// Never: offers non-AEAD suites, renegotiation, compression or early data.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pamproxy/config/config.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::tls {

struct ContextOptions {
  config::TlsVersion min_version = config::TlsVersion::k1_2;
  // Record the handshake secrets in each Session so their keys can be handed to the kernel
  // (kTLS). Off unless the engine will use kTLS: it costs a little per handshake.
  bool capture_secrets = false;
  // SSL_MODE_RELEASE_BUFFERS: OpenSSL frees its 16 KiB read and write buffers whenever they
  // empty, i.e. after nearly every record: a malloc/free pair per record while streaming, for
  // ~14 KiB instead of ~47 KiB per idle server session (bench/RESULTS.md; its throughput cost
  // was lost in measurement noise). Off by default: Session::release_buffers() when a tunnel goes
  // idle gets the same saving without touching the streaming path.
  bool release_idle_buffers = false;
  // After a TLS 1.3 handshake with one of its three standard suites, records are sealed and
  // opened by pamproxy (src/tls/records.h) instead of OpenSSL's record layer: received records
  // are decrypted straight into the caller's plaintext buffer and sent ones encrypted straight
  // into its output, so the cipher is the only pass over relayed bytes. The handshake stays
  // OpenSSL's (its secrets are captured for this). The engine turns it on when the kernel does
  // not take the records (kTLS); TLS 1.2 sessions keep OpenSSL's record layer.
  bool own_records = false;
  // A server session answers the common TLS 1.3 ClientHello itself (src/tls/own_handshake.h:
  // X25519, ECDSA P-256, AES-128-GCM or ChaCha20-Poly1305, no tickets) and leaves every other
  // one to OpenSSL. Its records are then pamproxy's (as with own_records) until the kernel
  // takes them: traffic_keys() hands them over. A minted-leaf context only.
  bool own_handshake = false;
};

class ServerContext {
 public:
  // Certificates minted per SNI host from `leaves`.
  static absl::StatusOr<std::unique_ptr<ServerContext>> create(std::shared_ptr<LeafCache> leaves,
                                                               const ContextOptions& options);
  // One fixed certificate and key for every connection (the admin API); `chain` is sent after
  // the certificate (its issuers, without the root).
  static absl::StatusOr<std::unique_ptr<ServerContext>> create_fixed(
      X509Ptr cert, EvpPkeyPtr key, const ContextOptions& options,
      const std::vector<X509Ptr>& chain = {});

  SSL_CTX* native() const { return ctx_.get(); }
  LeafCache* leaves() const { return leaves_.get(); }  // null for a fixed context
  const ContextOptions& options() const { return options_; }

 private:
  ServerContext(SslCtxPtr ctx, std::shared_ptr<LeafCache> leaves, const ContextOptions& options);

  SslCtxPtr ctx_;
  std::shared_ptr<LeafCache> leaves_;
  ContextOptions options_;
};

struct ClientOptions {
  ContextOptions context;
  std::string ca_file;  // "" = the system trust store
  size_t session_cache_entries = 1024;
};

class ClientContext {
 public:
  static absl::StatusOr<std::unique_ptr<ClientContext>> create(const ClientOptions& options);

  SSL_CTX* native() const { return ctx_.get(); }
  const ContextOptions& options() const { return options_.context; }

  // The session cache, keyed by "host:port". Thread-safe; touched once per handshake, never per
  // request. `take` hands out a new reference (null when none).
  SslSessionPtr take_session(std::string_view key);
  void store_session(std::string_view key, SslSessionPtr session);
  void forget_session(std::string_view key);
  size_t cached_sessions() const;

 private:
  ClientContext(SslCtxPtr ctx, const ClientOptions& options);

  SslCtxPtr ctx_;
  ClientOptions options_;

  using Order = std::list<std::string>;
  struct Entry {
    SslSessionPtr session;
    Order::iterator position;
  };
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> sessions_;  // guarded by mu_
  Order order_;                                       // guarded by mu_, most recent first
};

// Fetches, once per process, the algorithms every handshake uses (digests, AEAD ciphers, key
// exchange, signatures, KDFs) and keeps them referenced, so handshakes find them in OpenSSL 3.0's
// method cache instead of constructing them. Idempotent and thread-safe; called by create().
void prefetch_algorithms();

}  // namespace pamproxy::tls
