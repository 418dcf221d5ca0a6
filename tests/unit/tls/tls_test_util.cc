#include "tests/unit/tls/tls_test_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace pamproxy::tls::test_util {

Fixture Fixture::make(const ContextOptions& options) {
  Fixture f;
  auto ca = CertificateAuthority::generate("pamproxy test CA");
  EXPECT_TRUE(ca.ok()) << ca.status();
  f.ca = std::move(*ca);
  auto leaves = LeafCache::create(f.ca, 64, 30);
  EXPECT_TRUE(leaves.ok()) << leaves.status();
  f.leaves = *leaves;
  auto server = ServerContext::create(f.leaves, options);
  EXPECT_TRUE(server.ok()) << server.status();
  f.server = std::move(*server);
  char path[] = "/tmp/pamproxy-tls-ca-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  f.ca_file = path;
  std::ofstream(f.ca_file) << f.ca->cert_pem();
  ClientOptions client_options;
  client_options.context = options;
  client_options.ca_file = f.ca_file;
  auto client = ClientContext::create(client_options);
  EXPECT_TRUE(client.ok()) << client.status();
  f.client = std::move(*client);
  return f;
}

Fixture::~Fixture() {
  if (!ca_file.empty()) ::unlink(ca_file.c_str());
}

bool Pair::step(Session& s, std::vector<uint8_t>& in, std::vector<uint8_t>& out,
                std::string& plain) {
  uint8_t plain_buf[16384];
  uint8_t out_buf[20480];
  bool progress = false;
  for (int i = 0; i < 1000; ++i) {
    IoResult r = s.receive(in, plain_buf, out_buf);
    in.erase(in.begin(), in.begin() + static_cast<ptrdiff_t>(r.cipher_consumed));
    plain.append(reinterpret_cast<const char*>(plain_buf), r.plain_bytes);
    out.insert(out.end(), out_buf, out_buf + r.cipher_bytes);
    if (s.has_pending_output()) {
      size_t n = s.flush(out_buf);
      out.insert(out.end(), out_buf, out_buf + n);
      r.cipher_bytes += n;
    }
    if (r.cipher_consumed == 0 && r.plain_bytes == 0 && r.cipher_bytes == 0) break;
    progress = true;
  }
  return progress;
}

void Pair::pump() {
  for (int i = 0; i < 1000; ++i) {
    bool a = step(server_, to_server, to_client, server_plain);
    bool b = step(client_, to_client, to_server, client_plain);
    if (!a && !b) return;
  }
  ADD_FAILURE() << "pump did not settle";
}

bool Pair::handshake() {
  uint8_t out[4096];
  size_t n = client_.start(out);
  to_server.insert(to_server.end(), out, out + n);
  pump();
  return client_.state() == State::kEstablished && server_.state() == State::kEstablished;
}

void Pair::sends(Session& s, std::vector<uint8_t>& wire, const std::string& data,
                 size_t out_bytes) {
  std::vector<uint8_t> out(out_bytes);
  size_t off = 0;
  for (int i = 0; i < 100000 && off < data.size(); ++i) {
    if (s.has_pending_output()) {
      size_t n = s.flush(out);
      wire.insert(wire.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
      continue;
    }
    IoResult r =
        s.send({reinterpret_cast<const uint8_t*>(data.data()) + off, data.size() - off}, out);
    off += r.plain_bytes;
    wire.insert(wire.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(r.cipher_bytes));
    if (r.plain_bytes == 0 && r.cipher_bytes == 0 && !s.has_pending_output()) break;
  }
  for (int i = 0; i < 100 && s.has_pending_output(); ++i) {
    size_t n = s.flush(out);
    wire.insert(wire.end(), out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
  }
  EXPECT_EQ(off, data.size());
  pump();
}

void Pair::client_sends(const std::string& data, size_t out_bytes) {
  sends(client_, to_server, data, out_bytes);
}
void Pair::server_sends(const std::string& data, size_t out_bytes) {
  sends(server_, to_client, data, out_bytes);
}

}  // namespace pamproxy::tls::test_util
