// kTLS: detection on this kernel, the auto/off/required decision and its log line, and the keys
// handed to the kernel, proven without the kernel: records are encrypted and decrypted from the
// exact tls12_crypto_info_* bytes the way the kernel's TLS code does, against a real OpenSSL
// peer. Where the kernel has the tls ULP, the same keys are installed on a loopback socket and
// the peer reads what the kernel encrypted.

#include "pamproxy/tls/ktls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/base/log.h"
#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

// ---------------------------------------------------------------- detection and decision

std::string temp_file(const std::string& content) {
  char path[] = "/tmp/pamproxy-ulp-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  return path;
}

TEST(Ktls, ProbeReadsTheUlpList) {
  std::string without = temp_file("mptcp\n");
  std::string with = temp_file("mptcp tls\n");
  KtlsProbe a = probe_ktls(without);
  KtlsProbe b = probe_ktls(with);
  EXPECT_FALSE(a.ulp_listed);
  EXPECT_TRUE(b.ulp_listed);
  EXPECT_NE(a.detail.find("\"mptcp\""), std::string::npos) << a.detail;
  KtlsProbe missing = probe_ktls("/nonexistent/tcp_available_ulp");
  EXPECT_FALSE(missing.ulp_listed);
  EXPECT_NE(missing.detail.find("unreadable"), std::string::npos) << missing.detail;
  ::unlink(without.c_str());
  ::unlink(with.c_str());
}

TEST(Ktls, ProbeOfThisKernelSaysWhy) {
  KtlsProbe probe = probe_ktls();
  EXPECT_NE(probe.detail.find("tcp_available_ulp"), std::string::npos) << probe.detail;
  if (!probe.available()) {
    // The development machines: no tls module, and the probe names the failing call.
    EXPECT_NE(probe.detail.find("setsockopt(TCP_ULP, \"tls\"): "), std::string::npos)
        << probe.detail;
  } else {
    EXPECT_NE(probe.detail.find("succeeded"), std::string::npos) << probe.detail;
  }
}

// Captures log lines through a pipe.
class LogCapture {
 public:
  LogCapture() {
    EXPECT_EQ(::pipe(fds_), 0);
    log::set_fd(fds_[1]);
  }
  ~LogCapture() {
    log::set_fd(2);
    ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  std::string drain() {
    log::set_fd(2);
    ::close(fds_[1]);
    fds_[1] = -1;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds_[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fds_[2];
};

TEST(Ktls, AutoWithoutUlpFallsBackAndSaysSo) {
  KtlsProbe absent;
  absent.detail = "no tls";
  LogCapture capture;
  auto d = decide_ktls(config::Ktls::kAuto, absent);
  std::string logged = capture.drain();
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->enabled);
  EXPECT_EQ(d->reason, "auto: tls ULP unavailable (no tls); user-space TLS");
  EXPECT_NE(logged.find("event=tls.ktls mode=auto path=userspace"), std::string::npos) << logged;
}

TEST(Ktls, RequiredWithoutUlpRefusesToStart) {
  KtlsProbe absent;
  absent.detail = "no tls";
  auto d = decide_ktls(config::Ktls::kRequired, absent);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("engine.ktls = \"required\""), std::string::npos);
  EXPECT_NE(d.status().message().find("modprobe tls"), std::string::npos);
}

TEST(Ktls, DecisionFollowsModeAndProbe) {
  KtlsProbe present;
  present.ulp_listed = true;
  present.ulp_attachable = true;
  EXPECT_TRUE(decide_ktls(config::Ktls::kAuto, present)->enabled);
  EXPECT_TRUE(decide_ktls(config::Ktls::kRequired, present)->enabled);
  EXPECT_FALSE(decide_ktls(config::Ktls::kOff, present)->enabled);
  KtlsProbe listed_only;  // listed but not attachable: not usable
  listed_only.ulp_listed = true;
  EXPECT_FALSE(decide_ktls(config::Ktls::kAuto, listed_only)->enabled);
}

TEST(Ktls, ThisMachineTakesThePathItsProbeAllows) {
  KtlsProbe probe = probe_ktls();
  LogCapture capture;
  auto d = decide_ktls(config::Ktls::kAuto, probe);
  std::string logged = capture.drain();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->enabled, probe.available());
  EXPECT_NE(logged.find(probe.available() ? "path=ktls" : "path=userspace"), std::string::npos)
      << logged;
  auto required = decide_ktls(config::Ktls::kRequired, probe);
  EXPECT_EQ(required.ok(), probe.available());
}

