// Records sealed from the keys handed to the kernel (src/tls/kernel_record.cc), against records
// a real OpenSSL session sealed, for every suite the kernel takes in TLS 1.2 and 1.3: the same
// bytes at the counted record number, other bytes one record off, and a peer that opens what is
// sealed at the next number.

#include "src/tls/kernel_record.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

struct SuiteCase {
  int version;
  const char* suite;  // TLS 1.3 ciphersuite or TLS 1.2 cipher list
  size_t overhead;    // record bytes beyond the plaintext
};

// TLS 1.2 AES-GCM: the explicit nonce the record carries (after the 5-byte header).
uint64_t explicit_nonce_of(const std::vector<uint8_t>& record) {
  uint64_t v = 0;
  for (size_t i = 5; i < 13 && i < record.size(); ++i) v = v << 8 | record[i];
  return v;
}

class KernelRecord : public ::testing::TestWithParam<SuiteCase> {
 protected:
  void SetUp() override {
    const SuiteCase& c = GetParam();
    ContextOptions options;
    options.capture_secrets = true;
    f_ = Fixture::make(options);
    server_ = std::move(*Session::server(*f_.server));
    client_ = std::move(*Session::client(*f_.client, "s3.amazonaws.com", 443));
    SSL* cs = client_->native();
    ASSERT_EQ(SSL_set_max_proto_version(cs, c.version), 1);
    if (c.version == TLS1_3_VERSION) {
      ASSERT_EQ(SSL_set_ciphersuites(cs, c.suite), 1);
    } else {
      ASSERT_EQ(SSL_set_cipher_list(cs, c.suite), 1);
    }
    pair_ = std::make_unique<Pair>(*client_, *server_);
    ASSERT_TRUE(pair_->handshake()) << client_->failure_detail() << server_->failure_detail();
    pair_->server_sends("first");  // past record 0 of the application keys
    ASSERT_EQ(pair_->client_plain, "first");
    pair_->client_plain.clear();
  }

  // One record OpenSSL seals for `text` on the server, not delivered.
  std::vector<uint8_t> openssl_record(const std::string& text) {
    uint8_t out[4096];
    IoResult r = server_->send({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, out);
    EXPECT_EQ(r.plain_bytes, text.size());
    return std::vector<uint8_t>(out, out + r.cipher_bytes);
  }

  std::vector<uint8_t> ours(const TrafficKeys& keys, const std::string& text, uint64_t nonce) {
    std::vector<uint8_t> out(kernel_record_size(keys, text.size()));
    const size_t n = seal_kernel_record(
        keys, SSL3_RT_APPLICATION_DATA,
        {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, nonce, out);
    EXPECT_EQ(n, out.size());
    out.resize(n);
    return out;
  }

  Fixture f_;
  std::unique_ptr<Session> server_;
  std::unique_ptr<Session> client_;
  std::unique_ptr<Pair> pair_;
};

TEST_P(KernelRecord, SealsWhatOpenSslSealsAtTheCountedNumber) {
  const SuiteCase& c = GetParam();
  auto keys = server_->traffic_keys(Direction::kTransmit);
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::string text = "one probe byte, or a few more";
  EXPECT_EQ(kernel_record_size(*keys, text.size()), text.size() + c.overhead);
  std::vector<uint8_t> theirs = openssl_record(text);
  ASSERT_EQ(theirs.size(), text.size() + c.overhead);
  const uint64_t nonce = explicit_nonce_of(theirs);
  EXPECT_EQ(ours(*keys, text, nonce), theirs);

  // One record off either way: other bytes (the number is in the nonce or the additional data).
  for (int64_t skew : {-1, 1}) {
    TrafficKeys off = *keys;
    off.sequence = keys->sequence + static_cast<uint64_t>(skew);
    EXPECT_NE(ours(off, text, nonce), theirs) << skew;
  }

  // The peer opens what is sealed at the next number, with the kernel's own explicit nonce.
  pair_->to_client.insert(pair_->to_client.end(), theirs.begin(), theirs.end());
  TrafficKeys next = *keys;
  next.sequence = keys->sequence + 1;
  std::vector<uint8_t> kernel = ours(next, "and the next", next.sequence);
  pair_->to_client.insert(pair_->to_client.end(), kernel.begin(), kernel.end());
  pair_->pump();
  EXPECT_EQ(client_->state(), State::kEstablished) << client_->failure_detail();
  EXPECT_EQ(pair_->client_plain, text + "and the next");
}

TEST_P(KernelRecord, RefusesWhatTheKernelDoesNotTake) {
  auto keys = server_->traffic_keys(Direction::kTransmit);
  ASSERT_TRUE(keys.ok()) << keys.status();
  uint8_t out[64];
  const uint8_t probe[1] = {0};
  const size_t size = kernel_record_size(*keys, 1);
  EXPECT_EQ(seal_kernel_record(*keys, SSL3_RT_APPLICATION_DATA, probe, 0, {out, size - 1}), 0u);
  TrafficKeys odd = *keys;
  odd.version = TLS1_1_VERSION;
  EXPECT_EQ(kernel_record_size(odd, 1), 0u);
  EXPECT_EQ(seal_kernel_record(odd, SSL3_RT_APPLICATION_DATA, probe, 0, out), 0u);
  odd = *keys;
  odd.key_len = 24;
  EXPECT_EQ(seal_kernel_record(odd, SSL3_RT_APPLICATION_DATA, probe, 0, out), 0u);
  static uint8_t too_long[16385];
  std::vector<uint8_t> big(kernel_record_size(*keys, sizeof(too_long)));
  EXPECT_EQ(seal_kernel_record(*keys, SSL3_RT_APPLICATION_DATA, too_long, 0, big), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Suites, KernelRecord,
    ::testing::Values(SuiteCase{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", 5 + 1 + 16},
                      SuiteCase{TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", 5 + 1 + 16},
                      SuiteCase{TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", 5 + 1 + 16},
                      SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", 5 + 8 + 16},
                      SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", 5 + 8 + 16},
                      SuiteCase{TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", 5 + 16}));

}  // namespace
}  // namespace pamproxy::tls
