// TLS 1.3 records sealed and opened by pamproxy (ContextOptions::own_records) against OpenSSL's
// own record layer on the other side, and against itself: the switch after the handshake, data
// both ways in every slicing, KeyUpdate either way, close_notify, alerts, tampering, tickets.

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "pamproxy/tls/session.h"
#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
using test_util::Pair;

struct Sides {
  bool server_own;
  bool client_own;
  const char* name;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + (i * 13 + i / 509) % 58);
  return s;
}

class OwnRecords : public ::testing::TestWithParam<Sides> {
 protected:
  void SetUp() override { build(); }

  // A fresh pair of sessions over fresh contexts (tests that try several cases call it again).
  void build() {
    pair_.reset();
    client_.reset();
    server_.reset();
    ContextOptions server_options;
    server_options.own_records = GetParam().server_own;
    ContextOptions client_options;
    client_options.own_records = GetParam().client_own;
    f_ = Fixture::make(server_options, client_options);
    server_ = std::move(*Session::server(*f_.server));
    server_->set_expected_host("s3.amazonaws.com");
    client_ = std::move(*Session::client(*f_.client, "s3.amazonaws.com", 443));
    pair_ = std::make_unique<Pair>(*client_, *server_);
    pair_->plain_room = 64 * 1024;  // as the relay gives: whole records open in place
  }

