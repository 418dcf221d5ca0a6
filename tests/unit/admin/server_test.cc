// The admin API's HTTPS server with real sockets, real TLS and a real store: clients on several
// threads while the store changes from another (as the session indexer and the control plane
// change it), a client that never speaks, stopping with connections open, and a request that
// waits for an outside service (STS that never answers) while others are served. Also run under
// ThreadSanitizer (suite "tsan").

#include "pamproxy/admin/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pamproxy/admin/api.h"
#include "pamproxy/admin/sts_account.h"
#include "pamproxy/store/store.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"

namespace pamproxy::admin {
namespace {

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

class Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pamproxy-admin-server-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = store::Store::open({.database_file = dir_ + "/p.db",
                                 .master_key_file = dir_ + "/master.key"});
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto boot = store_->bootstrap("admin");
    ASSERT_TRUE(boot.ok() && boot->has_value());
    admin_id_ = (*boot)->admin.id;
    bearer_ = (*boot)->token.token.id + ":" + (*boot)->token.secret;

    auto ca = tls::CertificateAuthority::generate("test CA");
    ASSERT_TRUE(ca.ok());
    ca_ = std::move(*ca);
    auto key = tls::generate_p256_key();
    ASSERT_TRUE(key.ok());
    auto cert = ca_->mint("127.0.0.1", key->get(), 1);
    ASSERT_TRUE(cert.ok());
    auto ctx = tls::ServerContext::create_fixed(std::move(*cert), std::move(*key), {});
    ASSERT_TRUE(ctx.ok());
    server_ctx_ = std::move(*ctx);
    api_ = std::make_unique<Api>(ApiOptions{.store = store_.get(), .ca_pem = ca_->cert_pem()});

    client_ctx_ = SSL_CTX_new(TLS_client_method());
    // OpenSSL 3.0 fills a certificate's extension cache on its first use in a verification, and
    // two client threads doing that at once race inside it (ThreadSanitizer: ASN1_STRING_set
    // against ASN1_STRING_cmp on the CA's key identifier). Fill it here, before any thread.
    X509_check_purpose(ca_->cert(), -1, 0);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx_), ca_->cert());
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
  }

  void TearDown() override {
    server_.reset();
    if (client_ctx_ != nullptr) SSL_CTX_free(client_ctx_);
    std::filesystem::remove_all(dir_);
  }

  void start(ServerOptions o = {}) {
    o.listen = "127.0.0.1:0";
    Api* api = api_.get();
    auto s = Server::start(o, *server_ctx_, [api](const ApiRequest& r) { return api->handle(r); });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  int tcp_connect() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(server_->port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  // One request on its own connection (Connection: close), read to the end.
  Reply call(const std::string& method, const std::string& path, const std::string& body = "",
             bool auth = true) const {
    Reply reply;
    int fd = tcp_connect();
    if (fd < 0) return reply;
    SSL* ssl = SSL_new(client_ctx_);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "127.0.0.1");
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    if (SSL_connect(ssl) == 1) {
      std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
      if (auth) req += "Authorization: Bearer " + bearer_ + "\r\n";
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      std::string in;
      char buf[4096];
      for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) in.append(buf, static_cast<size_t>(n));
      if (in.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(in.c_str() + 9);
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        reply.head = in.substr(0, end + 2);
        reply.body = in.substr(end + 4);
      }
    }
    SSL_free(ssl);
    ::close(fd);
    return reply;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::string admin_id_;
  std::string bearer_;
  std::unique_ptr<tls::CertificateAuthority> ca_;
  std::unique_ptr<tls::ServerContext> server_ctx_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Server> server_;
  SSL_CTX* client_ctx_ = nullptr;
};

TEST_F(Fixture, ClientsOnSeveralThreadsWhileTheStoreChanges) {
  start();
  constexpr int kPerThread = 20;
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Reply created = call("POST", "/api/v1/users",
                             "{\"name\":\"api-" + std::to_string(t) + "-" + std::to_string(i) +
                                 "\"}");
        Reply who = call("GET", "/api/v1/whoami");
        if (created.status != 201 || who.status != 200) bad.fetch_add(1);
      }
    });
  }
  // The control plane's side: changes straight through the store, publishing snapshots the
  // admin thread reads.
  std::thread control([&] {
    store::Actor actor{admin_id_, "", "test"};
    for (int i = 0; i < kPerThread; ++i) {
      if (!store_->create_user(actor, {"store-" + std::to_string(i), false}).ok()) bad.fetch_add(1);
      if (!store_->set_setting(actor, "proxy.enabled", i % 2 ? "true" : "false").ok()) {
        bad.fetch_add(1);
      }
    }
  });
  for (auto& c : clients) c.join();
  control.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store_->list_users().size(), 1u + 2 * kPerThread + kPerThread);
  Reply page = call("GET", "/api/v1/users?limit=1000");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("api-1-19"), std::string::npos);
  EXPECT_NE(page.body.find("store-19"), std::string::npos);
}

TEST_F(Fixture, ASilentClientDoesNotHoldUpOthersAndIsDroppedAtItsDeadline) {
  ServerOptions o;
  o.handshake_timeout_ms = 300;
  start(o);
  int silent = tcp_connect();
  ASSERT_GE(silent, 0);
  auto t0 = std::chrono::steady_clock::now();
  Reply health = call("GET", "/api/v1/health", "", false);
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("\"ok\""), std::string::npos);
  // The silent one is closed by the server: read sees EOF (0) well before its 10 s timeout.
  char b;
  EXPECT_EQ(::recv(silent, &b, 1, 0), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ::close(silent);
}

