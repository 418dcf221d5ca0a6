// In-memory client/server pairs of real OpenSSL sessions through the Session API: handshakes
// (TLS 1.2 and 1.3), ALPN, SNI rules, upstream verification failures, resumption, data both
// ways, close_notify, and hostile input.

#include "pamproxy/tls/session.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

std::unique_ptr<Session> server_session(const Fixture& f, std::string_view expected = "") {
  auto s = Session::server(*f.server);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!expected.empty()) (*s)->set_expected_host(expected);
  return std::move(*s);
}

std::unique_ptr<Session> client_session(ClientContext& ctx, std::string_view host,
                                        uint16_t port = 443) {
  auto s = Session::client(ctx, host, port);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST(Session, Tls13HandshakeAlpnSniAndDataBothWays) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "s3.us-east-1.amazonaws.com");
  auto client = client_session(*f.client, "S3.us-east-1.amazonaws.com.");
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail() << " / " << server->failure_detail();
  EXPECT_EQ(server->sni(), "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(server->alpn(), "http/1.1");
  EXPECT_EQ(client->alpn(), "http/1.1");
  EXPECT_EQ(client->version_name(), "TLSv1.3");
  EXPECT_EQ(server->cipher_name(), "TLS_AES_128_GCM_SHA256");
  EXPECT_FALSE(client->resumed());

  std::string request = "GET / HTTP/1.1\r\nHost: s3.us-east-1.amazonaws.com\r\n\r\n";
  pair.client_sends(request);
  EXPECT_EQ(pair.server_plain, request);
  std::string body = pattern(1 << 20);  // many full records
  pair.server_sends(body);
  EXPECT_EQ(pair.client_plain.size(), body.size());
  EXPECT_TRUE(pair.client_plain == body);
}

TEST(Session, Tls12HandshakeAndData) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "sts.amazonaws.com");
  auto client = client_session(*f.client, "sts.amazonaws.com");
  ASSERT_EQ(SSL_set_max_proto_version(client->native(), TLS1_2_VERSION), 1);
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail() << " / " << server->failure_detail();
  EXPECT_EQ(server->version_name(), "TLSv1.2");
  EXPECT_EQ(server->cipher_name(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(server->alpn(), "http/1.1");
  std::string body = pattern(200000);
  pair.client_sends(body);
  EXPECT_TRUE(pair.server_plain == body);
}

TEST(Session, ServerMinVersion13RefusesTls12Client) {
  ContextOptions options;
  options.min_version = config::TlsVersion::k1_3;
  Fixture f = Fixture::make(options);
  auto server = server_session(f);
  ClientOptions co;
  co.ca_file = f.ca_file;
  auto ctx = ClientContext::create(co);
  ASSERT_TRUE(ctx.ok());
  auto client = client_session(**ctx, "a.example");
  ASSERT_EQ(SSL_set_max_proto_version(client->native(), TLS1_2_VERSION), 1);
  Pair pair(*client, *server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(server->state(), State::kError);
  EXPECT_EQ(server->failure(), Failure::kProtocol);
  EXPECT_NE(server->failure_detail().find("protocol"), std::string::npos)
      << server->failure_detail();
  EXPECT_EQ(client->state(), State::kError);
}

TEST(Session, SniMismatchFailsBeforeMintingAndTellsBothSides) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "s3.amazonaws.com");
  auto client = client_session(*f.client, "evil.example.com");
  Pair pair(*client, *server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(server->failure(), Failure::kSniMismatch);
  EXPECT_EQ(server->failure_detail(),
            "server name (SNI) evil.example.com differs from the CONNECT host s3.amazonaws.com");
  EXPECT_EQ(f.leaves->stats().mints, 0u);  // nothing minted for a name the client chose
  EXPECT_EQ(client->failure(), Failure::kPeerAlert);
  EXPECT_NE(client->failure_detail().find("unrecognized name"), std::string::npos)
      << client->failure_detail();
}

TEST(Session, NoSniForANameIsRefused) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "s3.amazonaws.com");
  // A client connecting to an address sends no SNI.
  auto client = client_session(*f.client, "127.0.0.1");
  Pair pair(*client, *server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(server->failure(), Failure::kNoSni);
  EXPECT_EQ(server->sni(), "");
}

TEST(Session, NoSniForAnAddressGetsAnIpCertificate) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "127.0.0.1");
  auto client = client_session(*f.client, "127.0.0.1");  // verifies the IP SAN
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail() << " / " << server->failure_detail();
  EXPECT_EQ(server->sni(), "");

  auto server6 = server_session(f, "[::1]");
  auto client6 = client_session(*f.client, "::1");
  Pair pair6(*client6, *server6);
  ASSERT_TRUE(pair6.handshake()) << client6->failure_detail() << " / " << server6->failure_detail();
}