  // Handshake, then one request and one response (a client switches after the first response).
  void establish() {
    ASSERT_TRUE(pair_->handshake()) << client_->failure_detail() << server_->failure_detail();
    pair_->client_sends("GET / HTTP/1.1\r\n\r\n");
    pair_->server_sends("HTTP/1.1 200 OK\r\n\r\n");
    ASSERT_EQ(pair_->server_plain, "GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(pair_->client_plain, "HTTP/1.1 200 OK\r\n\r\n");
    pair_->server_plain.clear();
    pair_->client_plain.clear();
    ASSERT_EQ(server_->own_records(), GetParam().server_own);
    ASSERT_EQ(client_->own_records(), GetParam().client_own);
  }

  // The own side (server if it is one) and its peer.
  Session& own() { return GetParam().server_own ? *server_ : *client_; }
  Session& peer() { return GetParam().server_own ? *client_ : *server_; }
  void own_sends(const std::string& data, size_t out = 32768) {
    GetParam().server_own ? pair_->server_sends(data, out) : pair_->client_sends(data, out);
  }
  void peer_sends(const std::string& data, size_t out = 32768) {
    GetParam().server_own ? pair_->client_sends(data, out) : pair_->server_sends(data, out);
  }
  std::string& own_plain() {
    return GetParam().server_own ? pair_->server_plain : pair_->client_plain;
  }
  std::string& peer_plain() {
    return GetParam().server_own ? pair_->client_plain : pair_->server_plain;
  }
  std::vector<uint8_t>& to_own() {
    return GetParam().server_own ? pair_->to_server : pair_->to_client;
  }
  std::vector<uint8_t>& to_peer() {
    return GetParam().server_own ? pair_->to_client : pair_->to_server;
  }

  Fixture f_;
  std::unique_ptr<Session> server_;
  std::unique_ptr<Session> client_;
  std::unique_ptr<Pair> pair_;
};

TEST_P(OwnRecords, ServerSwitchesAtTheHandshakeAndClientAfterTheFirstResponse) {
  ASSERT_TRUE(pair_->handshake());
  EXPECT_EQ(server_->own_records(), GetParam().server_own);
  EXPECT_FALSE(client_->own_records());  // the server's ticket may still be on its way
  pair_->client_sends("request");
  pair_->server_sends("response");
  EXPECT_EQ(client_->own_records(), GetParam().client_own);
  // OpenSSL took the ticket before the client switched: the next connection resumes.
  EXPECT_EQ(f_.client->cached_sessions(), 1u);
  auto server2 = std::move(*Session::server(*f_.server));
  auto client2 = std::move(*Session::client(*f_.client, "s3.amazonaws.com", 443));
  Pair again(*client2, *server2);
  ASSERT_TRUE(again.handshake());
  EXPECT_TRUE(client2->resumed());
  again.client_sends("after resumption");
  EXPECT_EQ(again.server_plain, "after resumption");
}

TEST_P(OwnRecords, BulkDataBothWaysArrivesExactly) {
  establish();
  const std::string down = pattern(3 * 1024 * 1024 + 5);
  pair_->server_sends(down);
  EXPECT_TRUE(pair_->client_plain == down);
  const std::string up = pattern(1024 * 1024 + 77);
  pair_->client_sends(up, 70000);  // several records per call
  EXPECT_TRUE(pair_->server_plain == up);
}

TEST_P(OwnRecords, SmallPlaintextRoomAndSmallOutputStillDeliverEveryByte) {
  establish();
  pair_->plain_room = 1000;  // every record is opened aside and handed out in pieces
  const std::string body = pattern(200000);
  own_sends(body, 700);  // records cut to fit 700 bytes of output
  EXPECT_TRUE(peer_plain() == body);
  peer_sends(body);
  EXPECT_TRUE(own_plain() == body);
}

TEST_P(OwnRecords, RecordsSplitAnywhereAreGathered) {
  establish();
  const std::string body = pattern(100000);
  // The peer's ciphertext, fed to our side by hand in odd slices.
  std::vector<uint8_t> wire;
  std::vector<uint8_t> sealed(70000);
  for (size_t off = 0; off < body.size();) {
    IoResult r = peer().send(
        {reinterpret_cast<const uint8_t*>(body.data()) + off, body.size() - off}, sealed);
    ASSERT_GT(r.plain_bytes, 0u);
    off += r.plain_bytes;
    wire.insert(wire.end(), sealed.begin(), sealed.begin() + r.cipher_bytes);
  }
  ASSERT_GT(wire.size(), body.size());
  std::string got;
  std::vector<uint8_t> plain(64 * 1024);
  std::vector<uint8_t> out(8192);
  const size_t slices[] = {1, 4, 5, 6, 16, 100, 4095, 16384, 16406, 16407, 50000};
  size_t at = 0;
  for (size_t i = 0; at < wire.size(); ++i) {
    const size_t n = std::min(slices[i % std::size(slices)], wire.size() - at);
    std::span<const uint8_t> in(wire.data() + at, n);
    for (int guard = 0; guard < 100; ++guard) {
      IoResult r = own().receive(in, plain, out);
      got.append(reinterpret_cast<const char*>(plain.data()), r.plain_bytes);
      in = in.subspan(r.cipher_consumed);
      if (in.empty() && !own().has_buffered_plaintext()) break;
    }
    ASSERT_TRUE(in.empty());
    at += n;
  }
  EXPECT_TRUE(got == body);
  EXPECT_TRUE(own().release_buffers());  // nothing half read
}

// The peer is OpenSSL's record layer: it can ask for a KeyUpdate and send alerts of its own.
class OwnRecordsAgainstOpenSsl : public OwnRecords {};

TEST_P(OwnRecordsAgainstOpenSsl, KeyUpdateRequestedByThePeerIsFollowedAndAnswered) {
  establish();
  // OpenSSL's side asks for a key update, then sends under its next key. Its message callback
  // counts the KeyUpdates it reads (ours).
  static int key_updates_read;
  key_updates_read = 0;
  SSL_set_msg_callback(peer().native(),
                       [](int write_p, int, int type, const void* buf, size_t len, SSL*, void*) {
                         if (!write_p && type == SSL3_RT_HANDSHAKE && len > 0 &&
                             static_cast<const uint8_t*>(buf)[0] == SSL3_MT_KEY_UPDATE) {
                           ++key_updates_read;
                         }
                       });
  ASSERT_EQ(SSL_key_update(peer().native(), SSL_KEY_UPDATE_REQUESTED), 1);
  peer_sends("under the peer's next key");
  EXPECT_EQ(own_plain(), "under the peer's next key");
  // Our KeyUpdate went back (the pump delivered it); our data after it uses our next key.
  EXPECT_EQ(key_updates_read, 1);  // ours, sent back at once
  own_sends("under our next key");
  EXPECT_EQ(peer_plain(), "under our next key");
  EXPECT_EQ(peer().state(), State::kEstablished);
  peer_sends("and again");
  EXPECT_EQ(own_plain(), "under the peer's next keyand again");
}

TEST_P(OwnRecords, OurKeyUpdateAfterEnoughRecordsIsFollowedByThePeer) {
  establish();
  own().set_records_per_key(3);
  const std::string body = pattern(20 * 16384 + 9);  // 21 records: 6 key updates
  own_sends(body);
  EXPECT_TRUE(peer_plain() == body);
  EXPECT_EQ(peer().state(), State::kEstablished);
  peer_sends("reply");
  EXPECT_EQ(own_plain(), "reply");
}

TEST_P(OwnRecords, CloseNotifyEitherWay) {
  establish();
  uint8_t out[4096];
  size_t n = own().shutdown(out);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(own().state(), State::kClosed);
  to_peer().assign(out, out + n);
  pair_->pump();
  EXPECT_EQ(peer().state(), State::kClosed);
  EXPECT_EQ(peer().failure_detail(), "the peer sent close_notify");
}

TEST_P(OwnRecords, PeerCloseNotifyClosesUs) {
  establish();
  uint8_t out[4096];
  size_t n = peer().shutdown(out);
  ASSERT_GT(n, 0u);
  to_own().assign(out, out + n);
  pair_->pump();
  EXPECT_EQ(own().state(), State::kClosed);
  EXPECT_EQ(own().failure(), Failure::kNone);
  EXPECT_EQ(own().failure_detail(), "the peer sent close_notify");
}

TEST_P(OwnRecords, TamperedRecordIsRefusedAndNothingIsDelivered) {
  establish();
  uint8_t out[4096];
  const std::string data = "never delivered";
  IoResult r = peer().send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, out);
  ASSERT_GT(r.cipher_bytes, 20u);
  out[r.cipher_bytes - 20] ^= 0x01;  // in the ciphertext
  to_own().assign(out, out + r.cipher_bytes);
  pair_->pump();
  EXPECT_EQ(own().state(), State::kError);
  EXPECT_EQ(own().failure(), Failure::kProtocol);
  EXPECT_NE(own().failure_detail().find("bad_record_mac"), std::string::npos)
      << own().failure_detail();
  EXPECT_TRUE(own_plain().empty());
}

