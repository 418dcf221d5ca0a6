#pragma once
// Helpers shared by the tls unit tests: a CA and contexts made in memory, and an in-memory
// client/server pair whose ciphertext moves between two real OpenSSL sessions through the
// Session API, exactly as the engine drives it.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::tls::test_util {

// A CA, its leaf cache, a server context and a client context trusting that CA.
struct Fixture {
  std::shared_ptr<CertificateAuthority> ca;
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ClientContext> client;
  std::string ca_file;  // the CA PEM written to a temporary file (for ClientOptions and tools)

  static Fixture make(const ContextOptions& options = {});
  // The server context with `options`, the client context with `client_context`.
  static Fixture make(const ContextOptions& options, const ContextOptions& client_context);
  Fixture() = default;
  Fixture(Fixture&&) = default;
  Fixture& operator=(Fixture&& other);
  ~Fixture();
};

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A CA certificate (CA:TRUE, keyCertSign) for `key` named `name`, signed with `issuer_key` as
// `issuer`, or self-signed when `issuer` is null: an organisation's root and intermediate.
X509Ptr make_ca_cert(const std::string& name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key);

// An organisation's PKI whose intermediate is the appliance CA: `dir` gets ca.pem (the
// intermediate, then the root), ca.key and root.pem (what its clients trust).
struct OrganisationCa {
  X509Ptr root;
  X509Ptr intermediate;
  std::shared_ptr<LeafCache> leaves;  // minted by the intermediate
  std::string root_file;
};
absl::StatusOr<OrganisationCa> make_organisation_ca(const TempDir& dir);

// Moves ciphertext between two sessions until neither makes progress.
class Pair {
 public:
  Pair(Session& client, Session& server) : client_(client), server_(server) {}

  // Client's ClientHello, then ping-pong until quiet. Returns true when both are established.
  bool handshake();
  // Runs until quiet: every buffered ciphertext offered, every plaintext collected.
  void pump();
  // Encrypts `data` on one side (in pieces as large as `out_bytes` allows) and pumps.
  void client_sends(const std::string& data, size_t out_bytes = 32768);
  void server_sends(const std::string& data, size_t out_bytes = 32768);

  size_t plain_room = 16384;       // the plaintext buffer each receive() is given
  std::string client_plain;        // what the client decrypted
  std::string server_plain;        // what the server decrypted
  std::vector<uint8_t> to_server;  // ciphertext in flight
  std::vector<uint8_t> to_client;

 private:
  bool step(Session& s, std::vector<uint8_t>& in, std::vector<uint8_t>& out, std::string& plain);
  void sends(Session& s, std::vector<uint8_t>& wire, const std::string& data, size_t out_bytes);

  Session& client_;
  Session& server_;
};

}  // namespace pamproxy::tls::test_util
