// Fuzz target: pamproxy's own TLS 1.3 server handshake (ContextOptions::own_handshake).
//
// Input: a slice size byte (records split across reads), a mode byte, then
//   mode even: the client's first flight, any bytes: a ClientHello the own path serves, one it
//              leaves to OpenSSL, or garbage; then the rest as the client's second flight.
//   mode odd:  a real OpenSSL client's ClientHello answered by the own path; the client reads
//              the server's flight, and the input then builds what the client sends back, op by
//              op: 0 the client's real reply (ChangeCipherSpec, Finished), 1 raw bytes, 2 a
//              record sealed with the client's real handshake key of any inner type and content,
//              3 the client's real Finished sealed again.
// Checks: consumed counts and outputs within bounds, no plaintext before the handshake ends, an
// error always says why, and the server is established only after the client's real Finished
// (ops 0 or 3): a forged or mangled Finished is never taken.

#include <openssl/ssl.h>

#include <cstdint>
#include <cstdlib>
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

constexpr char kHost[] = "s3.amazonaws.com";

std::string g_client_hs_secret;

void keylog(const SSL*, const char* line) {
  std::string_view text(line);
  if (text.rfind("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 0) != 0) return;
  std::string_view hex = text.substr(text.rfind(' ') + 1);
  g_client_hs_secret.clear();
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    g_client_hs_secret.push_back(
        static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
}

struct Env {
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ClientContext> client;
};

Env* make_env() {
  auto* env = new Env;
  auto ca = CertificateAuthority::generate("fuzz CA");
  if (!ca.ok()) std::abort();
  auto leaves = LeafCache::create(std::move(*ca), 4, 1);
  if (!leaves.ok()) std::abort();
  env->leaves = *leaves;
  ContextOptions own;
  own.own_records = true;
  own.own_handshake = true;
  auto server = ServerContext::create(env->leaves, own);
  auto client = ClientContext::create(ClientOptions{});
  if (!server.ok() || !client.ok()) std::abort();
  env->server = std::move(*server);
  env->client = std::move(*client);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(env->client->native()), env->leaves->ca().cert());
  SSL_CTX_set_keylog_callback(env->client->native(), keylog);
  return env;
}

void check(bool ok) {
  if (!ok) std::abort();
}

// Feeds `data` in slices as the engine would; returns whether the session got established.
bool feed(Session& s, const uint8_t* data, size_t size, size_t slice) {
  static uint8_t plain[16384];
  static uint8_t out[Session::kReceiveOutputMin * 4];
  std::vector<uint8_t> pending;
  size_t off = 0;
  while (off < size || !pending.empty()) {
    const size_t n = size - off < slice ? size - off : slice;
    pending.insert(pending.end(), data + off, data + off + n);
    off += n;
    IoResult r = s.receive(pending, plain, out);
    check(r.cipher_consumed <= pending.size());
    check(r.cipher_bytes <= sizeof(out));
    check(r.plain_bytes <= sizeof(plain));
    if (s.state() == State::kHandshaking) check(r.plain_bytes == 0);
    if (s.state() == State::kError) {
      check(s.failure() != Failure::kNone && !s.failure_detail().empty());
      return false;
    }
    if (s.state() == State::kClosed) return false;
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.cipher_consumed));
    if (off == size && r.cipher_consumed == 0 && r.plain_bytes == 0) break;
  }
  return s.state() == State::kEstablished;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = make_env();
  if (size < 2) return 0;
  const size_t slice = 1 + data[0] % 64 * (data[0] >= 128 ? 256 : 1);
  const bool real_client = (data[1] & 1) != 0;
  data += 2;
  size -= 2;

  auto server = Session::server(*env->server);
  check(server.ok());
  (*server)->set_expected_host(kHost);
  if (!real_client) {
    feed(**server, data, size, slice);
    (*server)->receive_eof();
    check((*server)->state() != State::kEstablished && (*server)->state() != State::kHandshaking);
    return 0;
  }

  auto client = Session::client(*env->client, kHost, 443);
  check(client.ok());
  uint8_t hello[4096];
  const size_t hello_len = (*client)->start(hello);
  static uint8_t plain[16384];
  static uint8_t flight[16384];
  IoResult r = (*server)->receive({hello, hello_len}, plain, flight);
  check((*server)->own_handshake() && r.cipher_consumed == hello_len);
  g_client_hs_secret.clear();
  uint8_t reply[4096];
  IoResult c = (*client)->receive({flight, r.cipher_bytes}, plain, reply);
  check((*client)->state() == State::kEstablished && g_client_hs_secret.size() == 32);

  // The client's real Finished, opened.
  const auto* secret = reinterpret_cast<const uint8_t*>(g_client_hs_secret.data());
  size_t at = reply[0] == SSL3_RT_CHANGE_CIPHER_SPEC ? 6 : 0;
  RecordProtection open_key, seal_key;
  check(open_key.init(0x1301, secret, 32, 0, false) && seal_key.init(0x1301, secret, 32, 0, true));
  uint8_t finished[64];
  uint8_t type = 0;
  size_t finished_len = 0;
  check(open_key.open({reply + at, c.cipher_bytes - at}, finished, &type, &finished_len));

  std::vector<uint8_t> wire;
  bool real_finished = false;
  size_t i = 0;
  auto take = [&](size_t n) {
    n = std::min(n, size - i);
    const uint8_t* p = data + i;
    i += n;
    return std::span<const uint8_t>(p, n);
  };
  while (i < size && wire.size() < 65536) {
    switch (data[i++] % 4) {
      case 0:
        wire.insert(wire.end(), reply, reply + c.cipher_bytes);
        real_finished = true;
        break;
      case 1: {
        auto raw = take(i < size ? data[i++] : 0);
        wire.insert(wire.end(), raw.begin(), raw.end());
        break;
      }
      case 2: {
        const uint8_t inner = i < size ? data[i++] : 0;
        auto content = take(i < size ? data[i++] : 0);
        uint8_t record[512];
        wire.insert(wire.end(), record, record + seal_key.seal(inner, content, record));
        break;
      }
      case 3: {
        uint8_t record[128];
        wire.insert(wire.end(), record,
                    record + seal_key.seal(SSL3_RT_HANDSHAKE, {finished, finished_len}, record));
        real_finished = true;
        break;
      }
    }
  }
  if (feed(**server, wire.data(), wire.size(), slice)) check(real_finished);
  return 0;
}