TEST(Session, UntrustedUpstreamCertificateNamesTheVerifyError) {
  Fixture f = Fixture::make();
  Fixture other = Fixture::make();  // a client trusting a different CA
  auto server = server_session(f);
  auto client = client_session(*other.client, "s3.amazonaws.com");
  Pair pair(*client, *server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(client->state(), State::kError);
  EXPECT_EQ(client->failure(), Failure::kUntrustedCertificate);
  EXPECT_EQ(client->failure_detail(),
            "certificate of s3.amazonaws.com not trusted: unable to get local issuer certificate");
  EXPECT_EQ(server->failure(), Failure::kPeerAlert);
}

TEST(Session, IntermediateApplianceCaVerifiesForAClientTrustingOnlyTheRoot) {
  test_util::TempDir dir;
  auto org = test_util::make_organisation_ca(dir);
  ASSERT_TRUE(org.ok()) << org.status();
  auto server_ctx = ServerContext::create(org->leaves, {});
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.status();
  ClientOptions options;
  options.ca_file = org->root_file;
  auto client_ctx = ClientContext::create(options);
  ASSERT_TRUE(client_ctx.ok()) << client_ctx.status();

  auto server = Session::server(**server_ctx);
  ASSERT_TRUE(server.ok());
  auto client = client_session(**client_ctx, "sts.amazonaws.com");
  Pair pair(*client, **server);
  ASSERT_TRUE(pair.handshake()) << client->failure_detail();
  // What came over the wire: the leaf, then the intermediate; the root stayed home.
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(client->native());
  ASSERT_NE(sent, nullptr);
  ASSERT_EQ(sk_X509_num(sent), 2);
  EXPECT_EQ(X509_cmp(sk_X509_value(sent, 1), org->intermediate.get()), 0);

  // The usual self-signed appliance CA: the leaf alone.
  Fixture f = Fixture::make();
  auto own_server = server_session(f);
  auto own_client = client_session(*f.client, "sts.amazonaws.com");
  Pair own(*own_client, *own_server);
  ASSERT_TRUE(own.handshake());
  EXPECT_EQ(sk_X509_num(SSL_get_peer_cert_chain(own_client->native())), 1);
}

TEST(Session, SystemStoreDoesNotTrustTheApplianceCa) {
  Fixture f = Fixture::make();
  auto ctx = ClientContext::create(ClientOptions{});  // the system trust store
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto server = server_session(f);
  auto client = client_session(**ctx, "s3.amazonaws.com");
  Pair pair(*client, *server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(client->failure(), Failure::kUntrustedCertificate);
}

TEST(Session, HostnameMismatchIsReported) {
  Fixture f = Fixture::make();
  auto key = generate_p256_key();
  ASSERT_TRUE(key.ok());
  auto cert = f.ca->mint("a.example", key->get(), 30);
  ASSERT_TRUE(cert.ok());
  auto fixed = ServerContext::create_fixed(std::move(*cert), std::move(*key), {});
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  auto server = Session::server(**fixed);
  ASSERT_TRUE(server.ok());
  auto client = client_session(*f.client, "b.example");
  Pair pair(*client, **server);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(client->failure(), Failure::kHostnameMismatch);
  EXPECT_NE(client->failure_detail().find("mismatch"), std::string::npos)
      << client->failure_detail();
}

void expect_resumption(int max_version) {
  Fixture f = Fixture::make();
  for (int round = 0; round < 2; ++round) {
    auto server = server_session(f, "dynamodb.us-east-1.amazonaws.com");
    auto client = client_session(*f.client, "dynamodb.us-east-1.amazonaws.com");
    ASSERT_EQ(SSL_set_max_proto_version(client->native(), max_version), 1);
    Pair pair(*client, *server);
    ASSERT_TRUE(pair.handshake()) << client->failure_detail();
    pair.client_sends("ping");  // lets the client read the TLS 1.3 ticket
    EXPECT_EQ(pair.server_plain, "ping");
    EXPECT_EQ(client->resumed(), round == 1) << "round " << round;
    EXPECT_EQ(server->resumed(), round == 1) << "round " << round;
    EXPECT_EQ(f.client->cached_sessions(), 1u);
  }
  EXPECT_EQ(f.leaves->stats().mints, 1u);
}

TEST(Session, ResumptionTls13) {
  expect_resumption(TLS1_3_VERSION);
}
TEST(Session, ResumptionTls12) {
  expect_resumption(TLS1_2_VERSION);
}

TEST(Session, SessionCacheIsPerHostAndPort) {
  Fixture f = Fixture::make();
  {
    auto server = server_session(f, "a.example");
    auto client = client_session(*f.client, "a.example", 443);
    Pair pair(*client, *server);
    ASSERT_TRUE(pair.handshake());
    pair.client_sends("x");
  }
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example", 8443);
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  EXPECT_FALSE(client->resumed());
  EXPECT_EQ(f.client->cached_sessions(), 2u);
  f.client->forget_session("a.example:443");
  EXPECT_EQ(f.client->cached_sessions(), 1u);
  EXPECT_EQ(f.client->take_session("a.example:443"), nullptr);
}

TEST(Session, SmallOutputBuffersStillDeliverEveryByte) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example");
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  std::string body = pattern(100000);
  // 1000-byte output: each record is cut small; 40 bytes: records larger than the output wait
  // in OpenSSL (has_pending_output) and come out through flush().
  pair.server_sends(body, 1000);
  EXPECT_TRUE(pair.client_plain == body);
  pair.client_plain.clear();
  pair.server_sends(body.substr(0, 5000), 40);
  EXPECT_TRUE(pair.client_plain == body.substr(0, 5000));
}

TEST(Session, CiphertextInOneByteSlicesIsReassembled) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example");
  uint8_t out[8192];
  uint8_t plain[16384];
  std::vector<uint8_t> hello(out, out + client->start(out));
  size_t produced = 0;
  for (uint8_t byte : hello) {
    IoResult r = server->receive({&byte, 1}, plain, out);
    EXPECT_EQ(r.cipher_consumed, 1u);
    produced += r.cipher_bytes;
  }
  EXPECT_GT(produced, 500u);  // ServerHello .. Finished, once the whole ClientHello arrived
}