TEST_P(OwnRecordsAgainstOpenSsl, OurTamperedRecordMakesThePeerFailAndItsAlertIsNamed) {
  establish();
  uint8_t out[4096];
  const std::string data = "tampered on the way";
  IoResult r = own().send({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, out);
  ASSERT_GT(r.cipher_bytes, 20u);
  out[r.cipher_bytes - 1] ^= 0x80;  // in the tag
  to_peer().assign(out, out + r.cipher_bytes);
  pair_->pump();  // the peer fails; its alert comes back to us
  EXPECT_EQ(peer().state(), State::kError);
  EXPECT_TRUE(peer_plain().empty());
  EXPECT_EQ(own().state(), State::kError);
  EXPECT_EQ(own().failure(), Failure::kPeerAlert);
  EXPECT_NE(own().failure_detail().find("bad record mac"), std::string::npos)
      << own().failure_detail();
}

TEST_P(OwnRecords, PlaintextRecordsAfterTheHandshakeAreRefused) {
  establish();
  // A handshake record in the clear, and an application record longer than TLS 1.3 allows.
  for (std::vector<uint8_t> record : {std::vector<uint8_t>{22, 3, 3, 0, 4, 1, 0, 0, 0},
                                      std::vector<uint8_t>{23, 3, 3, 0x41, 0x01}}) {
    build();
    establish();
    record.resize(record.size() + 64, 0);
    uint8_t plain[1024];
    uint8_t out[4096];
    own().receive(record, plain, out);
    EXPECT_EQ(own().state(), State::kError);
    EXPECT_EQ(own().failure(), Failure::kProtocol);
    EXPECT_TRUE(own().failure_detail().find("unexpected_message") != std::string::npos ||
                own().failure_detail().find("record_overflow") != std::string::npos)
        << own().failure_detail();
  }
}

TEST_P(OwnRecords, OtherSuitesToo) {
  for (const char* suite : {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    build();
    ASSERT_EQ(SSL_set_ciphersuites(client_->native(), suite), 1);
    establish();
    EXPECT_EQ(server_->cipher_name(), suite);
    const std::string body = pattern(100003);
    pair_->server_sends(body);
    pair_->client_sends(body);
    EXPECT_TRUE(pair_->client_plain == body) << suite;
    EXPECT_TRUE(pair_->server_plain == body) << suite;
  }
}

TEST_P(OwnRecords, Tls12StaysWithOpenSsl) {
  ASSERT_EQ(SSL_set_max_proto_version(client_->native(), TLS1_2_VERSION), 1);
  ASSERT_TRUE(pair_->handshake());
  pair_->client_sends("over TLS 1.2");
  pair_->server_sends("still OpenSSL's records");
  EXPECT_FALSE(server_->own_records());
  EXPECT_FALSE(client_->own_records());
  EXPECT_EQ(pair_->server_plain, "over TLS 1.2");
  EXPECT_EQ(pair_->client_plain, "still OpenSSL's records");
}

std::string side_name(const ::testing::TestParamInfo<Sides>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Sides, OwnRecords,
                         ::testing::Values(Sides{true, false, "ServerOwn"},
                                           Sides{false, true, "ClientOwn"},
                                           Sides{true, true, "BothOwn"}),
                         side_name);
INSTANTIATE_TEST_SUITE_P(Sides, OwnRecordsAgainstOpenSsl,
                         ::testing::Values(Sides{true, false, "ServerOwn"},
                                           Sides{false, true, "ClientOwn"}),
                         side_name);

}  // namespace
}  // namespace pamproxy::tls
