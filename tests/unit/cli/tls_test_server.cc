#include "tls_test_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pamproxy::cli::test_util {
namespace {

std::string make_dir() {
  char path[] = "/tmp/pamctl-tls-test-XXXXXX";
  EXPECT_NE(::mkdtemp(path), nullptr);
  return path;
}

}  // namespace

std::string write_unrelated_ca(const std::string& dir) {
  auto ca = tls::CertificateAuthority::generate("unrelated CA");
  EXPECT_TRUE(ca.ok());
  std::string file = dir + "/unrelated-ca.pem";
  std::ofstream(file) << (*ca)->cert_pem();
  return file;
}

TlsTestServer::TlsTestServer(std::string answer, std::vector<std::string> cert_hosts)
    : answer_(std::move(answer)), dir_(make_dir()) {
  auto ca = tls::CertificateAuthority::generate("pamctl test CA");
  EXPECT_TRUE(ca.ok()) << ca.status();
  auto key = tls::generate_p256_key();
  EXPECT_TRUE(key.ok());
  auto leaf = (*ca)->mint_multi(cert_hosts, key->get(), 1);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  ca_file_ = dir_ + "/ca.pem";
  std::ofstream(ca_file_) << (*ca)->cert_pem();

  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  EXPECT_EQ(SSL_CTX_use_certificate(ctx_.get(), leaf->get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_.get(), key->get()), 1);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(listen_fd_, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  // accept() honours SO_RCVTIMEO: a test whose client never connects still ends.
  timeval tv{10, 0};
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  thread_ = std::thread([this] { serve(); });
}

TlsTestServer::~TlsTestServer() {
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  std::filesystem::remove_all(dir_);
}

const std::string& TlsTestServer::request() {
  if (thread_.joinable()) thread_.join();
  return request_;
}

const std::string& TlsTestServer::sni() {
  if (thread_.joinable()) thread_.join();
  return sni_;
}

void TlsTestServer::serve() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  SSL* ssl = SSL_new(ctx_.get());
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) sni_ = name;
    std::string in;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || in.size() < want) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      size_t end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t body = 0;
        size_t cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) body = std::stoul(in.substr(cl + 16));
        want = end + 4 + body;
      }
    }
    request_ = in;
    SSL_write(ssl, answer_.data(), static_cast<int>(answer_.size()));
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ::close(fd);
}

}  // namespace pamproxy::cli::test_util
