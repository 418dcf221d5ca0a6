// pamproxy's own record path (src/tls/own_path.cc) against records a client could send but
// OpenSSL never would: forged under the client's real traffic keys (from OpenSSL's key log), so
// they authenticate and only the rules of RFC 8446 section 5 can refuse them.

#include "src/tls/own_path.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "pamproxy/tls/session.h"
#include "src/tls/own_handshake.h"
#include "src/tls/secrets.h"
#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

constexpr char kHost[] = "s3.us-east-1.amazonaws.com";

// The client's secrets, from OpenSSL's key log.
std::string g_handshake_secret;
std::string g_traffic_secret;
void keylog(const SSL*, const char* line) {
  std::string_view text(line);
  std::string* into = nullptr;
  if (text.rfind("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 0) == 0) into = &g_handshake_secret;
  if (text.rfind("CLIENT_TRAFFIC_SECRET_0 ", 0) == 0) into = &g_traffic_secret;
  if (into == nullptr) return;
  std::string_view hex = text.substr(text.rfind(' ') + 1);
  into->clear();
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    into->push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
}

// Seals any inner plaintext (content, type, padding) as the client would under
// TLS_AES_128_GCM_SHA256, the suite our handshake picks for OpenSSL's client.
class Forger {
 public:
  explicit Forger(const std::string& secret) : secret_(secret.begin(), secret.end()) { keys(); }
  ~Forger() { EVP_CIPHER_CTX_free(ctx_); }

  std::vector<uint8_t> inner(std::span<const uint8_t> inner_plaintext) {
    const size_t body = inner_plaintext.size() + 16;
    std::vector<uint8_t> record(5 + body);
    record[0] = 23;
    record[1] = 3;
    record[2] = 3;
    record[3] = static_cast<uint8_t>(body >> 8);
    record[4] = static_cast<uint8_t>(body);
    uint8_t nonce[12];
    std::memcpy(nonce, iv_, 12);
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(sequence_ >> (8 * i));
    int n = 0;
    EXPECT_EQ(EVP_EncryptInit_ex(ctx_, EVP_aes_128_gcm(), nullptr, key_, nonce), 1);
    EXPECT_EQ(EVP_EncryptUpdate(ctx_, nullptr, &n, record.data(), 5), 1);
    EXPECT_EQ(EVP_EncryptUpdate(ctx_, record.data() + 5, &n, inner_plaintext.data(),
                                static_cast<int>(inner_plaintext.size())),
              1);
    EXPECT_EQ(EVP_EncryptFinal_ex(ctx_, record.data() + 5 + n, &n), 1);
    EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, 16,
                                  record.data() + 5 + inner_plaintext.size()),
              1);
    ++sequence_;
    return record;
  }
  std::vector<uint8_t> sealed(uint8_t type, std::string_view content) {
    std::vector<uint8_t> plain(content.begin(), content.end());
    plain.push_back(type);
    return inner(plain);
  }
  // The client's next traffic secret (RFC 8446 7.2), as after its KeyUpdate.
  void update() {
    uint8_t next[32];
    ASSERT_TRUE(hkdf_expand_label("SHA256", secret_.data(), 32, "traffic upd", next, 32));
    secret_.assign(next, next + 32);
    sequence_ = 0;
    keys();
  }

 private:
  void keys() {
    ASSERT_EQ(secret_.size(), 32u);
    ASSERT_TRUE(hkdf_expand_label("SHA256", secret_.data(), 32, "key", key_, 16));
    ASSERT_TRUE(hkdf_expand_label("SHA256", secret_.data(), 32, "iv", iv_, 12));
  }
  std::vector<uint8_t> secret_;
  uint8_t key_[16];
  uint8_t iv_[12];
  uint64_t sequence_ = 0;
  EVP_CIPHER_CTX* ctx_ = EVP_CIPHER_CTX_new();
};

