// Fuzz target: Session fed arbitrary bytes from the network, as the server side (what a client
// of the proxy sends first: a ClientHello, or anything) and as the client side (what an upstream
// answers to our ClientHello). Whatever arrives must end in a handshake, a wait for more, or a
// specific failure; never a crash, a hang, a consumed count beyond the input, output beyond the
// buffer, plaintext before the handshake, or an error state without a reason.
//
// The first input byte picks the slice size the bytes arrive in, so records split across reads
// are covered too.

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/session.h"

namespace {

using namespace pamproxy::tls;

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
  auto server = ServerContext::create(env->leaves, {});
  auto client = ClientContext::create(ClientOptions{});
  if (!server.ok() || !client.ok()) std::abort();
  env->server = std::move(*server);
  env->client = std::move(*client);
  return env;
}

void check(bool ok) {
  if (!ok) std::abort();
}

void feed(Session& s, const uint8_t* data, size_t size, size_t slice) {
  static uint8_t plain[16384];
  static uint8_t out[Session::kReceiveOutputMin * 4];
  size_t off = 0;
  // Bounded: every round either consumes input or stops.
  while (off < size) {
    size_t n = size - off < slice ? size - off : slice;
    IoResult r = s.receive({data + off, n}, plain, out);
    check(r.cipher_consumed <= n);
    check(r.cipher_bytes <= sizeof(out));
    check(r.plain_bytes <= sizeof(plain));
    if (s.state() == State::kHandshaking) check(r.plain_bytes == 0);
    if (s.state() == State::kError) {
      check(s.failure() != Failure::kNone && !s.failure_detail().empty());
      return;
    }
    if (s.state() == State::kClosed) return;
    if (r.cipher_consumed == 0 && r.plain_bytes == 0) break;
    off += r.cipher_consumed;
  }
  s.receive_eof();
  check(s.state() != State::kEstablished && s.state() != State::kHandshaking);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = make_env();
  if (size == 0) return 0;
  size_t slice = 1 + data[0] % 64 * (data[0] >= 128 ? 256 : 1);
  ++data;
  --size;

  auto server = Session::server(*env->server);
  check(server.ok());
  (*server)->set_expected_host((size & 1) != 0 ? "s3.amazonaws.com" : "127.0.0.1");
  feed(**server, data, size, slice);
  check(env->leaves->stats().entries <= 4);

  auto client = Session::client(*env->client, "s3.amazonaws.com", 443);
  check(client.ok());
  uint8_t hello[4096];
  check((*client)->start(hello) > 0);
  feed(**client, data, size, slice);
  return 0;
}
