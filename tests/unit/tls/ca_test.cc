// The appliance CA: creation on first start, loading, the errors for broken files, and the
// certificates it mints (checked with OpenSSL's own chain verification).

#include "pamproxy/tls/ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/tls/tls_test_util.h"

namespace pamproxy::tls {
namespace {

using test_util::TempDir;

// Verifies `cert` against `ca` for `host` the way a client does, with `untrusted` as the chain
// the server sent; returns the verify error.
int verify(X509* ca, X509* cert, const std::string& host,
           const std::vector<X509Ptr>& untrusted = {}) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const X509Ptr& c : untrusted) sk_X509_push(chain, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, chain);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (is_ip_literal(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  int ok = X509_verify_cert(ctx);
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  X509_STORE_free(store);
  return err;
}

// An organisation's PKI: a root, and an intermediate that is the appliance CA.
struct OrgPki {
  EvpPkeyPtr root_key = std::move(*generate_p256_key());
  EvpPkeyPtr ca_key = std::move(*generate_p256_key());
  X509Ptr root = test_util::make_ca_cert("Example Org Root", root_key.get(), nullptr, nullptr);
  X509Ptr ca =
      test_util::make_ca_cert("Example Org pamproxy CA", ca_key.get(), root.get(), root_key.get());
};

TEST(CertificateAuthority, CreatedOnFirstStartThenLoaded) {
  TempDir dir;
  std::string cert_file = dir.file("state/ca/ca.pem");
  std::string key_file = dir.file("state/ca/ca.key");
  auto first = CertificateAuthority::load_or_create(cert_file, key_file);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE((*first)->created());
  struct stat st;
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.file("state/ca").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(X509_check_ca((*first)->cert()), 1);
  EXPECT_EQ((*first)->cert_pem().rfind("-----BEGIN CERTIFICATE-----", 0), 0u);

  auto second = CertificateAuthority::load_or_create(cert_file, key_file);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)->created());
  EXPECT_EQ((*second)->cert_pem(), (*first)->cert_pem());
  // The loaded key signs what the first CA's certificate verifies.
  auto key = generate_p256_key();
  ASSERT_TRUE(key.ok());
  auto leaf = (*second)->mint("s3.amazonaws.com", key->get(), 30);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(verify((*first)->cert(), leaf->get(), "s3.amazonaws.com"), X509_V_OK);
}

TEST(CertificateAuthority, OneFileMissingIsAnError) {
  TempDir dir;
  auto ca = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  ASSERT_TRUE(ca.ok());
  ASSERT_EQ(::unlink(dir.file("ca.key").c_str()), 0);
  auto again = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("exists but its key"), std::string::npos)
      << again.status();
  EXPECT_NE(again.status().message().find(dir.file("ca.key")), std::string::npos);
}

TEST(CertificateAuthority, MismatchedKeyIsAnError) {
  TempDir dir;
  ASSERT_TRUE(CertificateAuthority::load_or_create(dir.file("a.pem"), dir.file("a.key")).ok());
  ASSERT_TRUE(CertificateAuthority::load_or_create(dir.file("b.pem"), dir.file("b.key")).ok());
  auto mixed = CertificateAuthority::load_or_create(dir.file("a.pem"), dir.file("b.key"));
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("does not match"), std::string::npos) << mixed.status();
}

TEST(CertificateAuthority, UnreadableAndUnparsableFilesAreErrors) {
  TempDir dir;
  ASSERT_TRUE(CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key")).ok());
  std::ofstream(dir.file("junk.pem")) << "not a certificate\n";
  auto junk = CertificateAuthority::load_or_create(dir.file("junk.pem"), dir.file("ca.key"));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("not a PEM certificate"), std::string::npos)
      << junk.status();
  // A directory where the key should be: exists, but cannot be read as a file.
  std::filesystem::create_directory(dir.file("dir.key"));
  auto unreadable = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("dir.key"));
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.status().message().find("cannot read"), std::string::npos)
      << unreadable.status();
  // A leaf is not a CA.
  auto ca = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  ASSERT_TRUE(ca.ok());
  auto key = generate_p256_key();
  auto leaf = (*ca)->mint("a.example", key->get(), 1);
  ASSERT_TRUE(leaf.ok());
  std::ofstream(dir.file("leaf.pem")) << cert_to_pem(leaf->get());
  std::ofstream(dir.file("leaf.key")) << key_to_pem(key->get());
  auto not_ca = CertificateAuthority::load_or_create(dir.file("leaf.pem"), dir.file("leaf.key"));
  ASSERT_FALSE(not_ca.ok());
  EXPECT_NE(not_ca.status().message().find("not a CA certificate"), std::string::npos);
}