// Our handshake and records on the server, OpenSSL's client; established, nothing sent yet.
struct Established {
  Fixture f;
  std::unique_ptr<Session> server;
  std::unique_ptr<Session> client;
  std::unique_ptr<Forger> forger;  // the client's application key
  std::vector<uint8_t> plain = std::vector<uint8_t>(64 * 1024);
  uint8_t out[8192];

  void start() {
    ContextOptions own;
    own.own_records = true;
    own.own_handshake = true;
    f = Fixture::make(own, {});
    SSL_CTX_set_keylog_callback(f.client->native(), keylog);
    g_traffic_secret.clear();
    server = std::move(*Session::server(*f.server));
    server->set_expected_host(kHost);
    client = std::move(*Session::client(*f.client, kHost, 443));
    Pair pair(*client, *server);
    ASSERT_TRUE(pair.handshake());
    ASSERT_TRUE(server->own_handshake());
    ASSERT_EQ(server->cipher_name(), "TLS_AES_128_GCM_SHA256");
    forger = std::make_unique<Forger>(g_traffic_secret);
  }
  // What the server delivered of `bytes`; `answer` gets what it wrote back.
  std::string to_server(const std::vector<uint8_t>& bytes, std::vector<uint8_t>* answer = nullptr) {
    IoResult r = server->receive(bytes, plain, out);
    if (answer != nullptr) answer->insert(answer->end(), out, out + r.cipher_bytes);
    return std::string(reinterpret_cast<const char*>(plain.data()), r.plain_bytes);
  }
  // The alert the server sent, as the client's OpenSSL reads it.
  std::string client_reads(const std::vector<uint8_t>& answer) {
    uint8_t buf[8192];
    std::vector<uint8_t> p(16384);
    // OpenSSL's client stops after each KeyUpdate it reads: offer the rest again.
    std::span<const uint8_t> in(answer);
    for (int guard = 0; guard < 1000 && !in.empty(); ++guard) {
      in = in.subspan(client->receive(in, p, buf).cipher_consumed);
    }
    return client->failure_detail();
  }
};

TEST(OwnPath, InnerPlaintextOver2To14IsRecordOverflow) {
  Established e;
  ASSERT_NO_FATAL_FAILURE(e.start());
  // 2^14 bytes of content, and padding beyond it, are allowed.
  std::vector<uint8_t> inner(16384, 'a');
  inner.push_back(SSL3_RT_APPLICATION_DATA);
  inner.resize(inner.size() + 200, 0);
  EXPECT_EQ(e.to_server(e.forger->inner(inner)).size(), 16384u);
  ASSERT_EQ(e.server->state(), State::kEstablished) << e.server->failure_detail();
  // One byte more of content is not (RFC 8446 5.4).
  inner.assign(16385, 'b');
  inner.push_back(SSL3_RT_APPLICATION_DATA);
  EXPECT_EQ(e.to_server(e.forger->inner(inner)), "");
  EXPECT_EQ(e.server->state(), State::kError);
  EXPECT_EQ(e.server->failure(), Failure::kProtocol);
  EXPECT_NE(e.server->failure_detail().find("record_overflow"), std::string::npos)
      << e.server->failure_detail();
}

TEST(OwnPath, AnEmptyHandshakeRecordIsRefused) {
  Established e;
  ASSERT_NO_FATAL_FAILURE(e.start());
  std::vector<uint8_t> answer;
  e.to_server(e.forger->sealed(SSL3_RT_HANDSHAKE, ""), &answer);
  EXPECT_EQ(e.server->state(), State::kError);
  EXPECT_NE(e.server->failure_detail().find("empty handshake record"), std::string::npos)
      << e.server->failure_detail();
  EXPECT_NE(e.client_reads(answer).find("unexpected message"), std::string::npos)
      << e.client->failure_detail();
}

