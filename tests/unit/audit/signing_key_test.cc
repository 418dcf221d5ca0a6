#include "pamproxy/audit/signing_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "audit_test_util.h"

namespace pamproxy::audit {
namespace {

TEST(SigningKey, CreatedWithMode0600AndReloadedUnchanged) {
  testing::TempDir dir;
  std::string path = dir.sub("audit-ed25519.key");
  auto created = SigningKey::load_or_create(path);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = SigningKey::load_or_create(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key().key_id(), created->public_key().key_id());
  EXPECT_EQ(again->public_key().pem(), created->public_key().pem());
  EXPECT_EQ(created->public_key().key_id().size(), 16u);
}

TEST(SigningKey, SignaturesVerifyOnlyForTheirMessageAndKey) {
  SigningKey a = SigningKey::generate();
  SigningKey b = SigningKey::generate();
  std::string sig = a.sign_hex("checkpoint 1");
  ASSERT_EQ(sig.size(), kSignatureHexBytes);
  EXPECT_TRUE(a.public_key().verify_hex("checkpoint 1", sig));
  EXPECT_FALSE(a.public_key().verify_hex("checkpoint 2", sig));
  EXPECT_FALSE(b.public_key().verify_hex("checkpoint 1", sig));
  std::string flipped = sig;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_FALSE(a.public_key().verify_hex("checkpoint 1", flipped));
  EXPECT_FALSE(a.public_key().verify_hex("checkpoint 1", sig.substr(2)));
  EXPECT_FALSE(a.public_key().verify_hex("checkpoint 1", std::string(128, 'z')));
}

TEST(SigningKey, PublicKeyPemRoundTrips) {
  SigningKey k = SigningKey::generate();
  auto pub = PublicKey::from_pem(k.public_key().pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->key_id(), k.public_key().key_id());
  EXPECT_TRUE(pub->verify_hex("m", k.sign_hex("m")));
  EXPECT_FALSE(PublicKey::from_pem("not pem").ok());
}

TEST(SigningKey, BadFilesAreErrorsNotCrashes) {
  testing::TempDir dir;
  testing::write_file(dir.sub("garbage.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  EXPECT_FALSE(SigningKey::load(dir.sub("garbage.key")).ok());
  EXPECT_EQ(SigningKey::load(dir.sub("missing.key")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(SigningKey::load_or_create(dir.sub("no/such/dir/key")).ok());
}

}  // namespace
}  // namespace pamproxy::audit
