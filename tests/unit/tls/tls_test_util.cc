#include "tests/unit/tls/tls_test_util.h"

#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <utility>

namespace pamproxy::tls::test_util {

Fixture Fixture::make(const ContextOptions& options) {
  return make(options, options);
}

Fixture Fixture::make(const ContextOptions& options, const ContextOptions& client_context) {
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
  client_options.context = client_context;
  client_options.ca_file = f.ca_file;
  auto client = ClientContext::create(client_options);
  EXPECT_TRUE(client.ok()) << client.status();
  f.client = std::move(*client);
  return f;
}

TempDir::TempDir() {
  char path[] = "/tmp/pamproxy-tls-test-XXXXXX";
  EXPECT_NE(::mkdtemp(path), nullptr);
  path_ = path;
}

TempDir::~TempDir() {
  std::filesystem::remove_all(path_);
}

X509Ptr make_ca_cert(const std::string& name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  const long serial = static_cast<long>(std::hash<std::string>{}(name)&0x7fffffff);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509_set_pubkey(cert.get(), key);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    EXPECT_NE(ext, nullptr);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(cert.get(), issuer != nullptr ? issuer_key : key, EVP_sha256()), 0);
  return cert;
}

absl::StatusOr<OrganisationCa> make_organisation_ca(const TempDir& dir) {
  auto root_key = generate_p256_key();
  if (!root_key.ok()) return root_key.status();
  auto ca_key = generate_p256_key();
  if (!ca_key.ok()) return ca_key.status();
  OrganisationCa org;
  org.root = make_ca_cert("Example Org Root", root_key->get(), nullptr, nullptr);
  org.intermediate =
      make_ca_cert("Example Org pamproxy CA", ca_key->get(), org.root.get(), root_key->get());
  org.root_file = dir.file("root.pem");
  std::ofstream(dir.file("ca.pem"))
      << cert_to_pem(org.intermediate.get()) << cert_to_pem(org.root.get());
  std::ofstream(dir.file("ca.key")) << key_to_pem(ca_key->get());
  std::ofstream(org.root_file) << cert_to_pem(org.root.get());
  ::chmod(dir.file("ca.key").c_str(), 0600);
  auto ca = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  if (!ca.ok()) return ca.status();
  auto leaves = LeafCache::create(std::move(*ca), 8, 30);
  if (!leaves.ok()) return leaves.status();
  org.leaves = *leaves;
  return org;
}

Fixture& Fixture::operator=(Fixture&& other) {
  if (this != &other) {
    if (!ca_file.empty()) ::unlink(ca_file.c_str());
    client = std::move(other.client);
    server = std::move(other.server);
    leaves = std::move(other.leaves);
    ca = std::move(other.ca);
    ca_file = std::move(other.ca_file);
    other.ca_file.clear();
  }
  return *this;
}

Fixture::~Fixture() {
  if (!ca_file.empty()) ::unlink(ca_file.c_str());
}

bool Pair::step(Session& s, std::vector<uint8_t>& in, std::vector<uint8_t>& out,
                std::string& plain) {
  std::vector<uint8_t> plain_buf(plain_room);
  uint8_t out_buf[20480];
  bool progress = false;
  for (int i = 0; i < 1000; ++i) {
    IoResult r = s.receive(in, plain_buf, out_buf);
    in.erase(in.begin(), in.begin() + static_cast<ptrdiff_t>(r.cipher_consumed));
    plain.append(reinterpret_cast<const char*>(plain_buf.data()), r.plain_bytes);
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
