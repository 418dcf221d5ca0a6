#pragma once
// A one-connection HTTPS server for pamctl's client tests: a real OpenSSL server on 127.0.0.1
// (port 0) in a thread, with a certificate minted by an in-memory appliance CA for the names the
// test chooses. It reads one request (head and Content-Length body), records it, answers with
// the bytes it was given, then closes with close_notify. A failed handshake (the client refused
// the certificate) ends the thread too; a client that never comes is given up after 10 s.

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "pamproxy/tls/ca.h"

namespace pamproxy::cli::test_util {

class TlsTestServer {
 public:
  // `answer`: the raw response bytes. `cert_hosts`: the names and addresses the leaf carries.
  TlsTestServer(std::string answer, std::vector<std::string> cert_hosts = {"127.0.0.1"});
  ~TlsTestServer();

  uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& ca_file() const { return ca_file_; }
  // A temporary directory removed with the server.
  const std::string& dir() const { return dir_; }
  // Waits for the connection to end; then the request as received ("" if none completed) and
  // the SNI name the client sent.
  const std::string& request();
  const std::string& sni();

 private:
  void serve();

  std::string answer_;
  std::string ca_file_;
  std::string dir_;
  tls::SslCtxPtr ctx_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::string request_;
  std::string sni_;
  std::thread thread_;
};

// A CA file for a CA that signed nothing the server shows.
std::string write_unrelated_ca(const std::string& dir);

}  // namespace pamproxy::cli::test_util
