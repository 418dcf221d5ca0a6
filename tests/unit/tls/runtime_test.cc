// Start-time assembly from the configuration: CA created then loaded at the resolved paths, the
// kTLS decision applied, the admin certificate minted for [admin] listen (or loaded), and the
// errors that name the key at fault.

#include "pamproxy/tls/runtime.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/pamproxy-runtime-XXXXXX";
    ASSERT_NE(::mkdtemp(path), nullptr);
    dir_ = path;
    config_.store.directory = dir_ + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  config::Paths paths() const { return config::resolve_paths(config_, nullptr, nullptr); }
  static KtlsProbe absent() {
    KtlsProbe p;
    p.detail = "test: no tls ULP";
    return p;
  }

  std::string dir_;
  config::Config config_;
};

TEST_F(RuntimeTest, CreatesTheCaOnFirstStartAndLoadsItAfter) {
  auto first = Runtime::create(config_, paths(), absent());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE((*first)->ca->created());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/state/ca/ca.pem"));
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/state/ca/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE((*first)->ktls.enabled);
  EXPECT_FALSE((*first)->proxy_server->options().capture_secrets);

  auto second = Runtime::create(config_, paths(), absent());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)->ca->created());
  EXPECT_EQ((*second)->ca->cert_pem(), (*first)->ca->cert_pem());
}

TEST_F(RuntimeTest, KtlsRequiredWithoutUlpRefusesToStart) {
  config_.engine.ktls = config::Ktls::kRequired;
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("engine.ktls = \"required\""), std::string::npos);
}

TEST_F(RuntimeTest, KtlsAvailableTurnsOnSecretCapture) {
  KtlsProbe present;
  present.ulp_attachable = true;
  auto rt = Runtime::create(config_, paths(), present);
  ASSERT_TRUE(rt.ok()) << rt.status();
  EXPECT_TRUE((*rt)->ktls.enabled);
  EXPECT_TRUE((*rt)->proxy_server->options().capture_secrets);
  EXPECT_TRUE((*rt)->upstream->options().capture_secrets);
  EXPECT_FALSE((*rt)->admin_server->options().capture_secrets);
  // Client legs go to the kernel; upstream legs the pool keeps stay in user space with our
  // records; the common client handshake is ours either way.
  EXPECT_FALSE((*rt)->proxy_server->options().own_records);
  EXPECT_TRUE((*rt)->upstream->options().own_records);
  EXPECT_TRUE((*rt)->proxy_server->options().own_handshake);
}

TEST_F(RuntimeTest, AdminCertificateIsMintedForTheListenAddress) {
  config_.admin.listen = "127.0.0.1:8443";
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_TRUE(rt.ok()) << rt.status();
  // A client trusting the appliance CA accepts the admin API as 127.0.0.1 and as localhost.
  std::string ca_file = dir_ + "/state/ca/ca.pem";
  ClientOptions co;
  co.ca_file = ca_file;
  auto ctx = ClientContext::create(co);
  ASSERT_TRUE(ctx.ok());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto server = Session::server(*(*rt)->admin_server);
    auto client = Session::client(**ctx, host, 8443);
    ASSERT_TRUE(server.ok() && client.ok());
    test_util::Pair pair(**client, **server);
    EXPECT_TRUE(pair.handshake()) << host << ": " << (*client)->failure_detail();
  }
}

TEST_F(RuntimeTest, AdminFilesMustComeInPairs) {
  config_.admin.cert_file = dir_ + "/admin.pem";
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("admin.cert_file and admin.key_file"), std::string::npos);
  config_.admin.key_file = dir_ + "/admin.key";
  rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("admin.cert_file " + dir_ + "/admin.pem: cannot read"),
            std::string::npos)
      << rt.status();
}

TEST_F(RuntimeTest, AdminFilesAreLoaded) {
  auto ca = CertificateAuthority::generate("admin test CA");
  auto key = generate_p256_key();
  auto cert = (*ca)->mint("admin.example", key->get(), 30);
  config_.admin.cert_file = dir_ + "/admin.pem";
  config_.admin.key_file = dir_ + "/admin.key";
  std::ofstream(config_.admin.cert_file) << cert_to_pem(cert->get());
  std::ofstream(config_.admin.key_file) << key_to_pem(key->get());
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_TRUE(rt.ok()) << rt.status();
  // Mismatched pair: refused with both names.
  auto other = generate_p256_key();
  std::ofstream(config_.admin.key_file) << key_to_pem(other->get());
  rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("admin.key_file"), std::string::npos) << rt.status();
}

TEST_F(RuntimeTest, AdminCertificateFileMayCarryItsIssuers) {
  auto root_key = generate_p256_key();
  auto ca_key = generate_p256_key();
  X509Ptr root = test_util::make_ca_cert("Example Org Root", root_key->get(), nullptr, nullptr);
  X509Ptr inter =
      test_util::make_ca_cert("Example Org Servers", ca_key->get(), root.get(), root_key->get());
  // A leaf signed by the intermediate, made with the CA class over the intermediate's files.
  std::ofstream(dir_ + "/inter.pem") << cert_to_pem(inter.get());
  std::ofstream(dir_ + "/inter.key") << key_to_pem(ca_key->get());
  ::chmod((dir_ + "/inter.key").c_str(), 0600);
  auto issuer = CertificateAuthority::load_or_create(dir_ + "/inter.pem", dir_ + "/inter.key");
  ASSERT_TRUE(issuer.ok()) << issuer.status();
  auto key = generate_p256_key();
  auto cert = (*issuer)->mint("admin.example", key->get(), 30);
  ASSERT_TRUE(cert.ok());
  config_.admin.cert_file = dir_ + "/admin.pem";
  config_.admin.key_file = dir_ + "/admin.key";
  std::ofstream(config_.admin.cert_file)
      << cert_to_pem(cert->get()) << cert_to_pem(inter.get()) << cert_to_pem(root.get());
  std::ofstream(config_.admin.key_file) << key_to_pem(key->get());
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_TRUE(rt.ok()) << rt.status();
  // Sent after the admin certificate: the intermediate (the root is the client's).
  STACK_OF(X509)* extra = nullptr;
  SSL_CTX_get_extra_chain_certs((*rt)->admin_server->native(), &extra);
  ASSERT_NE(extra, nullptr);
  ASSERT_EQ(sk_X509_num(extra), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(extra, 0), inter.get()), 0);
  // Issuers out of order: refused, naming the key and the position.
  std::ofstream(config_.admin.cert_file, std::ios::trunc)
      << cert_to_pem(cert->get()) << cert_to_pem(root.get()) << cert_to_pem(inter.get());
  rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("admin.cert_file"), std::string::npos) << rt.status();
  EXPECT_NE(rt.status().message().find("certificate 2 did not issue certificate 1"),
            std::string::npos)
      << rt.status();
}

TEST_F(RuntimeTest, UnreadableUpstreamCaFileNamesTheKey) {
  config_.tls.upstream_ca_file = dir_ + "/missing.pem";
  auto rt = Runtime::create(config_, paths(), absent());
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("tls.upstream_ca_file"), std::string::npos) << rt.status();
  EXPECT_NE(rt.status().message().find("missing.pem"), std::string::npos) << rt.status();
}

}  // namespace
}  // namespace pamproxy::tls