// 32 records in a row that carry nothing are taken; the 33rd is refused. Content resets the
// count.
void expect_capped_at_32(const std::function<std::vector<uint8_t>(Established&)>& nothing,
                         const char* why) {
  Established e;
  ASSERT_NO_FATAL_FAILURE(e.start());
  std::vector<uint8_t> answer;  // all the server wrote, for the client to read in order
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 32; ++i) e.to_server(nothing(e), &answer);
    ASSERT_EQ(e.server->state(), State::kEstablished) << why << e.server->failure_detail();
    EXPECT_EQ(e.to_server(e.forger->sealed(SSL3_RT_APPLICATION_DATA, "x"), &answer), "x") << why;
  }
  for (int i = 0; i < 32; ++i) e.to_server(nothing(e), &answer);
  ASSERT_EQ(e.server->state(), State::kEstablished) << why << e.server->failure_detail();
  e.to_server(nothing(e), &answer);
  EXPECT_EQ(e.server->state(), State::kError) << why;
  EXPECT_NE(e.server->failure_detail().find(why), std::string::npos) << e.server->failure_detail();
  EXPECT_NE(e.client_reads(answer).find("unexpected message"), std::string::npos)
      << e.client->failure_detail();
}

TEST(OwnPath, EmptyRecordsInARowAreCappedAt32) {
  expect_capped_at_32([](Established& e) { return e.forger->sealed(SSL3_RT_APPLICATION_DATA, ""); },
                      "too many empty records");
}

TEST(OwnPath, WarningAlertsInARowAreCappedAt32) {
  expect_capped_at_32(
      [](Established& e) {
        return e.forger->sealed(SSL3_RT_ALERT, std::string_view("\x01\x5a", 2));
      },
      "too many warning alerts");
}

TEST(OwnPath, KeyUpdatesInARowAreCappedAt32) {
  expect_capped_at_32(
      [](Established& e) {
        // update_requested: each one asks for ours (sent back) and moves the client's key.
        auto record = e.forger->sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\0\0\x01\x01", 5));
        e.forger->update();
        return record;
      },
      "too many KeyUpdates");
}