TEST_F(Fixture, ConnectionsBeyondTheLimitWaitTheirTurn) {
  ServerOptions o;
  o.connections_max = 2;
  o.handshake_timeout_ms = 500;
  start(o);
  int a = tcp_connect(), b = tcp_connect();
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  // Both slots are taken by silent clients; a third is served once their deadline frees them.
  Reply r = call("GET", "/api/v1/health", "", false);
  EXPECT_EQ(r.status, 200);
  ::close(a);
  ::close(b);
}

TEST_F(Fixture, NewLimitsFromAnotherThreadApplyToTheNextRequest) {
  ServerOptions o;
  o.body_bytes_max = 64;
  start(o);
  api_->set_body_bytes_max(64);
  const std::string body =
      "{\"name\": \"reload-" + std::string(80, 'x') + "\"}";  // over 64 bytes, under 4096
  Reply before = call("POST", "/api/v1/users", body);
  EXPECT_EQ(before.status, 413);
  EXPECT_NE(before.body.find("body_bytes_max"), std::string::npos) << before.body;
  // As a reload does: from the daemon's thread while the server thread runs.
  std::thread([this] {
    server_->set_limits(4096, 10000, 30000, 60000);
    api_->set_body_bytes_max(4096);
  }).join();
  Reply after = call("POST", "/api/v1/users", body);
  EXPECT_EQ(after.status, 201) << after.body;
}

TEST_F(Fixture, StopsPromptlyWithConnectionsOpen) {
  start();
  std::vector<int> open;
  for (int i = 0; i < 5; ++i) open.push_back(tcp_connect());
  auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  for (int fd : open) {
    char b;
    EXPECT_LE(::recv(fd, &b, 1, 0), 0);  // closed by the server
    ::close(fd);
  }
}

// STS stand-ins that take the TCP connection (the kernel's backlog does) and never speak: the
// record's save waits for the lookup's timeout on the server's worker.
class HangingSts : public Fixture {
 protected:
  void SetUp() override {
    Fixture::SetUp();
    hang_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(hang_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(hang_fd_, 16), 0);
    socklen_t len = sizeof sa;
    ::getsockname(hang_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    const std::string connect_to = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    api_ = std::make_unique<Api>(
        ApiOptions{.store = store_.get(),
                   .ca_pem = ca_->cert_pem(),
                   .account_id_lookup = [connect_to](const AwsKeys& keys, std::string_view region) {
                     return sts_account_id({.region = std::string(region),
                                            .connect_to = connect_to,
                                            .timeout_ms = kStsTimeoutMs},
                                           keys, absl::Now());
                   }});
  }
  void TearDown() override {
    Fixture::TearDown();
    ::close(hang_fd_);
  }

  Reply save_record(const std::string& name) const {
    return call("POST", "/api/v1/records",
                "{\"name\":\"" + name +
                    "\",\"access_key_id\":\"AKIAIOSFODNN7EXAMPLE\",\"secret_access_key\":\"x\"}");
  }

  static constexpr int64_t kStsTimeoutMs = 1500;
  int hang_fd_ = -1;
};

TEST_F(HangingSts, HealthAnswersAtOnceWhileASaveWaitsThenTheSaveNamesTheTimeout) {
  start();
  ASSERT_EQ(call("POST", "/api/v1/record-types/aws-access-keys/enable").status, 200);
  std::atomic<bool> saved{false};
  Reply save;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread saver([&] {
    save = save_record("waits-for-sts");
    saved.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the save is at STS by now
  const auto asked = std::chrono::steady_clock::now();
  Reply health = call("GET", "/api/v1/health", "", false);
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_EQ(health.status, 200);
  EXPECT_FALSE(saved.load()) << "the save should still be waiting for STS";
  EXPECT_LT(answered - asked, std::chrono::milliseconds(500));
  saver.join();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(kStsTimeoutMs));
  EXPECT_EQ(save.status, 201) << save.body;
  EXPECT_NE(save.body.find("\"aws_account_id_error\":\"STS did not answer within 1500 ms\""),
            std::string::npos)
      << save.body;
  // Saved on the admin thread once STS had failed: the store has it, without an account id.
  Reply list = call("GET", "/api/v1/records");
  EXPECT_NE(list.body.find("waits-for-sts"), std::string::npos) << list.body;
}

TEST_F(HangingSts, AFullWorkerAnswers503WithRetryAfter) {
  ServerOptions o;
  o.work_threads = 1;
  o.work_queued_max = 0;
  start(o);
  ASSERT_EQ(call("POST", "/api/v1/record-types/aws-access-keys/enable").status, 200);
  Reply first;
  std::thread saver([&] { first = save_record("first"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Reply second = save_record("second");
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_NE(second.head.find("\r\nRetry-After: 1\r\n"), std::string::npos) << second.head;
  saver.join();
  EXPECT_EQ(first.status, 201) << first.body;
  // The refused save changed nothing; the worker takes the next one once it is free.
  EXPECT_EQ(save_record("third").status, 201);
  Reply list = call("GET", "/api/v1/records");
  EXPECT_EQ(list.body.find("\"second\""), std::string::npos) << list.body;
}

TEST_F(HangingSts, StopsWhileASaveWaits) {
  start();
  ASSERT_EQ(call("POST", "/api/v1/record-types/aws-access-keys/enable").status, 200);
  std::thread saver([&] { save_record("cut-short"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server_->stop();  // the client sees its connection closed; the lookup runs to its timeout
  saver.join();
  server_.reset();
}

}  // namespace
}  // namespace pamproxy::admin
