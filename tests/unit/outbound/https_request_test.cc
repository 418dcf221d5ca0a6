// outbound::https_request against a real HTTPS server on a loopback port (OpenSSL in a thread of
// this test, with a certificate minted by a test CA): an answer, the answer cap, a server that
// never answers, a redirect not followed, plain http and an unknown CA refused, a refused
// connection, and a proxy in the environment ignored.

#include "pamproxy/outbound/https_request.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::outbound {
namespace {

using Clock = std::chrono::steady_clock;

// How the test server treats each connection.
enum class Mode {
  kAnswer,    // 200 with the body "hello"
  kLarge,     // 200 with 64 KiB of body
  kSilent,    // accepts the TCP connection and never speaks (no handshake, no answer)
  kRedirect,  // 302 to `location`
};

class TestServer {
 public:
  TestServer(Mode mode, const tls::CertificateAuthority& ca, std::string location = "")
      : mode_(mode), location_(std::move(location)) {
    auto key = tls::generate_p256_key();
    EXPECT_TRUE(key.ok());
    auto cert = ca.mint("127.0.0.1", key->get(), 7);
    EXPECT_TRUE(cert.ok());
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert->get());
    SSL_CTX_use_PrivateKey(ctx_, key->get());
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    socklen_t len = sizeof sa;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~TestServer() {
    stop_.store(true);
    thread_.join();
    for (int fd : silent_) ::close(fd);
    ::close(listen_fd_);
    SSL_CTX_free(ctx_);
  }

  uint16_t port() const { return port_; }
  std::string url(std::string_view path = "/p") const {
    return "https://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int accepted() const { return accepted_.load(); }
  std::string last_request() const {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void run() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      accepted_.fetch_add(1);
      if (mode_ == Mode::kSilent) {
        silent_.push_back(fd);
        continue;
      }
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::string in;
      char buf[4096];
      size_t whole = std::string::npos;
      while (whole == std::string::npos || in.size() < whole) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        const size_t end = in.find("\r\n\r\n");
        if (whole == std::string::npos && end != std::string::npos) {
          size_t length = 0;
          const size_t at = in.find("Content-Length: ");
          if (at != std::string::npos && at < end) length = std::strtoul(&in[at + 16], nullptr, 10);
          whole = end + 4 + length;
        }
      }
      {
        std::lock_guard lock(mu_);
        last_request_ = in;
      }
      std::string out;
      switch (mode_) {
        case Mode::kAnswer:
          out = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
          break;
        case Mode::kLarge:
          out = "HTTP/1.1 200 OK\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n" +
                std::string(65536, 'x');
          break;
        case Mode::kRedirect:
          out = "HTTP/1.1 302 Found\r\nLocation: " + location_ +
                "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
          break;
        case Mode::kSilent: break;
      }
      SSL_write(ssl, out.data(), static_cast<int>(out.size()));
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }

  Mode mode_;
  std::string location_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> silent_;  // the server thread's
  mutable std::mutex mu_;
  std::string last_request_;  // guarded by mu_
};

class HttpsRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test server writes answers the client may have stopped reading (the size cap): an
    // EPIPE there is expected, not a reason to die.
    ::signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/pamproxy-outbound-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ca = tls::CertificateAuthority::generate("outbound test CA");
    ASSERT_TRUE(ca.ok());
    ca_ = std::move(*ca);
    ca_file_ = dir_ + "/ca.pem";
    std::ofstream(ca_file_) << ca_->cert_pem();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  HttpsLimits limits() const {
    return {.ca_file = ca_file_, .connect_timeout_ms = 3000, .timeout_ms = 3000};
  }

  std::string dir_;
  std::string ca_file_;
  std::unique_ptr<tls::CertificateAuthority> ca_;
};

TEST_F(HttpsRequestTest, AnswersWithStatusAndBody) {
  TestServer server(Mode::kAnswer, *ca_);
  HttpsAnswer a = https_request({.url = server.url()}, limits());
  ASSERT_TRUE(a.ok()) << failure_name(a.failure) << ": " << a.reason << " " << a.detail;
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "hello");
  EXPECT_EQ(server.last_request().rfind("GET /p HTTP/1.1\r\n", 0), 0u);

  const std::string url = server.url("/form");
  a = https_request(
      {.method = "POST", .url = url, .headers = {"X-Test: 1", "Expect:"}, .body = "a=b&c=d"},
      limits());
  ASSERT_TRUE(a.ok()) << a.reason;
  const std::string seen = server.last_request();
  EXPECT_EQ(seen.rfind("POST /form HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(seen.find("\r\nX-Test: 1\r\n"), std::string::npos);
  EXPECT_NE(seen.find("\r\nUser-Agent: pamproxy\r\n"), std::string::npos);
  EXPECT_EQ(seen.find("Expect"), std::string::npos);
  EXPECT_TRUE(seen.ends_with("\r\n\r\na=b&c=d"));
}

TEST_F(HttpsRequestTest, AnAnswerLargerThanTheCapIsRefusedUnlessDropped) {
  TestServer server(Mode::kLarge, *ca_);
  HttpsLimits l = limits();
  l.answer_bytes_max = 1024;
  HttpsAnswer a = https_request({.url = server.url()}, l);
  EXPECT_EQ(a.failure, Failure::kTooLarge);
  EXPECT_EQ(failure_name(a.failure), "too large");
  EXPECT_TRUE(a.body.empty());

  l.keep_answer = false;  // a webhook's answer: only its status counts
  a = https_request({.url = server.url()}, l);
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.body.empty());
}

