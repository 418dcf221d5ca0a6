// Session against the `openssl` command line over real loopback sockets: s_client talks to our
// server side (certificate minted for its SNI, verified against the appliance CA, ALPN), and our
// client side talks to s_server (chain and host name verified, resumption across connections,
// an untrusted server refused). Every wait is bounded; the child processes are ours and are
// killed by pid if a test fails midway.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "pamproxy/tls/session.h"
#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::Fixture;
constexpr int kWaitMs = 15000;

// A child process with its stdin and (merged) stdout/stderr on pipes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~Child() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(stdout_);
  }
  void write_stdin(const std::string& s) {
    EXPECT_EQ(::write(stdin_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  // Reads output until `needle` appears or EOF or the deadline; returns everything read.
  std::string read_until(const std::string& needle) {
    return read_while([&] { return output_.find(needle) == std::string::npos; });
  }
  // Reads until a whole line containing `needle` has arrived.
  std::string read_line_with(const std::string& needle) {
    return read_while([&] {
      size_t at = output_.find(needle);
      return at == std::string::npos || output_.find('\n', at) == std::string::npos;
    });
  }
  template <typename More>
  std::string read_while(More more) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
    while (more()) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) break;
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) break;
      char buf[4096];
      ssize_t n = ::read(stdout_, buf, sizeof(buf));
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
    }
    return output_;
  }
  std::string read_all() { return read_until(std::string(1, '\0')); }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string output_;
};

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, kWaitMs) == 1;
}

void send_all(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    data += n;
    len -= static_cast<size_t>(n);
  }
}

// Drives `session` on a connected socket until `done` says so, the session ends, or the peer
// closes. Plaintext accumulates in `plain`.
template <typename Done>
void drive(int fd, Session& session, std::string& plain, Done done) {
  uint8_t in[16384 + 512];
  uint8_t out[20480];
  uint8_t text[16384];
  size_t n = session.start(out);
  send_all(fd, out, n);
  std::vector<uint8_t> pending;
  for (int rounds = 0; rounds < 1000 && !done(); ++rounds) {
    if (session.state() == State::kError || session.state() == State::kClosed) return;
    if (!wait_readable(fd)) return;
    ssize_t got = ::recv(fd, in, sizeof(in), 0);
    if (got <= 0) {
      session.receive_eof();
      return;
    }
    pending.insert(pending.end(), in, in + got);
    while (!pending.empty() || session.has_buffered_plaintext()) {
      IoResult r = session.receive(pending, text, out);
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(r.cipher_consumed));
      plain.append(reinterpret_cast<const char*>(text), r.plain_bytes);
      send_all(fd, out, r.cipher_bytes);
      if (r.cipher_consumed == 0 && r.plain_bytes == 0) break;
    }
  }
}

void send_plain(int fd, Session& session, const std::string& text) {
  uint8_t out[20480];
  IoResult r = session.send({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, out);
  EXPECT_EQ(r.plain_bytes, text.size());
  send_all(fd, out, r.cipher_bytes);
}

int listen_any(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

void serve_one_echo(int listener, Fixture& f, const std::string& expected_host,
                    std::string* received, std::unique_ptr<Session>* out_session) {
  ASSERT_TRUE(wait_readable(listener));
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto session = std::move(*Session::server(*f.server));
  session->set_expected_host(expected_host);
  drive(fd, *session, *received, [&] { return received->find('\n') != std::string::npos; });
  if (session->state() == State::kEstablished) {
    send_plain(fd, *session, "echo: " + *received);
    uint8_t out[256];
    size_t n = session->shutdown(out);
    send_all(fd, out, n);
  }
  ::close(fd);
  *out_session = std::move(session);
}

TEST(OpensslCli, SClientTrustsOurMintedCertificate) {
  for (const char* version : {"-tls1_3", "-tls1_2"}) {
    Fixture f = Fixture::make();
    uint16_t port = 0;
    int listener = listen_any(&port);
    Child client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                  "-servername", "s3.eu-west-1.amazonaws.com", "-CAfile", f.ca_file,
                  "-verify_return_error", "-verify_hostname", "s3.eu-west-1.amazonaws.com", "-alpn",
                  "http/1.1", "-ign_eof", version});
    client.write_stdin("hello from s_client\n");
    std::string received;
    std::unique_ptr<Session> session;
    serve_one_echo(listener, f, "s3.eu-west-1.amazonaws.com", &received, &session);
    ::close(listener);
    std::string out = client.read_all();
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(session->state(), State::kClosed) << session->failure_detail();
    EXPECT_EQ(received, "hello from s_client\n");
    EXPECT_EQ(session->sni(), "s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(session->alpn(), "http/1.1");
    EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
    EXPECT_NE(out.find("ALPN protocol: http/1.1"), std::string::npos) << out;
    EXPECT_NE(out.find("echo: hello from s_client"), std::string::npos) << out;
    EXPECT_NE(out.find(std::string(version) == "-tls1_3" ? "TLSv1.3" : "TLSv1.2"),
              std::string::npos)
        << out;
  }
}

TEST(OpensslCli, SClientWithWrongSniIsRefused) {
  Fixture f = Fixture::make();
  uint16_t port = 0;
  int listener = listen_any(&port);
  Child client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                "-servername", "evil.example", "-CAfile", f.ca_file, "-ign_eof"});
  client.write_stdin("x\n");
  std::string received;
  std::unique_ptr<Session> session;
  serve_one_echo(listener, f, "s3.amazonaws.com", &received, &session);
  ::close(listener);
  std::string out = client.read_all();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->failure(), Failure::kSniMismatch);
  EXPECT_NE(out.find("unrecognized name"), std::string::npos) << out;
}