// ---------------------------------------------------------------- keys, checked as the kernel

// The kernel's view of one direction, read back from the crypto-info bytes.
struct KernelKeys {
  uint16_t version = 0;
  uint16_t cipher_type = 0;
  std::vector<uint8_t> key, salt, iv;
  uint64_t seq = 0;
};

KernelKeys parse_info(const KtlsCryptoInfo& info) {
  KernelKeys k;
  tls_crypto_info head;
  std::memcpy(&head, info.bytes, sizeof(head));
  k.version = head.version;
  k.cipher_type = head.cipher_type;
  auto seq_of = [](const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
  };
  if (head.cipher_type == TLS_CIPHER_AES_GCM_128) {
    tls12_crypto_info_aes_gcm_128 c;
    EXPECT_EQ(info.size, sizeof(c));
    std::memcpy(&c, info.bytes, sizeof(c));
    k.key.assign(c.key, c.key + sizeof(c.key));
    k.salt.assign(c.salt, c.salt + 4);
    k.iv.assign(c.iv, c.iv + 8);
    k.seq = seq_of(c.rec_seq);
  } else if (head.cipher_type == TLS_CIPHER_AES_GCM_256) {
    tls12_crypto_info_aes_gcm_256 c;
    EXPECT_EQ(info.size, sizeof(c));
    std::memcpy(&c, info.bytes, sizeof(c));
    k.key.assign(c.key, c.key + sizeof(c.key));
    k.salt.assign(c.salt, c.salt + 4);
    k.iv.assign(c.iv, c.iv + 8);
    k.seq = seq_of(c.rec_seq);
  } else if (head.cipher_type == TLS_CIPHER_CHACHA20_POLY1305) {
    tls12_crypto_info_chacha20_poly1305 c;
    EXPECT_EQ(info.size, sizeof(c));
    std::memcpy(&c, info.bytes, sizeof(c));
    k.key.assign(c.key, c.key + sizeof(c.key));
    k.iv.assign(c.iv, c.iv + 12);
    k.seq = seq_of(c.rec_seq);
  } else {
    ADD_FAILURE() << "unknown cipher type " << head.cipher_type;
  }
  return k;
}

const EVP_CIPHER* evp_of(const KernelKeys& k) {
  switch (k.cipher_type) {
    case TLS_CIPHER_AES_GCM_128: return EVP_aes_128_gcm();
    case TLS_CIPHER_AES_GCM_256: return EVP_aes_256_gcm();
    default: return EVP_chacha20_poly1305();
  }
}

// The nonce the kernel uses for record `seq`.
std::vector<uint8_t> nonce_of(const KernelKeys& k, uint64_t seq, bool* explicit_nonce) {
  std::vector<uint8_t> nonce(12);
  *explicit_nonce = false;
  if (k.cipher_type == TLS_CIPHER_CHACHA20_POLY1305) {
    std::memcpy(nonce.data(), k.iv.data(), 12);
  } else if (k.version == TLS_1_3_VERSION) {
    std::memcpy(nonce.data(), k.salt.data(), 4);
    std::memcpy(nonce.data() + 4, k.iv.data(), 8);
  } else {
    // TLS 1.2 GCM: salt || explicit nonce; the explicit part starts at `iv` and moves with seq.
    *explicit_nonce = true;
    uint64_t start = 0;
    for (int i = 0; i < 8; ++i) start = start << 8 | k.iv[i];
    uint64_t e = start + (seq - k.seq);
    std::memcpy(nonce.data(), k.salt.data(), 4);
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(e >> (56 - 8 * i));
    return nonce;
  }
  for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<uint8_t>(seq >> (56 - 8 * i));
  return nonce;
}