TEST(Session, CloseNotifyClosesThePeer) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example");
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  uint8_t out[4096];
  size_t n = client->shutdown(out);
  EXPECT_GT(n, 0u);
  EXPECT_EQ(client->state(), State::kClosed);
  pair.to_server.assign(out, out + n);
  pair.pump();
  EXPECT_EQ(server->state(), State::kClosed);
  EXPECT_EQ(server->failure(), Failure::kNone);
  EXPECT_EQ(server->failure_detail(), "the peer sent close_notify");
}

TEST(Session, EofWithoutCloseNotifyIsReported) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example");
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  server->receive_eof();
  EXPECT_EQ(server->state(), State::kError);
  EXPECT_EQ(server->failure(), Failure::kUnexpectedEof);

  auto fresh = server_session(f, "a.example");
  fresh->receive_eof();
  EXPECT_EQ(fresh->failure(), Failure::kUnexpectedEof);
  EXPECT_EQ(fresh->failure_detail(), "the connection closed during the TLS handshake");
}

TEST(Session, GarbageIsAProtocolError) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  std::string junk = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  uint8_t out[8192];
  uint8_t plain[1024];
  IoResult r =
      server->receive({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()}, plain, out);
  EXPECT_EQ(server->state(), State::kError);
  EXPECT_EQ(server->failure(), Failure::kProtocol);
  EXPECT_NE(server->failure_detail().find("http request"), std::string::npos)
      << server->failure_detail();
  EXPECT_EQ(r.plain_bytes, 0u);
  // A closed session ignores further input.
  IoResult again =
      server->receive({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()}, plain, out);
  EXPECT_EQ(again.cipher_consumed, 0u);
}

TEST(Session, TamperedRecordIsRejected) {
  Fixture f = Fixture::make();
  auto server = server_session(f, "a.example");
  auto client = client_session(*f.client, "a.example");
  Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  uint8_t out[4096];
  std::string data = "secret payload";
  IoResult r = client->send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, out);
  ASSERT_GT(r.cipher_bytes, 10u);
  out[r.cipher_bytes - 3] ^= 0x40;
  pair.to_server.assign(out, out + r.cipher_bytes);
  pair.pump();
  EXPECT_EQ(server->state(), State::kError);
  EXPECT_EQ(server->failure(), Failure::kProtocol);
  EXPECT_TRUE(pair.server_plain.empty());
}

TEST(Session, ChachaAndAes256SuitesWork) {
  Fixture f = Fixture::make();
  for (const char* suite : {"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"}) {
    auto server = server_session(f, "a.example");
    auto client = client_session(*f.client, "a.example");
    ASSERT_EQ(SSL_set_ciphersuites(client->native(), suite), 1);
    Pair pair(*client, *server);
    ASSERT_TRUE(pair.handshake());
    EXPECT_EQ(server->cipher_name(), suite);
    pair.client_sends("hello");
    EXPECT_EQ(pair.server_plain, "hello");
  }
}

}  // namespace
}  // namespace pamproxy::tls

namespace pamproxy::tls {
namespace {

TEST(Session, BuffersFreedWhileIdleComeBackForTheNextRecord) {
  test_util::Fixture f = test_util::Fixture::make();
  auto server = std::move(*Session::server(*f.server));
  auto client = std::move(*Session::client(*f.client, "a.example", 443));
  test_util::Pair pair(*client, *server);
  ASSERT_TRUE(pair.handshake());
  pair.client_sends("first");
  EXPECT_TRUE(server->release_buffers());
  EXPECT_TRUE(client->release_buffers());
  pair.client_sends("second");
  pair.server_sends("reply");
  EXPECT_EQ(pair.server_plain, "firstsecond");
  EXPECT_EQ(pair.client_plain, "reply");
}

}  // namespace
}  // namespace pamproxy::tls