// s_server with a leaf minted by `ca` for `host`; its port parsed from its ACCEPT line.
struct SServer {
  std::string cert_file, key_file;
  std::unique_ptr<Child> child;
  uint16_t port = 0;

  SServer(const CertificateAuthority& ca, const std::string& host, int accepts) {
    auto key = generate_p256_key();
    auto cert = ca.mint(host, key->get(), 1);
    char c[] = "/tmp/pamproxy-sserver-cert-XXXXXX";
    char k[] = "/tmp/pamproxy-sserver-key-XXXXXX";
    ::close(::mkstemp(c));
    ::close(::mkstemp(k));
    cert_file = c;
    key_file = k;
    std::ofstream(cert_file) << cert_to_pem(cert->get());
    std::ofstream(key_file) << key_to_pem(key->get());
    child = std::make_unique<Child>(std::vector<std::string>{
        "openssl", "s_server", "-accept", "0", "-cert", cert_file, "-key", key_file, "-alpn",
        "http/1.1", "-naccept", std::to_string(accepts), "-www"});
    std::string out = child->read_line_with("ACCEPT");
    size_t colon = out.find("]:");
    if (out.find("ACCEPT") != std::string::npos && colon != std::string::npos) {
      port = static_cast<uint16_t>(std::stoi(out.substr(colon + 2)));
    }
    EXPECT_NE(port, 0) << out;
  }
  ~SServer() {
    ::unlink(cert_file.c_str());
    ::unlink(key_file.c_str());
  }
};

// One HTTP request through our client side; returns the session for inspection.
std::unique_ptr<Session> fetch(ClientContext& ctx, const std::string& host, uint16_t port,
                               std::string* response) {
  int fd = connect_to(port);
  auto session = std::move(*Session::client(ctx, host, port));
  drive(fd, *session, *response, [&] { return session->state() != State::kHandshaking; });
  if (session->state() == State::kEstablished) {
    send_plain(fd, *session, "GET / HTTP/1.0\r\n\r\n");
    drive(fd, *session, *response, [] { return false; });  // until s_server closes
  }
  ::close(fd);
  return session;
}

TEST(OpensslCli, OurClientVerifiesSServerAndResumes) {
  Fixture f = Fixture::make();
  SServer server(*f.ca, "localhost", 2);
  ASSERT_NE(server.port, 0);
  std::string first;
  auto a = fetch(*f.client, "localhost", server.port, &first);
  EXPECT_NE(first.find("HTTP/1.0 200 ok"), std::string::npos) << first;
  EXPECT_EQ(a->alpn(), "http/1.1");
  EXPECT_FALSE(a->resumed());
  std::string second;
  auto b = fetch(*f.client, "localhost", server.port, &second);
  EXPECT_NE(second.find("HTTP/1.0 200 ok"), std::string::npos) << second;
  EXPECT_TRUE(b->resumed());
  EXPECT_NE(second.find("Reused"), std::string::npos) << second;  // s_server's own view
}

TEST(OpensslCli, OurClientRefusesAnUntrustedSServer) {
  Fixture f = Fixture::make();
  auto other = CertificateAuthority::generate("someone else");
  SServer server(**other, "localhost", 1);
  ASSERT_NE(server.port, 0);
  std::string response;
  auto s = fetch(*f.client, "localhost", server.port, &response);
  EXPECT_EQ(s->failure(), Failure::kUntrustedCertificate);
  EXPECT_EQ(s->failure_detail(),
            "certificate of localhost not trusted: unable to get local issuer certificate");
  EXPECT_TRUE(response.empty());
}

TEST(OpensslCli, OurClientChecksTheHostName) {
  Fixture f = Fixture::make();
  SServer server(*f.ca, "other.example", 1);
  ASSERT_NE(server.port, 0);
  std::string response;
  auto s = fetch(*f.client, "localhost", server.port, &response);
  EXPECT_EQ(s->failure(), Failure::kHostnameMismatch);
}

}  // namespace
}  // namespace pamproxy::tls
