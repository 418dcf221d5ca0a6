#include "pamproxy/store/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "tests/unit/store/temp_dir.h"

namespace pamproxy::store {
namespace {

using testing::TempDir;

MasterKey key_of(uint8_t fill) {
  std::array<uint8_t, 32> b;
  b.fill(fill);
  return MasterKey::from_bytes(b);
}

TEST(Crypto, SealOpensOnlyWithSameKeyAndPlace) {
  MasterKey k = key_of(1);
  std::string sealed = k.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "records.secret:r-1");
  EXPECT_EQ(sealed.find("wJalrXUtnFEMI"), std::string::npos);
  auto open = k.open(sealed, "records.secret:r-1");
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->reveal(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  EXPECT_FALSE(k.open(sealed, "records.secret:r-2").ok());  // moved to another row
  EXPECT_FALSE(key_of(2).open(sealed, "records.secret:r-1").ok());
  std::string tampered = sealed;
  tampered[20] ^= 1;
  EXPECT_FALSE(k.open(tampered, "records.secret:r-1").ok());
  EXPECT_FALSE(k.open(sealed.substr(0, 10), "records.secret:r-1").ok());
  EXPECT_NE(k.seal("same", "a"), k.seal("same", "a"));  // fresh nonce each time
  EXPECT_EQ(k.open(k.seal("", "a"), "a")->reveal(), "");
}

TEST(Crypto, KeyFileCreatedPrivateAndNeverOverwritten) {
  TempDir dir;
  std::string path = dir.file("master.key");
  auto created = MasterKey::create(path);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(MasterKey::create(path).ok());
  auto loaded = MasterKey::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->open(created->seal("x", "a"), "a")->reveal(), "x");
}

TEST(Crypto, KeyFileFormatsAndPermissions) {
  TempDir dir;
  std::string raw = dir.file("raw.key");
  testing::write_file(raw, std::string(32, '\x07'));
  chmod(raw.c_str(), 0400);
  auto k = MasterKey::load(raw);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(key_of(7).open(k->seal("v", "a"), "a")->reveal(), "v");

  std::string hex = dir.file("hex.key");
  testing::write_file(hex, std::string(64, '0') + "\n");
  chmod(hex.c_str(), 0600);
  ASSERT_TRUE(MasterKey::load(hex).ok());

  std::string shared = dir.file("shared.key");
  testing::write_file(shared, std::string(32, 'x'));
  chmod(shared.c_str(), 0644);
  auto refused = MasterKey::load(shared);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("chmod 600"), std::string::npos);

  std::string short_key = dir.file("short.key");
  testing::write_file(short_key, "abc");
  chmod(short_key.c_str(), 0600);
  EXPECT_FALSE(MasterKey::load(short_key).ok());
  EXPECT_TRUE(absl::IsNotFound(MasterKey::load(dir.file("absent.key")).status()));
}

TEST(Crypto, IdsAndSecretsLookRight) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = random_token_id();
    ASSERT_EQ(id.size(), 20u);
    EXPECT_EQ(id.substr(0, 3), "PAM");
    EXPECT_EQ(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos) << id;
    std::string secret = random_token_secret();
    ASSERT_EQ(secret.size(), 40u);
    EXPECT_EQ(secret.find_first_of("#/+= "), std::string::npos);
    EXPECT_TRUE(seen.insert(id).second);
    EXPECT_TRUE(seen.insert(secret).second);
  }
  std::string rid = random_id("r-", 16);
  EXPECT_EQ(rid.size(), 18u);
  EXPECT_EQ(rid.find_first_not_of("r-abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::store