std::vector<uint8_t> aead(const KernelKeys& k, bool encrypt, const std::vector<uint8_t>& nonce,
                          const std::vector<uint8_t>& aad, const uint8_t* in, size_t len,
                          uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> out(len);
  int n = 0;
  bool ok = EVP_CipherInit_ex(ctx, evp_of(k), nullptr, nullptr, nullptr, encrypt) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_CipherInit_ex(ctx, nullptr, nullptr, k.key.data(), nonce.data(), encrypt) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_CipherUpdate(ctx, out.data(), &n, in, static_cast<int>(len)) == 1;
  if (ok && !encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1;
  int fin = 0;
  ok = ok && EVP_CipherFinal_ex(ctx, out.data() + n, &fin) == 1;
  if (ok && encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) out.clear();
  return out;
}

// One application-data record as the kernel would build it for record number `seq`.
std::vector<uint8_t> kernel_encrypt(const KernelKeys& k, uint64_t seq, const std::string& text) {
  bool explicit_nonce = false;
  std::vector<uint8_t> nonce = nonce_of(k, seq, &explicit_nonce);
  std::vector<uint8_t> plain(text.begin(), text.end());
  std::vector<uint8_t> aad;
  size_t body;
  if (k.version == TLS_1_3_VERSION) {
    plain.push_back(0x17);  // inner content type
    body = plain.size() + 16;
    aad = {0x17, 0x03, 0x03, static_cast<uint8_t>(body >> 8), static_cast<uint8_t>(body)};
  } else {
    body = plain.size() + 16 + (explicit_nonce ? 8 : 0);
    for (int i = 0; i < 8; ++i) aad.push_back(static_cast<uint8_t>(seq >> (56 - 8 * i)));
    aad.insert(aad.end(), {0x17, 0x03, 0x03, static_cast<uint8_t>(plain.size() >> 8),
                           static_cast<uint8_t>(plain.size())});
  }
  uint8_t tag[16];
  std::vector<uint8_t> ct = aead(k, true, nonce, aad, plain.data(), plain.size(), tag);
  std::vector<uint8_t> record = {0x17, 0x03, 0x03, static_cast<uint8_t>(body >> 8),
                                 static_cast<uint8_t>(body)};
  if (explicit_nonce) record.insert(record.end(), nonce.begin() + 4, nonce.end());
  record.insert(record.end(), ct.begin(), ct.end());
  record.insert(record.end(), tag, tag + 16);
  return record;
}

// Decrypts one application-data record as the kernel would for record number `seq`.
std::string kernel_decrypt(const KernelKeys& k, uint64_t seq, const std::vector<uint8_t>& record) {
  if (record.size() < 5 + 16) return "<short>";
  bool explicit_nonce = false;
  std::vector<uint8_t> nonce = nonce_of(k, seq, &explicit_nonce);
  size_t at = 5;
  if (explicit_nonce) {
    std::memcpy(nonce.data() + 4, record.data() + 5, 8);  // the sender's explicit nonce
    at += 8;
  }
  size_t len = record.size() - at - 16;
  std::vector<uint8_t> aad;
  if (k.version == TLS_1_3_VERSION) {
    aad.assign(record.begin(), record.begin() + 5);
  } else {
    for (int i = 0; i < 8; ++i) aad.push_back(static_cast<uint8_t>(seq >> (56 - 8 * i)));
    aad.insert(aad.end(),
               {record[0], 0x03, 0x03, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
  }
  uint8_t tag[16];
  std::memcpy(tag, record.data() + record.size() - 16, 16);
  std::vector<uint8_t> plain = aead(k, false, nonce, aad, record.data() + at, len, tag);
  if (plain.empty()) return "<bad tag>";
  if (k.version == TLS_1_3_VERSION) {
    if (plain.back() != 0x17) return "<not application data>";
    plain.pop_back();
  }
  return std::string(plain.begin(), plain.end());
}

struct SuiteCase {
  int version;
  const char* suite;  // TLS 1.3 ciphersuite or TLS 1.2 cipher list
  uint16_t cipher_type;
};

class KtlsKeys : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(KtlsKeys, KernelViewOfBothDirectionsMatchesThePeer) {
  const SuiteCase& c = GetParam();
  ContextOptions options;
  options.capture_secrets = true;
  Fixture f = Fixture::make(options);
  auto server = std::move(*Session::server(*f.server));
  auto client = std::move(*Session::client(*f.client, "s3.amazonaws.com", 443));
  SSL* cs = client->native();
  ASSERT_EQ(SSL_set_max_proto_version(cs, c.version), 1);
  if (c.version == TLS1_3_VERSION) {
    ASSERT_EQ(SSL_set_ciphersuites(cs, c.suite), 1);
  } else {
    ASSERT_EQ(SSL_set_cipher_list(cs, c.suite), 1);
  }
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail() << server->failure_detail();
  // Some user-space traffic first, so the sequence numbers are not trivially zero.
  pair.client_sends("one");
  pair.client_sends("two");
  pair.server_sends("three");
  ASSERT_EQ(pair.server_plain, "onetwo");

  // Server transmit keys: what the kernel would encrypt, the client decrypts.
  auto tx = server->traffic_keys(Direction::kTransmit);
  ASSERT_TRUE(tx.ok()) << tx.status();
  auto tx_info = to_crypto_info(*tx);
  ASSERT_TRUE(tx_info.ok());
  KernelKeys tk = parse_info(*tx_info);
  EXPECT_EQ(tk.cipher_type, c.cipher_type);
  EXPECT_EQ(tk.version, c.version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION);
  // TLS 1.3: the ticket and "three"; TLS 1.2: Finished and "three".
  EXPECT_EQ(tk.seq, 2u);
  std::vector<uint8_t> rec1 = kernel_encrypt(tk, tk.seq, "kernel says hi");
  std::vector<uint8_t> rec2 = kernel_encrypt(tk, tk.seq + 1, ", twice");
  pair.to_client.insert(pair.to_client.end(), rec1.begin(), rec1.end());
  pair.to_client.insert(pair.to_client.end(), rec2.begin(), rec2.end());
  pair.client_plain.clear();
  pair.pump();
  EXPECT_EQ(client->state(), State::kEstablished) << client->failure_detail();
  EXPECT_EQ(pair.client_plain, "kernel says hi, twice");

  // Server receive keys: what the client sends next, the kernel would decrypt.
  auto rx = server->traffic_keys(Direction::kReceive);
  ASSERT_TRUE(rx.ok()) << rx.status();
  auto rx_info = to_crypto_info(*rx);
  ASSERT_TRUE(rx_info.ok());
  KernelKeys rk = parse_info(*rx_info);
  EXPECT_EQ(rk.seq, c.version == TLS1_3_VERSION ? 2u : 3u);  // 1.2: + the client's Finished
  uint8_t out[4096];
  std::string text = "to the kernel";
  IoResult r = client->send({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, out);
  ASSERT_GT(r.cipher_bytes, 0u);
  EXPECT_EQ(kernel_decrypt(rk, rk.seq, std::vector<uint8_t>(out, out + r.cipher_bytes)), text);

  // The client's own keys mirror the server's.
  auto client_rx = client->traffic_keys(Direction::kReceive);
  ASSERT_TRUE(client_rx.ok());
  EXPECT_EQ(std::memcmp(client_rx->key, tx->key, tx->key_len), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Suites, KtlsKeys,
    ::testing::Values(
        SuiteCase{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128},
        SuiteCase{TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_GCM_256},
        SuiteCase{TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305},
        SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128},
        SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", TLS_CIPHER_AES_GCM_256},
        SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305}));

TEST(Ktls, KeysNeedCaptureAndACompleteHandshake) {
  Fixture f = Fixture::make();  // capture_secrets off
  auto server = std::move(*Session::server(*f.server));
  auto early = server->traffic_keys(Direction::kTransmit);
  EXPECT_FALSE(early.ok());
  auto client = std::move(*Session::client(*f.client, "a.example", 443));
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  auto keys = server->traffic_keys(Direction::kTransmit);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("capture_secrets"), std::string::npos);
}

// ---------------------------------------------------------------- sockets

// A connected loopback TCP pair.
struct SocketPair {
  int a = -1;
  int b = -1;
  SocketPair() {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    b = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(listener);
  }
  ~SocketPair() {
    ::close(a);
    ::close(b);
  }
};

TEST(Ktls, OffloadUsesTheKernelWhenItCanAndSaysWhyNotOtherwise) {
  ContextOptions options;
  options.capture_secrets = true;
  Fixture f = Fixture::make(options);
  auto server = std::move(*Session::server(*f.server));
  auto client = std::move(*Session::client(*f.client, "a.example", 443));
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  SocketPair sockets;  // sockets.b plays the server's accepted connection
  KtlsResult result = ktls_offload(sockets.b, *server);
  if (!probe_ktls().available()) {
    EXPECT_FALSE(result.tx);
    EXPECT_FALSE(result.rx);
    EXPECT_NE(result.detail.find("TCP_ULP"), std::string::npos) << result.detail;
    return;
  }
  // A kernel with the tls ULP: it encrypts what the server sends; the client decrypts it.
  ASSERT_TRUE(result.tx) << result.detail;
  EXPECT_TRUE(result.rx) << result.detail;
  std::string text = "encrypted by the kernel";
  ASSERT_EQ(::send(sockets.b, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  uint8_t wire[4096];
  ssize_t n = ::recv(sockets.a, wire, sizeof(wire), 0);
  ASSERT_GT(n, 0);
  pair.to_client.assign(wire, wire + n);
  pair.client_plain.clear();
  pair.pump();
  EXPECT_EQ(pair.client_plain, text);
}

// A client and server established with one suite, the server past record 0 of its keys.
struct SuitePair {
  Fixture f;
  std::unique_ptr<Session> server;
  std::unique_ptr<Session> client;
  std::unique_ptr<Pair> pair;

  explicit SuitePair(const SuiteCase& c) {
    ContextOptions options;
    options.capture_secrets = true;
    f = Fixture::make(options);
    server = std::move(*Session::server(*f.server));
    client = std::move(*Session::client(*f.client, "s3.amazonaws.com", 443));
    SSL* cs = client->native();
    EXPECT_EQ(SSL_set_max_proto_version(cs, c.version), 1);
    EXPECT_EQ(c.version == TLS1_3_VERSION ? SSL_set_ciphersuites(cs, c.suite)
                                          : SSL_set_cipher_list(cs, c.suite),
              1);
    pair = std::make_unique<Pair>(*client, *server);
    EXPECT_TRUE(pair->handshake()) << client->failure_detail() << server->failure_detail();
    pair->server_sends("first");
    pair->client_plain.clear();
  }
};

// Before the kernel takes the transmit keys, OpenSSL seals a probe record that goes nowhere and
// the keys seal the same byte as the kernel would: a record number off by one either way is
// caught (the session fails), the right one passes, and the peer still expects the record the
// kernel seals first.
TEST_P(KtlsKeys, TransmitKeysAreProvenBeforeTheKernelTakesThem) {
  for (int64_t skew : {0, -1, 1}) {
    SuitePair s(GetParam());
    s.server->skew_counted_records_for_testing(skew);
    auto keys = s.server->traffic_keys(Direction::kTransmit);
    ASSERT_TRUE(keys.ok()) << keys.status();
    const bool proven = s.server->transmit_keys_proven(*keys);
    if (skew != 0) {
      EXPECT_FALSE(proven) << skew;
      EXPECT_EQ(s.server->state(), State::kError) << skew;
      EXPECT_NE(s.server->failure_detail().find("record number counted for the kernel"),
                std::string::npos)
          << s.server->failure_detail();
      continue;
    }
    ASSERT_TRUE(proven) << s.server->failure_detail();
    auto info = to_crypto_info(*keys);
    ASSERT_TRUE(info.ok());
    KernelKeys k = parse_info(*info);
    std::vector<uint8_t> record = kernel_encrypt(k, k.seq, "sealed after the probe");
    s.pair->to_client.assign(record.begin(), record.end());
    s.pair->pump();
    EXPECT_EQ(s.client->state(), State::kEstablished) << s.client->failure_detail();
    EXPECT_EQ(s.pair->client_plain, "sealed after the probe");
  }
}

// The probe runs only once the kernel has taken RX: where it does not (no tls ULP), OpenSSL is
// still in step and the connection goes on in user space. Where it does, a skewed count leaves
// RX alone in the kernel (the caller closes the connection) and is counted.
TEST_P(KtlsKeys, OffloadProvesTheTransmitKeysOrLeavesOpenSslInStep) {
  const bool kernel = probe_ktls().available();
  for (int64_t skew : {0, -1, 1}) {
    SuitePair s(GetParam());
    s.server->skew_counted_records_for_testing(skew);
    SocketPair sockets;  // sockets.b plays the server's accepted connection
    const uint64_t unproven_before = ktls_handoffs_unproven();
    KtlsResult result = ktls_offload(sockets.b, *s.server);
    if (!kernel) {
      EXPECT_FALSE(result.rx) << skew;
      EXPECT_FALSE(result.tx) << skew;
      EXPECT_EQ(ktls_handoffs_unproven(), unproven_before) << skew;
      s.pair->server_sends("still OpenSSL's");
      EXPECT_EQ(s.client->state(), State::kEstablished) << s.client->failure_detail();
      EXPECT_EQ(s.pair->client_plain, "still OpenSSL's") << skew;
      continue;
    }
    EXPECT_TRUE(result.rx) << result.detail;
    if (skew != 0) {
      EXPECT_FALSE(result.tx) << skew;
      EXPECT_NE(result.detail.find("did not seal OpenSSL's probe record"), std::string::npos)
          << result.detail;
      EXPECT_EQ(ktls_handoffs_unproven() - unproven_before, 1u) << skew;
      EXPECT_EQ(s.server->state(), State::kError) << skew;
      continue;
    }
    ASSERT_TRUE(result.tx) << result.detail;
    EXPECT_EQ(ktls_handoffs_unproven(), unproven_before);
    std::string text = "encrypted by the kernel after the probe";
    ASSERT_EQ(::send(sockets.b, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    uint8_t wire[4096];
    ssize_t n = ::recv(sockets.a, wire, sizeof(wire), 0);
    ASSERT_GT(n, 0);
    s.pair->to_client.assign(wire, wire + n);
    s.pair->pump();
    EXPECT_EQ(s.pair->client_plain, text);
  }
}

TEST(Ktls, RecvWithoutControlMessageIsApplicationData) {
  SocketPair sockets;
  ASSERT_EQ(::send(sockets.a, "abc", 3, 0), 3);
  uint8_t buf[16];
  KtlsRead r = ktls_recv(sockets.b, buf);
  EXPECT_EQ(r.bytes, 3);
  EXPECT_EQ(r.record_type, 23);
  ::shutdown(sockets.a, SHUT_WR);
  EXPECT_EQ(ktls_recv(sockets.b, buf).bytes, 0);
}

TEST(Ktls, ControlRecordsAreClassified) {
  std::vector<uint8_t> ticket = {4, 0, 0, 2, 0xaa, 0xbb};
  std::vector<uint8_t> two_tickets = {4, 0, 0, 1, 0xaa, 4, 0, 0, 0};
  std::vector<uint8_t> key_update = {24, 0, 0, 1, 0};
  std::vector<uint8_t> ticket_then_update = {4, 0, 0, 0, 24, 0, 0, 1, 0};
  std::vector<uint8_t> truncated = {4, 0, 0, 9, 1};
  std::vector<uint8_t> alert = {2, 0};
  EXPECT_EQ(classify_control_record(23, alert), ControlAction::kData);
  EXPECT_EQ(classify_control_record(22, ticket), ControlAction::kDrop);
  EXPECT_EQ(classify_control_record(22, two_tickets), ControlAction::kDrop);
  EXPECT_EQ(classify_control_record(22, key_update), ControlAction::kClose);
  EXPECT_EQ(classify_control_record(22, ticket_then_update), ControlAction::kClose);
  EXPECT_EQ(classify_control_record(22, truncated), ControlAction::kClose);
  EXPECT_EQ(classify_control_record(22, {}), ControlAction::kClose);
  EXPECT_EQ(classify_control_record(21, alert), ControlAction::kClose);
}

}  // namespace
}  // namespace pamproxy::tls