TEST(OwnPath, ApplicationDataInsideAPostHandshakeMessageIsRefused) {
  Established e;
  ASSERT_NO_FATAL_FAILURE(e.start());
  std::vector<uint8_t> answer;
  e.to_server(e.forger->sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\0\0", 3)), &answer);
  ASSERT_EQ(e.server->state(), State::kEstablished) << e.server->failure_detail();
  EXPECT_EQ(e.to_server(e.forger->sealed(SSL3_RT_APPLICATION_DATA, "between"), &answer), "");
  EXPECT_EQ(e.server->state(), State::kError);
  EXPECT_NE(e.server->failure_detail().find("inside a post-handshake message"), std::string::npos)
      << e.server->failure_detail();
  EXPECT_NE(e.client_reads(answer).find("unexpected message"), std::string::npos)
      << e.client->failure_detail();
}

// Each fault of the client's records is answered with the alert RFC 8446 section 6 names, as
// OpenSSL's record layer answers it.
TEST(OwnPath, FaultsAreAnsweredWithTheirAlert) {
  struct Case {
    const char* alert;  // as the client's OpenSSL names it
    std::function<std::vector<uint8_t>(Forger&)> record;
  };
  const Case cases[] = {
      {"bad record mac",
       [](Forger& f) {
         auto r = f.sealed(SSL3_RT_APPLICATION_DATA, "tampered");
         r[7] ^= 1;
         return r;
       }},
      {"record overflow",
       [](Forger& f) {
         std::vector<uint8_t> inner(16385, 'o');
         inner.push_back(SSL3_RT_APPLICATION_DATA);
         return f.inner(inner);
       }},
      {"unexpected message", [](Forger& f) { return f.sealed(99, "no such type"); }},
      {"decode error",
       [](Forger& f) { return f.sealed(SSL3_RT_ALERT, std::string_view("\x02\x28\x00", 3)); }},
  };
  for (const Case& c : cases) {
    Established e;
    ASSERT_NO_FATAL_FAILURE(e.start());
    std::vector<uint8_t> answer;
    e.to_server(c.record(*e.forger), &answer);
    EXPECT_EQ(e.server->state(), State::kError) << c.alert;
    EXPECT_EQ(e.server->failure(), Failure::kProtocol) << c.alert;
    EXPECT_FALSE(answer.empty()) << c.alert;
    EXPECT_NE(e.client_reads(answer).find(c.alert), std::string::npos)
        << c.alert << ": " << e.client->failure_detail();
  }
}

// Faults where our record layer once answered otherwise than OpenSSL's (found by
// tests/fuzz/tls_record_differential.cc), each refused at once with OpenSSL's alert.
TEST(OwnPath, FaultsAreAnsweredAsOpenSslAnswersThem) {
  struct Case {
    const char* alert;  // as the client's OpenSSL names it
    std::function<std::vector<uint8_t>(Forger&)> record;
  };
  const Case cases[] = {
      // Too short for a tag and a type: it cannot be opened, it is not an overflow.
      {"bad record mac",
       [](Forger&) { return std::vector<uint8_t>{23, 3, 3, 0, 5, 'a', 'b', 'c', 'd', 'e'}; }},
      {"bad record mac",
       [](Forger&) {
         std::vector<uint8_t> r = {23, 3, 3, 0, 16};
         r.resize(5 + 16, 0x5a);
         return r;
       }},
      // RFC 8446 5.4: no non-zero byte, no content type.
      {"unexpected message", [](Forger& f) { return f.inner(std::vector<uint8_t>(20, 0)); }},
      // An alert record is never empty.
      {"unexpected message", [](Forger& f) { return f.sealed(SSL3_RT_ALERT, ""); }},
      // Post-handshake messages are judged on their header, the body never waited for.
      {"unexpected message",
       [](Forger& f) {
         return f.sealed(SSL3_RT_HANDSHAKE, std::string_view("\x01\x00\x00\x10", 4));
       }},
      {"decode error",
       [](Forger& f) {
         return f.sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\x00\x00\x02", 4));
       }},
      // An empty KeyUpdate with more in its record: the key change is not on a record
      // boundary, whatever the message holds (RFC 8446 5.1).
      {"unexpected message",
       [](Forger& f) {
         return f.sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\x00\x00\x00\x00\x00", 6));
       }},
      // And alone in its record, a KeyUpdate without its byte.
      {"decode error",
       [](Forger& f) {
         return f.sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\x00\x00\x00", 4));
       }},
      // An alert between the pieces of a handshake message.
      {"unexpected message",
       [](Forger& f) {
         auto r = f.sealed(SSL3_RT_HANDSHAKE, std::string_view("\x18\x00", 2));
         auto alert = f.sealed(SSL3_RT_ALERT, std::string_view("\x01\x00", 2));
         r.insert(r.end(), alert.begin(), alert.end());
         return r;
       }},
      // A record that is not application_data outside is refused on its header, the body
      // never waited for.
      {"unexpected message",
       [](Forger&) { return std::vector<uint8_t>{SSL3_RT_HANDSHAKE, 3, 3, 0x27, 0x01, 1, 0}; }},
  };
  for (const Case& c : cases) {
    Established e;
    ASSERT_NO_FATAL_FAILURE(e.start());
    std::vector<uint8_t> answer;
    e.to_server(c.record(*e.forger), &answer);
    EXPECT_EQ(e.server->state(), State::kError) << c.alert;
    EXPECT_EQ(e.server->failure(), Failure::kProtocol) << c.alert;
    EXPECT_FALSE(answer.empty()) << c.alert;
    EXPECT_NE(e.client_reads(answer).find(c.alert), std::string::npos)
        << c.alert << ": " << e.client->failure_detail();
  }
}

// The switch from OpenSSL's records proves the record number it counted for sending: a count
// off by one either way is caught before any record of ours, and the connection fails rather
// than seal under a nonce OpenSSL may have used. With the right count, nothing extra reaches
// the peer.
TEST(OwnPath, TheRecordCountIsProvenAtTheSwitch) {
  for (int64_t skew : {0, -1, 1}) {
    ContextOptions own;
    own.own_records = true;
    Fixture f = Fixture::make(own, {});
    auto server = std::move(*Session::server(*f.server));
    server->set_expected_host(kHost);
    server->skew_counted_records_for_testing(skew);
    auto client = std::move(*Session::client(*f.client, kHost, 443));
    const uint64_t unproven_before = own_record_switches_unproven();
    Pair pair(*client, *server);
    const bool handshake = pair.handshake();
    EXPECT_EQ(own_record_switches_unproven() - unproven_before, skew == 0 ? 0u : 1u) << skew;
    if (skew == 0) {
      ASSERT_TRUE(handshake);
      EXPECT_TRUE(server->own_records());
      pair.client_sends("GET / HTTP/1.1\r\n\r\n");
      pair.server_sends("HTTP/1.1 200 OK\r\n\r\n");
      EXPECT_EQ(pair.server_plain, "GET / HTTP/1.1\r\n\r\n");
      EXPECT_EQ(pair.client_plain, "HTTP/1.1 200 OK\r\n\r\n");
      EXPECT_EQ(client->state(), State::kEstablished) << client->failure_detail();
      continue;
    }
    EXPECT_FALSE(server->own_records()) << skew;
    EXPECT_EQ(server->state(), State::kError) << skew;
    EXPECT_NE(server->failure_detail().find("record number counted at the switch"),
              std::string::npos)
        << server->failure_detail();
  }
}

TEST(OwnPath, CloseNotifyDuringTheHandshakeIsAFailure) {
  ContextOptions own;
  own.own_records = true;
  own.own_handshake = true;
  Fixture f = Fixture::make(own, {});
  SSL_CTX_set_keylog_callback(f.client->native(), keylog);
  g_handshake_secret.clear();
  auto server = std::move(*Session::server(*f.server));
  server->set_expected_host(kHost);
  auto client = std::move(*Session::client(*f.client, kHost, 443));
  std::vector<uint8_t> plain(16384);
  uint8_t hello[4096];
  uint8_t out[8192];
  const size_t n = client->start(hello);
  IoResult r = server->receive({hello, n}, plain, out);
  ASSERT_TRUE(server->own_handshake());
  client->receive({out, r.cipher_bytes}, plain, hello);  // its Finished is held back
  // In place of its Finished, under its handshake key: close_notify.
  Forger handshake_key(g_handshake_secret);
  server->receive(handshake_key.sealed(SSL3_RT_ALERT, std::string_view("\x01\x00", 2)), plain, out);
  EXPECT_EQ(server->state(), State::kError);
  EXPECT_EQ(server->failure(), Failure::kProtocol);
  EXPECT_EQ(server->failure_detail(), "the peer closed the handshake");
}

// RFC 7748 section 6.1: a share of small order makes the shared secret all zeros. Our handshake
// refuses it (OpenSSL's X25519 does), leaving the ClientHello to OpenSSL, which refuses it too.
TEST(OwnPath, LowOrderX25519SharesAreRefused) {
  const char* const points[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* point : points) {
    ContextOptions own;
    own.own_records = true;
    own.own_handshake = true;
    Fixture f = Fixture::make(own, {});
    auto server = std::move(*Session::server(*f.server));
    server->set_expected_host(kHost);
    auto client = std::move(*Session::client(*f.client, kHost, 443));
    uint8_t hello[4096];
    const size_t n = client->start(hello);
    ClientHello parsed;
    ASSERT_EQ(parse_client_hello({hello, n}, &parsed), nullptr);
    uint8_t* share = hello + (parsed.x25519.data() - hello);
    for (size_t i = 0; i < 32; ++i) {
      share[i] = static_cast<uint8_t>(std::stoi(std::string(point + 2 * i, 2), nullptr, 16));
    }
    std::vector<uint8_t> plain(16384);
    uint8_t out[8192];
    server->receive({hello, n}, plain, out);
    EXPECT_FALSE(server->own_handshake()) << point;
    EXPECT_EQ(server->state(), State::kError) << point;
  }
}

}  // namespace
}  // namespace pamproxy::tls