TEST_F(HttpsRequestTest, AServerThatNeverAnswersCostsTheTimeout) {
  TestServer server(Mode::kSilent, *ca_);
  HttpsLimits l = limits();
  l.timeout_ms = 300;
  const auto t0 = Clock::now();
  HttpsAnswer a = https_request({.url = server.url()}, l);
  const auto took = Clock::now() - t0;
  EXPECT_EQ(a.failure, Failure::kTimeout);
  EXPECT_EQ(failure_name(a.failure), "timeout");
  EXPECT_FALSE(a.reason.empty());
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(HttpsRequestTest, ARedirectIsTheAnswerAndIsNotFollowed) {
  TestServer target(Mode::kAnswer, *ca_);
  TestServer server(Mode::kRedirect, *ca_, target.url("/elsewhere"));
  HttpsAnswer a = https_request({.url = server.url()}, limits());
  ASSERT_TRUE(a.ok()) << a.reason;
  EXPECT_EQ(a.status, 302);
  EXPECT_EQ(target.accepted(), 0);
}

TEST_F(HttpsRequestTest, PlainHttpIsRefusedBeforeAnyConnection) {
  TestServer server(Mode::kAnswer, *ca_);
  HttpsAnswer a =
      https_request({.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/p"}, limits());
  EXPECT_EQ(a.failure, Failure::kNotHttps);
  EXPECT_EQ(failure_name(a.failure), "not https");
  a = https_request({.url = "HTTPS://127.0.0.1:" + std::to_string(server.port()) + "/p"}, limits());
  EXPECT_EQ(a.failure, Failure::kNotHttps);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(HttpsRequestTest, AServerTheCaFileDoesNotVouchForFailsVerification) {
  TestServer server(Mode::kAnswer, *ca_);
  auto other = tls::CertificateAuthority::generate("another CA");
  ASSERT_TRUE(other.ok());
  const std::string other_file = dir_ + "/other.pem";
  std::ofstream(other_file) << (*other)->cert_pem();
  HttpsLimits l = limits();
  l.ca_file = other_file;
  HttpsAnswer a = https_request({.url = server.url()}, l);
  EXPECT_EQ(a.failure, Failure::kTlsVerify) << a.reason << " " << a.detail;
  EXPECT_EQ(failure_name(a.failure), "TLS verify");
}

TEST_F(HttpsRequestTest, AClosedPortIsRefused) {
  uint16_t port;
  {
    TestServer gone(Mode::kAnswer, *ca_);
    port = gone.port();
  }
  HttpsAnswer a =
      https_request({.url = "https://127.0.0.1:" + std::to_string(port) + "/"}, limits());
  EXPECT_EQ(a.failure, Failure::kRefused) << a.reason;
  EXPECT_EQ(failure_name(a.failure), "refused");
}

TEST_F(HttpsRequestTest, ConnectToReachesAnotherAddressUnderTheUrlsName) {
  TestServer server(Mode::kAnswer, *ca_);
  // The URL names port 1, where nothing listens; connect_to sends the call to the server.
  const std::string connect_to = "127.0.0.1:1:127.0.0.1:" + std::to_string(server.port());
  HttpsAnswer a =
      https_request({.url = "https://127.0.0.1:1/p", .connect_to = connect_to}, limits());
  ASSERT_TRUE(a.ok()) << a.reason << " " << a.detail;
  EXPECT_EQ(a.body, "hello");
}

TEST_F(HttpsRequestTest, AProxyInTheEnvironmentIsNotUsed) {
  TestServer server(Mode::kAnswer, *ca_);
  ::setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
  ::setenv("https_proxy", "http://127.0.0.1:1", 1);
  HttpsAnswer a = https_request({.url = server.url()}, limits());
  ::unsetenv("HTTPS_PROXY");
  ::unsetenv("https_proxy");
  ASSERT_TRUE(a.ok()) << a.reason << " " << a.detail;
  EXPECT_EQ(a.body, "hello");
}

TEST(HostOf, NeverThePathOrQuery) {
  EXPECT_EQ(host_of("https://id.example:8443/token?code=secret"), "id.example:8443");
  EXPECT_EQ(host_of("https://id.example?x"), "id.example");
}

}  // namespace
}  // namespace pamproxy::outbound
