// Fuzz target: a TLS 1.3 session whose records pamproxy opens itself (own_records), fed what an
// authenticated peer can send: records sealed with the peer's real key holding any inner type
// and content (application data, alerts, post-handshake messages, KeyUpdates, padding), mixed
// with raw bytes on the wire, arriving in slices of any size. The session must deliver exactly
// the application data sealed, in order, until it stops (closed, or failed with a reason); never
// more, never anything after bytes nobody sealed; no crash, no consumption beyond the input, no
// output beyond the buffer.
//
// Input: byte 0 picks the slice size; then operations, each [op][length: 2 bytes][content]:
//   op < 0x80: a record of inner type `op` (mapped: 0-3 application data, 4 alert, 5 handshake,
//              6 none: the content's own last non-zero byte becomes the type, as padding
//              rules say; others as they are) sealed by the peer; a handshake record that is
//              exactly a KeyUpdate moves the peer to its next key, as a real peer would;
//   op >= 0x80: the content as raw bytes on the wire.

#include <openssl/ssl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/session.h"
#include "src/tls/records.h"

namespace {

using namespace pamproxy::tls;

void check(bool ok) {
  if (!ok) std::abort();
}

// The client's application traffic secret, from its key log (the peer is OpenSSL's side).
uint8_t g_client_secret[48];
size_t g_client_secret_len = 0;

void keylog(const SSL*, const char* line) {
  const char* label = "CLIENT_TRAFFIC_SECRET_0 ";
  if (std::strncmp(line, label, std::strlen(label)) != 0) return;
  const char* hex = std::strchr(line + std::strlen(label), ' ');
  if (hex == nullptr) return;
  ++hex;
  size_t n = std::strlen(hex) / 2;
  if (n > sizeof(g_client_secret)) return;
  for (size_t i = 0; i < n; ++i) {
    unsigned v = 0;
    check(std::sscanf(hex + 2 * i, "%2x", &v) == 1);
    g_client_secret[i] = static_cast<uint8_t>(v);
  }
  g_client_secret_len = n;
}

struct Env {
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ClientContext> client;
};

Env* make_env() {
  auto* env = new Env;
  auto ca = CertificateAuthority::generate("fuzz CA");
  check(ca.ok());
  X509Ptr ca_cert = share((*ca)->cert());
  auto leaves = LeafCache::create(std::move(*ca), 4, 1);
  check(leaves.ok());
  env->leaves = *leaves;
  ContextOptions own;
  own.own_records = true;
  auto server = ServerContext::create(env->leaves, own);
  check(server.ok());
  env->server = std::move(*server);
  // The peer trusts the fuzz CA: the system store, with it added.
  auto client = ClientContext::create(ClientOptions{});
  check(client.ok());
  env->client = std::move(*client);
  check(X509_STORE_add_cert(SSL_CTX_get_cert_store(env->client->native()), ca_cert.get()) == 1);
  SSL_CTX_set_keylog_callback(env->client->native(), keylog);
  return env;
}

// Moves bytes between the two sessions until both are established (or one fails).
bool handshake(Session& client, Session& server) {
  std::vector<uint8_t> to_server;
  std::vector<uint8_t> to_client;
  uint8_t out[16384];
  uint8_t plain[1024];
  to_server.assign(out, out + client.start(out));
  for (int round = 0; round < 20; ++round) {
    IoResult r = server.receive(to_server, plain, out);
    to_server.erase(to_server.begin(), to_server.begin() + r.cipher_consumed);
    to_client.insert(to_client.end(), out, out + r.cipher_bytes);
    r = client.receive(to_client, plain, out);
    to_client.erase(to_client.begin(), to_client.begin() + r.cipher_consumed);
    to_server.insert(to_server.end(), out, out + r.cipher_bytes);
    if (client.state() == State::kEstablished && server.state() == State::kEstablished &&
        to_server.empty() && to_client.empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = make_env();
  if (size == 0) return 0;
  const size_t slice = 1 + data[0] % 64 * (data[0] >= 128 ? 512 : 1);
  ++data;
  --size;

  auto server = Session::server(*env->server);
  auto client = Session::client(*env->client, "s3.amazonaws.com", 443);
  check(server.ok() && client.ok());
  (*server)->set_expected_host("s3.amazonaws.com");
  g_client_secret_len = 0;
  check(handshake(**client, **server));
  check((*server)->own_records() && g_client_secret_len == 32);  // TLS_AES_128_GCM_SHA256

  // The peer's sealing, with its real key; the wire; what the session must deliver.
  RecordProtection peer;
  check(peer.init(0x1301, g_client_secret, g_client_secret_len, 0, true));
  std::vector<uint8_t> wire;
  std::string expected;
  bool raw_seen = false;
  std::vector<uint8_t> sealed(RecordProtection::kMaxPlain + RecordProtection::kOverhead);
  while (size >= 3) {
    const uint8_t op = data[0];
    size_t length = (size_t{data[1]} << 8 | data[2]) % (RecordProtection::kMaxPlain + 1);
    data += 3;
    size -= 3;
    if (length > size) length = size;
    const uint8_t* content = data;
    data += length;
    size -= length;
    if (op >= 0x80) {
      wire.insert(wire.end(), content, content + length);
      raw_seen = raw_seen || length > 0;
      continue;
    }
    const uint8_t type = op < 4 ? 23 : op == 4 ? 21 : op == 5 ? 22 : op == 6 ? 0 : op;
    const size_t n = peer.seal(type, {content, length}, sealed.data());
    check(n == length + RecordProtection::kOverhead);
    wire.insert(wire.end(), sealed.begin(), sealed.begin() + n);
    // What the receiver reads in it (RFC 8446 5.4): the last non-zero byte of content || type is
    // the type, the zeros after it padding.
    size_t end = length + 1;
    auto inner = [&](size_t i) { return i < length ? content[i] : type; };
    while (end > 0 && inner(end - 1) == 0) --end;
    if (end == 0) continue;  // all padding: the session fails on it
    const uint8_t real_type = inner(end - 1);
    const size_t real_length = end - 1;
    if (real_type == 23 && !raw_seen) {
      expected.append(reinterpret_cast<const char*>(content), real_length);
    }
    if (real_type == 22 && real_length == 5 && content[0] == 24 && content[1] == 0 &&
        content[2] == 0 && content[3] == 1) {
      check(peer.update());
    }
  }

  // The wire into the session in slices; what comes out is compared with what went in.
  static uint8_t plain[64 * 1024];
  static uint8_t out[Session::kReceiveOutputMin * 2];
  std::string delivered;
  Session& s = **server;
  size_t off = 0;
  for (int guard = 0; guard < 1 << 20 && s.state() == State::kEstablished; ++guard) {
    const size_t n = wire.size() - off < slice ? wire.size() - off : slice;
    if (n == 0 && !s.has_buffered_plaintext()) break;
    IoResult r = s.receive({wire.data() + off, n}, {plain, 1 + guard % sizeof(plain)}, out);
    check(r.cipher_consumed <= n);
    check(r.cipher_bytes <= sizeof(out));
    check(r.plain_bytes <= sizeof(plain));
    delivered.append(reinterpret_cast<const char*>(plain), r.plain_bytes);
    off += r.cipher_consumed;
    // Every call takes input or hands out plaintext, or has stopped for good.
    check(r.cipher_consumed > 0 || r.plain_bytes > 0 || s.state() != State::kEstablished);
    if (s.has_pending_output()) s.flush(out);
  }
  if (s.state() == State::kError)
    check(s.failure() != Failure::kNone && !s.failure_detail().empty());
  // Never a byte nobody sealed as application data, never out of order.
  check(delivered.size() <= expected.size() &&
        std::memcmp(delivered.data(), expected.data(), delivered.size()) == 0);
  // Everything, when nothing stopped it.
  if (!raw_seen && s.state() == State::kEstablished) check(delivered == expected);
  return 0;
}