TEST(CertificateAuthority, IntermediateCaIsSentWithItsIssuers) {
  TempDir dir;
  OrgPki pki;
  // The file lists the CA, then its issuer (the root, which is not sent: clients hold it).
  std::ofstream(dir.file("ca.pem")) << cert_to_pem(pki.ca.get()) << cert_to_pem(pki.root.get());
  std::ofstream(dir.file("ca.key")) << key_to_pem(pki.ca_key.get());
  ASSERT_EQ(::chmod(dir.file("ca.key").c_str(), 0600), 0);
  auto ca = CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  ASSERT_TRUE(ca.ok()) << ca.status();
  ASSERT_EQ((*ca)->chain().size(), 1u);
  EXPECT_EQ(X509_cmp((*ca)->chain()[0].get(), pki.ca.get()), 0);
  // ca.pem serves the bundle as listed, so a client can take it as its trust store.
  EXPECT_EQ((*ca)->cert_pem(), cert_to_pem(pki.ca.get()) + cert_to_pem(pki.root.get()));

  auto key = generate_p256_key();
  ASSERT_TRUE(key.ok());
  auto leaf = (*ca)->mint("s3.amazonaws.com", key->get(), 30);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  // A client that trusts only the root verifies the leaf with the chain sent, not without it.
  EXPECT_EQ(verify(pki.root.get(), leaf->get(), "s3.amazonaws.com", (*ca)->chain()), X509_V_OK);
  EXPECT_EQ(verify(pki.root.get(), leaf->get(), "s3.amazonaws.com"),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

  // The CA alone in its file (the root not listed): the intermediate is still sent.
  std::ofstream(dir.file("alone.pem")) << cert_to_pem(pki.ca.get());
  auto alone = CertificateAuthority::load_or_create(dir.file("alone.pem"), dir.file("ca.key"));
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ((*alone)->chain().size(), 1u);
  // The usual self-signed appliance CA sends nothing after the leaf.
  auto own = CertificateAuthority::load_or_create(dir.file("own.pem"), dir.file("own.key"));
  ASSERT_TRUE(own.ok());
  auto reloaded = CertificateAuthority::load_or_create(dir.file("own.pem"), dir.file("own.key"));
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE((*reloaded)->chain().empty());
}

TEST(CertificateAuthority, BundleThatIsNotAChainIsAnError) {
  TempDir dir;
  OrgPki pki;
  OrgPki other;
  std::ofstream(dir.file("ca.key")) << key_to_pem(pki.ca_key.get());
  ASSERT_EQ(::chmod(dir.file("ca.key").c_str(), 0600), 0);
  auto load = [&](const std::string& pem) {
    std::ofstream(dir.file("ca.pem"), std::ios::trunc) << pem;
    return CertificateAuthority::load_or_create(dir.file("ca.pem"), dir.file("ca.key"));
  };
  // Another organisation's root after the CA.
  auto stranger = load(cert_to_pem(pki.ca.get()) + cert_to_pem(other.root.get()));
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.status().message().find("certificate 2 did not issue certificate 1"),
            std::string::npos)
      << stranger.status();
  // The root first: the key belongs to the second certificate.
  auto reversed = load(cert_to_pem(pki.root.get()) + cert_to_pem(pki.ca.get()));
  ASSERT_FALSE(reversed.ok());
  EXPECT_NE(reversed.status().message().find("does not match"), std::string::npos)
      << reversed.status();
  // A damaged block after the CA.
  auto damaged = load(cert_to_pem(pki.ca.get()) +
                      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                      "-----END CERTIFICATE-----\n");
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find("certificate 2 is not a valid PEM certificate"),
            std::string::npos)
      << damaged.status();
  // More certificates than any real chain has.
  std::string many = cert_to_pem(pki.ca.get());
  for (size_t i = 0; i < kMaxBundleCertificates; ++i) many += cert_to_pem(pki.root.get());
  auto too_many = load(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("more than 10 certificates"), std::string::npos)
      << too_many.status();
}

