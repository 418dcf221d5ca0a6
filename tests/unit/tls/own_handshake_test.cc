// pamproxy's own TLS 1.3 server handshake (ContextOptions::own_handshake) against OpenSSL's
// client: the ClientHellos it serves, the ones it leaves to OpenSSL (and that OpenSSL then
// serves as before), the client's Finished checked, alerts, slicing, the chain sent.

#include "src/tls/own_handshake.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "pamproxy/tls/session.h"
#include "src/tls/records.h"
#include "src/tls/secrets.h"
#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

constexpr char kHost[] = "s3.us-east-1.amazonaws.com";

ContextOptions own() {
  ContextOptions o;
  o.own_records = true;
  o.own_handshake = true;
  return o;
}

struct Sessions {
  Fixture f;
  std::unique_ptr<Session> server;
  std::unique_ptr<Session> client;
  explicit Sessions(const ContextOptions& server_options = own(),
                    const ContextOptions& client_options = {}) {
    f = Fixture::make(server_options, client_options);
    server = std::move(*Session::server(*f.server));
    server->set_expected_host(kHost);
    client = std::move(*Session::client(*f.client, kHost, 443));
  }
};

// Data both ways after the handshake.
void exchange(Pair& pair) {
  pair.client_sends("GET / HTTP/1.1\r\nHost: s3\r\n\r\n");
  pair.server_sends("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(pair.server_plain, "GET / HTTP/1.1\r\nHost: s3\r\n\r\n");
  EXPECT_EQ(pair.client_plain, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST(OwnHandshake, ServesTheCommonClientHello) {
  Sessions s;
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake()) << s.client->failure_detail() << s.server->failure_detail();
  EXPECT_TRUE(s.server->own_handshake());
  EXPECT_TRUE(s.server->own_records());
  EXPECT_EQ(s.server->version_name(), "TLSv1.3");
  EXPECT_EQ(s.server->cipher_name(), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(s.client->cipher_name(), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(s.server->alpn(), "http/1.1");
  EXPECT_EQ(s.client->alpn(), "http/1.1");
  EXPECT_EQ(s.server->sni(), kHost);
  EXPECT_FALSE(s.server->resumed());
  // The client verified the minted leaf for the host (a Session client always verifies).
  EXPECT_EQ(SSL_get_verify_result(s.client->native()), X509_V_OK);
  exchange(pair);
  // Many records both ways under the application keys.
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  pair.server_plain.clear();
  pair.client_plain.clear();
  pair.client_sends(big);
  pair.server_sends(big);
  EXPECT_TRUE(pair.server_plain == big);
  EXPECT_TRUE(pair.client_plain == big);
}

TEST(OwnHandshake, ChaCha20WhenTheClientOffersOnlyThat) {
  Sessions s;
  ASSERT_EQ(SSL_set_ciphersuites(s.client->native(), "TLS_CHACHA20_POLY1305_SHA256"), 1);
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake()) << s.client->failure_detail() << s.server->failure_detail();
  EXPECT_TRUE(s.server->own_handshake());
  EXPECT_EQ(s.server->cipher_name(), "TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(s.client->cipher_name(), "TLS_CHACHA20_POLY1305_SHA256");
  exchange(pair);
}

TEST(OwnHandshake, WithoutMiddleboxCompatibilityNoChangeCipherSpecIsSent) {
  for (bool compat : {true, false}) {
    Sessions s;
    if (!compat) SSL_clear_options(s.client->native(), SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
    uint8_t out[4096];
    std::vector<uint8_t> hello(out, out + s.client->start(out));
    std::vector<uint8_t> plain(16384);
    IoResult r = s.server->receive(hello, plain, out);
    ASSERT_EQ(r.cipher_consumed, hello.size());
    ASSERT_TRUE(s.server->own_handshake());
    // ServerHello, then a ChangeCipherSpec record only for a client that sent a session id.
    ASSERT_GT(r.cipher_bytes, 5u);
    const size_t server_hello = 5 + (size_t{out[3]} << 8 | out[4]);
    EXPECT_EQ(out[server_hello] == SSL3_RT_CHANGE_CIPHER_SPEC, compat) << compat;
    Pair pair(*s.client, *s.server);
    pair.to_client.assign(out, out + r.cipher_bytes);
    pair.pump();
    ASSERT_EQ(s.server->state(), State::kEstablished) << s.server->failure_detail();
    ASSERT_EQ(s.client->state(), State::kEstablished) << s.client->failure_detail();
    exchange(pair);
  }
}

// What OpenSSL serves instead, exactly as before.
struct Left {
  const char* name;
  void (*configure)(SSL* client);
  const char* version;
};

class LeftToOpenSsl : public ::testing::TestWithParam<Left> {};

TEST_P(LeftToOpenSsl, AndOpenSslServesIt) {
  Sessions s;
  GetParam().configure(s.client->native());
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake()) << s.client->failure_detail() << s.server->failure_detail();
  EXPECT_FALSE(s.server->own_handshake());
  EXPECT_EQ(s.server->version_name(), GetParam().version);
  exchange(pair);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LeftToOpenSsl,
    ::testing::Values(
        Left{"Tls12", [](SSL* c) { SSL_set_max_proto_version(c, TLS1_2_VERSION); }, "TLSv1.2"},
        Left{"Aes256Only", [](SSL* c) { SSL_set_ciphersuites(c, "TLS_AES_256_GCM_SHA384"); },
             "TLSv1.3"},
        Left{"P256KeyShareOnly", [](SSL* c) { SSL_set1_groups_list(c, "P-256"); }, "TLSv1.3"}),
    [](const ::testing::TestParamInfo<Left>& p) { return std::string(p.param.name); });

TEST(OwnHandshake, AnAlpnListWithoutHttp11GetsNoAlpn) {
  Sessions s;
  static const unsigned char kH2[] = {2, 'h', '2'};
  ASSERT_EQ(SSL_set_alpn_protos(s.client->native(), kH2, sizeof(kH2)), 0);
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake()) << s.client->failure_detail() << s.server->failure_detail();
  EXPECT_TRUE(s.server->own_handshake());
  EXPECT_EQ(s.server->alpn(), "");
  EXPECT_EQ(s.client->alpn(), "");
}

TEST(OwnHandshake, SniMismatchFailsAsWithOpenSsl) {
  Sessions s;
  s.server->set_expected_host("sts.amazonaws.com");
  Pair pair(*s.client, *s.server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_FALSE(s.server->own_handshake());
  EXPECT_EQ(s.server->failure(), Failure::kSniMismatch);
  EXPECT_NE(s.server->failure_detail().find("differs from the CONNECT host"), std::string::npos);
}

TEST(OwnHandshake, AClientThatDoesNotTrustTheCaIsNamedByItsAlert) {
  Sessions s;
  Fixture other = Fixture::make();  // a client trusting another CA
  auto client = std::move(*Session::client(*other.client, kHost, 443));
  Pair pair(*client, *s.server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_TRUE(s.server->own_handshake());
  EXPECT_EQ(client->failure(), Failure::kUntrustedCertificate);
  EXPECT_EQ(s.server->state(), State::kError);
  EXPECT_EQ(s.server->failure(), Failure::kPeerAlert);
  EXPECT_NE(s.server->failure_detail().find("unknown CA"), std::string::npos)
      << s.server->failure_detail();
}

TEST(OwnHandshake, APskOfferIsLeftToOpenSslWhichResumes) {
  Sessions s;
  // A first connection OpenSSL serves (AES-256 only) gets a ticket.
  SSL_set_ciphersuites(s.client->native(), "TLS_AES_256_GCM_SHA384");
  Pair first(*s.client, *s.server);
  ASSERT_TRUE(first.handshake());
  exchange(first);
  ASSERT_FALSE(s.server->own_handshake());
  ASSERT_EQ(s.f.client->cached_sessions(), 1u);
  auto server = std::move(*Session::server(*s.f.server));
  server->set_expected_host(kHost);
  auto client = std::move(*Session::client(*s.f.client, kHost, 443));
  SSL_set_ciphersuites(client->native(), "TLS_AES_256_GCM_SHA384");  // the ticket's hash
  Pair again(*client, *server);
  ASSERT_TRUE(again.handshake());
  EXPECT_FALSE(server->own_handshake());
  EXPECT_TRUE(server->resumed());
  EXPECT_TRUE(client->resumed());
  exchange(again);
}

// Offers `in` a growing prefix at a time, as a socket delivering `slice` bytes per read would.
void trickle(Session& s, std::vector<uint8_t>& in, std::vector<uint8_t>& out, size_t slice) {
  std::vector<uint8_t> plain(16384);
  uint8_t buf[8192];
  size_t offered = 0;
  for (int i = 0; i < 100000 && offered < in.size(); ++i) {
    offered = std::min(in.size(), offered + slice);
    IoResult r = s.receive({in.data(), offered}, plain, buf);
    in.erase(in.begin(), in.begin() + static_cast<ptrdiff_t>(r.cipher_consumed));
    offered -= r.cipher_consumed;
    out.insert(out.end(), buf, buf + r.cipher_bytes);
  }
}

TEST(OwnHandshake, AClientHelloInPiecesIsLeftToOpenSslAndAFinishedInPiecesIsGathered) {
  {
    Sessions s;
    Pair pair(*s.client, *s.server);
    uint8_t out[4096];
    pair.to_server.assign(out, out + s.client->start(out));
    trickle(*s.server, pair.to_server, pair.to_client, 100);
    EXPECT_FALSE(s.server->own_handshake());
    pair.pump();
    ASSERT_EQ(s.server->state(), State::kEstablished) << s.server->failure_detail();
    exchange(pair);
  }
  for (size_t slice : {1, 7, 50}) {
    Sessions s;
    Pair pair(*s.client, *s.server);
    uint8_t out[4096];
    pair.to_server.assign(out, out + s.client->start(out));
    trickle(*s.server, pair.to_server, pair.to_client, 4096);
    ASSERT_TRUE(s.server->own_handshake());
    // The client's ChangeCipherSpec and Finished, a few bytes at a time.
    std::vector<uint8_t> plain(16384);
    uint8_t buf[8192];
    IoResult r = s.client->receive(pair.to_client, plain, buf);
    pair.to_client.clear();
    pair.to_server.assign(buf, buf + r.cipher_bytes);
    ASSERT_EQ(s.client->state(), State::kEstablished);
    trickle(*s.server, pair.to_server, pair.to_client, slice);
    ASSERT_EQ(s.server->state(), State::kEstablished) << slice << s.server->failure_detail();
    exchange(pair);
  }
}

// The client's handshake traffic secret, from OpenSSL's key log.
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

// Our flight answered by the client, whose reply (ChangeCipherSpec, Finished) is held back; and
// its handshake key, to seal records of our choosing as if it had sent them.
struct HeldReply {
  Sessions s;
  std::vector<uint8_t> reply;
  RecordProtection client_key;  // seals
  std::vector<uint8_t> plain = std::vector<uint8_t>(16384);
  uint8_t out[8192];

  void start() {
    SSL_CTX_set_keylog_callback(s.f.client->native(), keylog);
    g_client_hs_secret.clear();
    uint8_t hello[4096];
    const size_t n = s.client->start(hello);
    IoResult r = s.server->receive({hello, n}, plain, out);
    ASSERT_TRUE(s.server->own_handshake());
    IoResult c = s.client->receive({out, r.cipher_bytes}, plain, hello);
    ASSERT_EQ(s.client->state(), State::kEstablished);
    reply.assign(hello, hello + c.cipher_bytes);
    ASSERT_EQ(g_client_hs_secret.size(), 32u);
    ASSERT_TRUE(client_key.init(0x1301, reinterpret_cast<const uint8_t*>(g_client_hs_secret.data()),
                                32, 0, true));
  }
  // Records sealed with the client's handshake key, in order.
  std::vector<uint8_t> sealed(uint8_t type, std::span<const uint8_t> content) {
    std::vector<uint8_t> record(content.size() + RecordProtection::kOverhead);
    record.resize(client_key.seal(type, content, record.data()));
    return record;
  }
  // Returns what the server wrote back.
  std::vector<uint8_t> to_server(std::span<const uint8_t> bytes) {
    IoResult r = s.server->receive(bytes, plain, out);
    return std::vector<uint8_t>(out, out + r.cipher_bytes);
  }
  // The alert the server sent, as the client's OpenSSL reads it.
  std::string client_reads(const std::vector<uint8_t>& reply_from_server) {
    uint8_t buf[4096];
    s.client->receive(reply_from_server, plain, buf);
    return s.client->failure_detail();
  }
};

TEST(OwnHandshake, AFinishedThatDoesNotVerifyIsRefused) {
  for (bool tamper : {false, true}) {
    HeldReply h;
    ASSERT_NO_FATAL_FAILURE(h.start());
    // The client's real Finished, opened with its handshake key, then sealed again as it was
    // or with one bit of verify_data changed.
    const size_t at = h.reply[0] == SSL3_RT_CHANGE_CIPHER_SPEC ? 6 : 0;
    RecordProtection open_key;
    ASSERT_TRUE(open_key.init(0x1301, reinterpret_cast<const uint8_t*>(g_client_hs_secret.data()),
                              32, 0, false));
    uint8_t message[64];
    uint8_t type = 0;
    size_t length = 0;
    ASSERT_TRUE(open_key.open({h.reply.data() + at, h.reply.size() - at}, message, &type, &length));
    ASSERT_EQ(type, SSL3_RT_HANDSHAKE);
    ASSERT_EQ(length, 36u);
    ASSERT_EQ(message[0], SSL3_MT_FINISHED);
    if (tamper) message[20] ^= 0x01;
    // The ChangeCipherSpec (when the client sent one) as it came, then the Finished.
    if (at > 0) h.to_server({h.reply.data(), at});
    std::vector<uint8_t> answer = h.to_server(h.sealed(SSL3_RT_HANDSHAKE, {message, length}));
    if (tamper) {
      EXPECT_EQ(h.s.server->state(), State::kError);
      EXPECT_EQ(h.s.server->failure(), Failure::kProtocol);
      EXPECT_NE(h.s.server->failure_detail().find("Finished did not verify"), std::string::npos);
      // The client is told why: "the peer sent an alert: tlsv1 alert decrypt error".
      EXPECT_NE(h.client_reads(answer).find("decrypt error"), std::string::npos)
          << h.s.client->failure_detail();
    } else {
      EXPECT_EQ(h.s.server->state(), State::kEstablished) << h.s.server->failure_detail();
    }
  }
}

TEST(OwnHandshake, ApplicationDataBeforeTheFinishedIsRefused) {
  HeldReply h;
  ASSERT_NO_FATAL_FAILURE(h.start());
  const uint8_t data[4] = {'G', 'E', 'T', ' '};
  std::vector<uint8_t> answer = h.to_server(h.sealed(SSL3_RT_APPLICATION_DATA, data));
  EXPECT_EQ(h.s.server->state(), State::kError);
  EXPECT_NE(h.client_reads(answer).find("unexpected message"), std::string::npos)
      << h.s.client->failure_detail();
  EXPECT_NE(h.s.server->failure_detail().find("before the client's Finished"), std::string::npos)
      << h.s.server->failure_detail();
}

TEST(OwnHandshake, TheEndOfTheConnectionDuringTheHandshakeIsUnexpectedEof) {
  HeldReply h;
  ASSERT_NO_FATAL_FAILURE(h.start());
  // No keys for the kernel before the client's Finished.
  EXPECT_FALSE(h.s.server->traffic_keys(Direction::kTransmit).ok());
  h.s.server->receive_eof();
  EXPECT_EQ(h.s.server->failure(), Failure::kUnexpectedEof);
}

TEST(OwnHandshake, SendsTheOrganisationsIntermediateForAClientTrustingOnlyTheRoot) {
  test_util::TempDir dir;
  auto org = test_util::make_organisation_ca(dir);
  ASSERT_TRUE(org.ok()) << org.status();
  auto server_ctx = ServerContext::create(org->leaves, own());
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.status();
  ClientOptions options;
  options.ca_file = org->root_file;
  auto client_ctx = ClientContext::create(options);
  ASSERT_TRUE(client_ctx.ok()) << client_ctx.status();
  auto server = std::move(*Session::server(**server_ctx));
  auto client = std::move(*Session::client(**client_ctx, "sts.amazonaws.com", 443));
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail();
  EXPECT_TRUE(server->own_handshake());
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(client->native());
  ASSERT_NE(sent, nullptr);
  ASSERT_EQ(sk_X509_num(sent), 2);
  EXPECT_EQ(X509_cmp(sk_X509_value(sent, 1), org->intermediate.get()), 0);
  exchange(pair);
}

// For kTLS: the keys and record numbers the kernel would get from our side are the ones
// OpenSSL's client uses the other way.
TEST(OwnHandshake, TrafficKeysMatchThePeersForTheKernel) {
  ContextOptions client_options;
  client_options.capture_secrets = true;
  Sessions s(own(), client_options);
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake()) << s.client->failure_detail() << s.server->failure_detail();
  ASSERT_TRUE(s.server->own_handshake());
  exchange(pair);  // one record each way under the application keys
  pair.client_sends("and a second request");
  for (Direction d : {Direction::kTransmit, Direction::kReceive}) {
    auto ours = s.server->traffic_keys(d);
    auto theirs = s.client->traffic_keys(d == Direction::kTransmit ? Direction::kReceive
                                                                   : Direction::kTransmit);
    ASSERT_TRUE(ours.ok()) << ours.status();
    ASSERT_TRUE(theirs.ok()) << theirs.status();
    EXPECT_EQ(ours->version, TLS1_3_VERSION);
    EXPECT_EQ(ours->cipher_id, theirs->cipher_id);
    ASSERT_EQ(ours->key_len, theirs->key_len);
    EXPECT_EQ(std::memcmp(ours->key, theirs->key, ours->key_len), 0);
    ASSERT_EQ(ours->iv_len, theirs->iv_len);
    EXPECT_EQ(std::memcmp(ours->iv, theirs->iv, ours->iv_len), 0);
    EXPECT_EQ(ours->sequence, theirs->sequence);
    EXPECT_EQ(ours->sequence, d == Direction::kTransmit ? 1u : 2u);
  }
}

TEST(OwnHandshake, OffUnlessAsked) {
  ContextOptions records_only;
  records_only.own_records = true;
  Sessions s(records_only);
  Pair pair(*s.client, *s.server);
  ASSERT_TRUE(pair.handshake());
  EXPECT_FALSE(s.server->own_handshake());
  EXPECT_TRUE(s.server->own_records());
}

// HKDF-Expand-Label on our HMAC against OpenSSL's HKDF, for both digests, outputs shorter and
// longer than one block, with and without a context.
TEST(HkdfExpandLabel, MatchesOpenSslsHkdf) {
  uint8_t secret[48];
  for (size_t i = 0; i < sizeof(secret); ++i) secret[i] = static_cast<uint8_t>(i * 7 + 1);
  const uint8_t context[32] = {1, 2, 3};
  for (const char* digest : {"SHA256", "SHA384"}) {
    const size_t secret_len = std::string_view(digest) == "SHA256" ? 32 : 48;
    for (size_t len : {12, 16, 32, 48, 100}) {
      for (bool with_context : {false, true}) {
        std::span<const uint8_t> ctx =
            with_context ? std::span<const uint8_t>(context) : std::span<const uint8_t>();
        uint8_t ours[100];
        ASSERT_TRUE(hkdf_expand_label(digest, secret, secret_len, "c hs traffic", ours, len, ctx));
        // The HkdfLabel by hand, then OpenSSL's HKDF-Expand.
        std::vector<uint8_t> info = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 18};
        for (char c : std::string("tls13 c hs traffic")) info.push_back(static_cast<uint8_t>(c));
        info.push_back(static_cast<uint8_t>(ctx.size()));
        info.insert(info.end(), ctx.begin(), ctx.end());
        EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
        EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
        int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret, secret_len),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
            OSSL_PARAM_construct_end()};
        uint8_t theirs[100];
        ASSERT_EQ(EVP_KDF_derive(kctx, theirs, len, params), 1);
        EVP_KDF_CTX_free(kctx);
        EVP_KDF_free(kdf);
        EXPECT_EQ(std::memcmp(ours, theirs, len), 0) << digest << " " << len << " " << with_context;
      }
    }
  }
  uint8_t out[32];
  EXPECT_FALSE(hkdf_expand_label("MD5", secret, 32, "key", out, 16));
}

TEST(ParseClientHello, EveryTruncationIsRefusedAndTheWholeIsServed) {
  Sessions s;
  uint8_t out[4096];
  const size_t n = s.client->start(out);
  ClientHello hello;
  ASSERT_EQ(parse_client_hello({out, n}, &hello), nullptr);
  EXPECT_EQ(hello.record_size, n);
  EXPECT_EQ(hello.sni, kHost);
  EXPECT_EQ(hello.suite, 0x1301);
  EXPECT_TRUE(hello.alpn_http11);
  EXPECT_EQ(hello.x25519.size(), 32u);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NE(parse_client_hello({out, i}, &hello), nullptr) << i;
  }
  // Every single-byte change is either still a ClientHello this path serves or refused: never
  // a crash (the fuzz target goes further).
  size_t served = 0;
  for (size_t i = 0; i < n; ++i) {
    out[i] ^= 0xff;
    if (parse_client_hello({out, n}, &hello) == nullptr) ++served;
    out[i] ^= 0xff;
  }
  EXPECT_LT(served, n);
}

}  // namespace
}  // namespace pamproxy::tls
