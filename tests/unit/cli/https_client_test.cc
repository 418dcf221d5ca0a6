// The HTTPS client against a real OpenSSL server on 127.0.0.1: the request it sends, the answers
// it reads (Content-Length, chunked, until close), and the verification failures, each with a
// message that names the URL and never the token's secret.

#include "src/cli/https_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tls_test_server.h"

namespace pamproxy::cli {
namespace {

using test_util::TlsTestServer;

const Bearer kBearer{"tok-1", "s3cret-value"};

AdminUrl url_of(const std::string& text) {
  auto u = parse_admin_url(text);
  EXPECT_TRUE(u.ok()) << u.status();
  return *u;
}

TEST(HttpsClient, SendsTheRequestAndReadsAContentLengthAnswer) {
  TlsTestServer server(
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
      "{\"id\":\"u-1\"}\n");
  HttpsRequest req{"POST", "/api/v1/users", std::string(R"({"name":"alice"})"), &kBearer};
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->reason, "Created");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{\"id\":\"u-1\"}\n");
  const std::string& sent = server.request();
  EXPECT_EQ(sent.rfind("POST /api/v1/users HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_NE(sent.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(sent.find("\r\nAuthorization: Bearer tok-1:s3cret-value\r\n"), std::string::npos);
  EXPECT_NE(sent.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(sent.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(sent.find("\r\nContent-Length: 16\r\n\r\n{\"name\":\"alice\"}"), std::string::npos);
  EXPECT_EQ(server.sni(), "");  // no SNI for an IP address
}

TEST(HttpsClient, UnauthenticatedGetAndPrefix) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  HttpsRequest req{"GET", "/api/v1/health", std::nullopt, nullptr};
  auto r = https_call(url_of(server.url() + "/pam/"), {.ca_file = server.ca_file()}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string& sent = server.request();
  EXPECT_EQ(sent.rfind("GET /pam/api/v1/health HTTP/1.1\r\n", 0), 0u) << sent;
  EXPECT_EQ(sent.find("Authorization"), std::string::npos);
  EXPECT_EQ(sent.find("Content-Length"), std::string::npos);
}

TEST(HttpsClient, BodilessChangeSendsContentLengthZero) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  HttpsRequest req{"POST", "/api/v1/tokens/t-1/revoke", std::nullopt, &kBearer};
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()}, req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(server.request().find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
}

TEST(HttpsClient, ChunkedAnswerAfterAnInterimOne) {
  TlsTestServer server(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"err\r\n6;x=y\r\nor\":1}\r\n0\r\n\r\n");
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()},
                      {"GET", "/api/v1/records/x", std::nullopt, &kBearer});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"error\":1}");
}

TEST(HttpsClient, UntilCloseAnswerEndsWithCloseNotify) {
  TlsTestServer server("HTTP/1.1 200 OK\r\n\r\nall of it");
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()},
                      {"GET", "/api/v1/metrics", std::nullopt, &kBearer});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "all of it");
}

TEST(HttpsClient, TruncatedAnswerIsAnError) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()},
                      {"GET", "/api/v1/whoami", std::nullopt, &kBearer});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("closed before the answer was complete"), std::string::npos)
      << r.status();
}

TEST(HttpsClient, AnswerLargerThanTheBoundIsRefused) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890");
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file(), .response_bytes_max = 10},
                      {"GET", "/api/v1/records", std::nullopt, &kBearer});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("larger than 10 bytes"), std::string::npos) << r.status();
}

TEST(HttpsClient, MalformedAnswerIsAnError) {
  TlsTestServer server("HTTP/1.1 200 OK\nContent-Length: 0\n\n");
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()},
                      {"GET", "/api/v1/whoami", std::nullopt, &kBearer});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad answer from https://127.0.0.1:"), std::string::npos)
      << r.status();
}

TEST(HttpsClient, HostNameChecked) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", {"localhost"});
  auto r =
      https_call(url_of("https://localhost:" + std::to_string(server.port())),
                 {.ca_file = server.ca_file()}, {"GET", "/api/v1/health", std::nullopt, nullptr});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(server.sni(), "localhost");
}

TEST(HttpsClient, CertificateForAnotherNameIsRefused) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", {"admin.example"});
  auto r = https_call(url_of(server.url()), {.ca_file = server.ca_file()},
                      {"GET", "/api/v1/whoami", std::nullopt, &kBearer});
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find("cannot verify " + server.url() +
                     ": the certificate does not name "
                     "127.0.0.1 (hostname mismatch)"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("s3cret"), std::string::npos);
  EXPECT_EQ(server.request(), "");  // nothing was sent
}

TEST(HttpsClient, UntrustedCaIsRefusedWithAHint) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  std::string other = test_util::write_unrelated_ca(server.dir());
  auto r = https_call(url_of(server.url()), {.ca_file = other},
                      {"GET", "/api/v1/whoami", std::nullopt, &kBearer});
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find("cannot verify " + server.url() + ": certificate verify failed"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("pass --ca or set PAMCTL_CA"), std::string::npos) << msg;
  EXPECT_EQ(server.request(), "");
}

TEST(HttpsClient, VerificationOffOnlyWhenAsked) {
  TlsTestServer server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\npem");
  auto r = https_call(url_of(server.url()), {.ca_file = "", .verify = false},
                      {"GET", "/api/v1/ca.pem", std::nullopt, nullptr});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "pem");
}

TEST(HttpsClient, UnreadableCaFileNamed) {
  auto r = https_call(url_of("https://127.0.0.1:1"), {.ca_file = "/nonexistent/ca.pem"},
                      {"GET", "/api/v1/health", std::nullopt, nullptr});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/ca.pem"), std::string::npos) << r.status();
}

TEST(HttpsClient, RefusedConnectionNamesTheUrl) {
  // A bound socket that does not listen refuses connections: a port nobody else takes meanwhile.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto r = https_call(url_of(url), {}, {"GET", "/api/v1/health", std::nullopt, nullptr});
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot connect to " + url + ": Connection refused"),
            std::string::npos)
      << r.status();
}

TEST(HttpsClient, RequestBytesForIpv6AndDefaultPort) {
  HttpsRequest req{"DELETE", "/api/v1/users/u-1", std::nullopt, nullptr};
  const std::string bytes = https_request_bytes(url_of("https://[::1]"), req);
  EXPECT_EQ(bytes.rfind("DELETE /api/v1/users/u-1 HTTP/1.1\r\nHost: [::1]\r\n", 0), 0u) << bytes;
  EXPECT_NE(bytes.find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::cli