TEST(CertificateAuthority, MintsDnsAndIpLeavesThatVerify) {
  auto ca = CertificateAuthority::generate("test CA");
  ASSERT_TRUE(ca.ok());
  auto key = generate_p256_key();
  ASSERT_TRUE(key.ok());
  for (std::string host :
       {std::string("s3.us-west-2.amazonaws.com"), std::string("127.0.0.1"), std::string("::1")}) {
    auto leaf = (*ca)->mint(host, key->get(), 30);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    EXPECT_EQ(verify((*ca)->cert(), leaf->get(), host), X509_V_OK) << host;
    EXPECT_NE(verify((*ca)->cert(), leaf->get(), "other.example"), X509_V_OK) << host;
    // Backdated, and valid for the days asked.
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf->get()),
                             X509_get0_notAfter(leaf->get())),
              1);
    EXPECT_EQ(days * 86400 + secs, 30 * 86400 + kLeafBackdateSeconds);
    EXPECT_EQ(X509_check_ca(leaf->get()), 0);
  }
  auto a = (*ca)->mint("a.example", key->get(), 1);
  auto b = (*ca)->mint("a.example", key->get(), 1);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->get()), X509_get0_serialNumber(b->get())),
            0);
}

TEST(CertificateAuthority, RefusesNamesThatAreNotHosts) {
  auto ca = CertificateAuthority::generate("test CA");
  ASSERT_TRUE(ca.ok());
  auto key = generate_p256_key();
  for (std::string bad : std::vector<std::string>{
           "", "*.example.com", "a..b", "-a.example", "a-.example", "a b", "a,DNS:evil.com",
           std::string(254, 'a'), std::string(64, 'a') + ".com"}) {
    EXPECT_FALSE(valid_host(bad)) << bad;
    EXPECT_FALSE((*ca)->mint(bad, key->get(), 1).ok()) << bad;
  }
  EXPECT_TRUE(valid_host("s3.dualstack.eu-west-1.amazonaws.com"));
  EXPECT_TRUE(valid_host("my_bucket.s3.amazonaws.com"));
  EXPECT_TRUE(valid_host("2001:db8::1"));
}

TEST(CertificateAuthority, AdminCertificateNamesTheListenAddress) {
  EXPECT_EQ(admin_cert_hosts("127.0.0.1:8443"),
            (std::vector<std::string>{"127.0.0.1", "localhost", "::1"}));
  EXPECT_EQ(admin_cert_hosts("10.1.2.3:8443"), (std::vector<std::string>{"10.1.2.3"}));
  auto wildcard = admin_cert_hosts("0.0.0.0:8443");
  EXPECT_EQ(wildcard[0], "localhost");
  EXPECT_GE(wildcard.size(), 3u);
  EXPECT_EQ(admin_cert_hosts("Admin.Example:8443"), (std::vector<std::string>{"admin.example"}));

  auto ca = CertificateAuthority::generate("test CA");
  auto key = generate_p256_key();
  auto hosts = admin_cert_hosts("127.0.0.1:8443");
  auto cert = (*ca)->mint_multi(hosts, key->get(), 397);
  ASSERT_TRUE(cert.ok()) << cert.status();
  for (const std::string& h : hosts) EXPECT_EQ(verify((*ca)->cert(), cert->get(), h), X509_V_OK);
}

}  // namespace
}  // namespace pamproxy::tls
