// TLS costs on this machine: full and resumed handshakes (client + server in one thread, and in
// two threads sharing the contexts, to expose OpenSSL 3.0's shared-state contention), leaf
// minting, leaf cache hits, and bulk record encryption/decryption through Session with 16 KiB
// records (compare with `openssl speed -evp aes-128-gcm -bytes 16384`).
//
//   build/release/bench/micro/bench-micro --benchmark_filter=Tls

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::tls {
namespace {

// Shared by every benchmark thread, as the workers share them in pamproxyd.
struct Shared {
  std::shared_ptr<CertificateAuthority> ca;
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ServerContext> own_server;  // own_records + own_handshake
  std::unique_ptr<ClientContext> client;

  static Shared& get() {
    static Shared* shared = [] {
      auto* s = new Shared;
      s->ca = std::move(*CertificateAuthority::generate("bench CA"));
      s->leaves = *LeafCache::create(s->ca, 1024, 30);
      s->server = std::move(*ServerContext::create(s->leaves, {}));
      ContextOptions own;
      own.own_records = true;
      own.own_handshake = true;
      s->own_server = std::move(*ServerContext::create(s->leaves, own));
      // The client trusts the CA through its store directly (no file needed).
      s->client = std::move(*ClientContext::create(ClientOptions{}));
      X509_STORE_add_cert(SSL_CTX_get_cert_store(s->client->native()), s->ca->cert());
      return s;
    }();
    return *shared;
  }
};

// Moves ciphertext between two sessions until both are quiet. Buffers live on the caller's
// stack: nothing here allocates per record.
struct Wire {
  std::vector<uint8_t> bytes;
  size_t start = 0;
  std::span<const uint8_t> pending() const { return {bytes.data() + start, bytes.size() - start}; }
  void consume(size_t n) {
    start += n;
    if (start == bytes.size()) {
      bytes.clear();
      start = 0;
    }
  }
  void append(const uint8_t* p, size_t n) { bytes.insert(bytes.end(), p, p + n); }
};

bool step(Session& s, Wire& in, Wire& out, uint8_t* plain, size_t plain_len, uint8_t* buf,
          size_t buf_len, size_t* plain_total) {
  IoResult r = s.receive(in.pending(), {plain, plain_len}, {buf, buf_len});
  in.consume(r.cipher_consumed);
  out.append(buf, r.cipher_bytes);
  if (plain_total != nullptr) *plain_total += r.plain_bytes;
  return r.cipher_consumed + r.plain_bytes + r.cipher_bytes > 0;
}

int64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Runs the handshake; adds the thread CPU time spent inside the server's calls to
// `server_cpu_ns` (the share a proxy worker pays per new tunnel).
bool handshake(Session& client, Session& server, int64_t* server_cpu_ns = nullptr) {
  Wire to_server, to_client;
  uint8_t buf[8192];
  uint8_t plain[4096];
  to_server.append(buf, client.start(buf));
  for (int i = 0; i < 20; ++i) {
    int64_t t0 = thread_cpu_ns();
    bool a = step(server, to_server, to_client, plain, sizeof(plain), buf, sizeof(buf), nullptr);
    if (server_cpu_ns != nullptr) *server_cpu_ns += thread_cpu_ns() - t0;
    bool b = step(client, to_client, to_server, plain, sizeof(plain), buf, sizeof(buf), nullptr);
    if (!a && !b) break;
  }
  return client.state() == State::kEstablished && server.state() == State::kEstablished;
}

// One client+server handshake pair; for `resume`, the client offers the ticket of the previous
// one (the first, outside the timing, primes the cache).
bool one_handshake(Shared& shared, const std::string& host, int version, bool* resumed,
                   int64_t* server_cpu_ns, bool own = false) {
  auto server = std::move(*Session::server(own ? *shared.own_server : *shared.server));
  server->set_expected_host(host);
  auto client = std::move(*Session::client(*shared.client, host, 443));
  SSL_set_max_proto_version(client->native(), version);
  if (!handshake(*client, *server, server_cpu_ns)) return false;
  *resumed = client->resumed();
  return server->own_handshake() == own;
}

void BM_TlsHandshake(benchmark::State& state, int version, bool resume, bool own = false) {
  Shared& shared = Shared::get();
  const std::string host = "h" + std::to_string(state.thread_index()) + ".s3.amazonaws.com";
  const std::string key = host + ":443";
  bool resumed = false;
  int64_t server_cpu_ns = 0;
  if (resume && !one_handshake(shared, host, version, &resumed, &server_cpu_ns)) {
    state.SkipWithError("priming handshake failed");
    return;
  }
  for (auto _ : state) {
    if (!resume) shared.client->forget_session(key);  // full handshakes only
    if (!one_handshake(shared, host, version, &resumed, &server_cpu_ns, own) || resumed != resume) {
      state.SkipWithError(resumed != resume ? "resumption not as expected" : "handshake failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  // CPU per handshake spent in the server side alone (ClientHello in, Finished out).
  state.counters["server_cpu_us"] = benchmark::Counter(
      static_cast<double>(server_cpu_ns) / 1000.0 / static_cast<double>(state.iterations()),
      benchmark::Counter::kAvgThreads);
}
BENCHMARK_CAPTURE(BM_TlsHandshake, full_tls13, TLS1_3_VERSION, false)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
// The server side answered by pamproxy (ContextOptions::own_handshake): compare server_cpu_us.
BENCHMARK_CAPTURE(BM_TlsHandshake, full_tls13_own_handshake, TLS1_3_VERSION, false, true)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TlsHandshake, full_tls12, TLS1_2_VERSION, false)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TlsHandshake, resumed_tls13, TLS1_3_VERSION, true)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_TlsMintLeaf(benchmark::State& state) {
  Shared& shared = Shared::get();
  for (auto _ : state) {
    auto cert = shared.ca->mint("s3.us-east-1.amazonaws.com", shared.leaves->key(), 30);
    benchmark::DoNotOptimize(cert);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsMintLeaf);

void BM_TlsLeafCacheHit(benchmark::State& state) {
  Shared& shared = Shared::get();
  (void)shared.leaves->get("s3.us-east-1.amazonaws.com");
  for (auto _ : state) {
    auto leaf = shared.leaves->get("s3.us-east-1.amazonaws.com");
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsLeafCacheHit)->Threads(1)->Threads(2)->UseRealTime();

// An established pair with the given TLS 1.3 suite.
struct Established {
  std::unique_ptr<Session> client;
  std::unique_ptr<Session> server;
  explicit Established(const char* suite, bool release_buffers = false) {
    Shared& shared = Shared::get();
    server = std::move(*Session::server(*shared.server));
    client = std::move(*Session::client(*shared.client, "bulk.s3.amazonaws.com", 443));
    if (release_buffers) {
      SSL_set_mode(server->native(), SSL_MODE_RELEASE_BUFFERS);
      SSL_set_mode(client->native(), SSL_MODE_RELEASE_BUFFERS);
    }
    SSL_set_ciphersuites(client->native(), suite);
    handshake(*client, *server);
    // Drain the ticket so later receives see only data.
    uint8_t buf[4096], plain[1024];
    client->receive({}, {plain, sizeof(plain)}, {buf, sizeof(buf)});
  }
};

constexpr size_t kRecord = 16384;

// Encrypt only: 16 KiB of plaintext into one record per iteration.
void BM_TlsEncrypt16k(benchmark::State& state, const char* suite) {
  Established pair(suite);
  std::vector<uint8_t> plain(kRecord, 'x');
  std::vector<uint8_t> out(kRecord + 256);
  for (auto _ : state) {
    IoResult r = pair.server->send(plain, out);
    if (r.plain_bytes != kRecord) {
      state.SkipWithError("send did not take a whole record");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecord));
}
BENCHMARK_CAPTURE(BM_TlsEncrypt16k, aes128gcm, "TLS_AES_128_GCM_SHA256");
BENCHMARK_CAPTURE(BM_TlsEncrypt16k, aes256gcm, "TLS_AES_256_GCM_SHA384");
BENCHMARK_CAPTURE(BM_TlsEncrypt16k, chacha20, "TLS_CHACHA20_POLY1305_SHA256");

// Encrypt on one side and decrypt on the other: a relayed byte's whole TLS cost (one decrypt
// on the receiving leg, one encrypt on the sending leg), with every copy Session makes.
void BM_TlsRelay16k(benchmark::State& state, const char* suite, bool release_buffers) {
  Established pair(suite, release_buffers);
  std::vector<uint8_t> plain(kRecord, 'x');
  std::vector<uint8_t> wire(kRecord + 256);
  std::vector<uint8_t> back(kRecord);
  std::vector<uint8_t> scratch(Session::kReceiveOutputMin);
  for (auto _ : state) {
    IoResult w = pair.server->send(plain, wire);
    IoResult r = pair.client->receive({wire.data(), w.cipher_bytes}, back, scratch);
    if (r.plain_bytes != kRecord || r.cipher_consumed != w.cipher_bytes) {
      state.SkipWithError("record did not round-trip");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecord));
}
BENCHMARK_CAPTURE(BM_TlsRelay16k, aes128gcm, "TLS_AES_128_GCM_SHA256", false);
BENCHMARK_CAPTURE(BM_TlsRelay16k, aes256gcm, "TLS_AES_256_GCM_SHA384", false);
BENCHMARK_CAPTURE(BM_TlsRelay16k, chacha20, "TLS_CHACHA20_POLY1305_SHA256", false);
BENCHMARK_CAPTURE(BM_TlsRelay16k, aes128gcm_release_mode, "TLS_AES_128_GCM_SHA256", true);

}  // namespace
}  // namespace pamproxy::tls

namespace pamproxy::tls {
namespace {

// Heap held by one established, idle server-side session (the client-facing half of a tunnel),
// with OpenSSL's default buffers and with SSL_MODE_RELEASE_BUFFERS (buffers freed while idle).
enum class IdleBuffers { kKeep, kReleaseMode, kFreeWhenIdle };

void BM_TlsIdleSessionBytes(benchmark::State& state, IdleBuffers mode) {
  constexpr int kSessions = 200;
  Shared& shared = Shared::get();
  double per_session = 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<Session>> servers;
    servers.reserve(kSessions);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < kSessions; ++i) {
      auto server = std::move(*Session::server(*shared.server));
      if (mode == IdleBuffers::kReleaseMode) {
        SSL_set_mode(server->native(), SSL_MODE_RELEASE_BUFFERS);
      } else {
        SSL_clear_mode(server->native(), SSL_MODE_RELEASE_BUFFERS);
      }
      auto client = std::move(*Session::client(*shared.client, "idle.s3.amazonaws.com", 443));
      if (!handshake(*client, *server)) {
        state.SkipWithError("handshake failed");
        return;
      }
      if (mode == IdleBuffers::kFreeWhenIdle && !server->release_buffers()) {
        state.SkipWithError("release_buffers refused on an idle session");
        return;
      }
      servers.push_back(std::move(server));  // the client half is freed here
    }
    // The client halves are gone; what remains is the servers' (plus one cached client session).
    per_session =
        (static_cast<double>(mallinfo2().uordblks) - static_cast<double>(before)) / kSessions;
  }
  state.counters["bytes_per_session"] = per_session;
}
BENCHMARK_CAPTURE(BM_TlsIdleSessionBytes, keep_buffers, IdleBuffers::kKeep)->Iterations(1);
BENCHMARK_CAPTURE(BM_TlsIdleSessionBytes, release_mode, IdleBuffers::kReleaseMode)->Iterations(1);
BENCHMARK_CAPTURE(BM_TlsIdleSessionBytes, free_when_idle, IdleBuffers::kFreeWhenIdle)
    ->Iterations(1);

}  // namespace
}  // namespace pamproxy::tls
