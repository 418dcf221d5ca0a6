#include "pamproxy/sigv4/crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {
namespace {

std::string hex(const Digest& d) {
  char h[64];
  hex_encode(d, h);
  return std::string(h, 64);
}

TEST(Crypto, Sha256KnownAnswers) {
  EXPECT_EQ(hex(sha256("")), std::string(kEmptySha256));
  // FIPS 180-2 example "abc".
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(hex(h.finish()), hex(sha256("abc")));
}

TEST(Crypto, HmacRfc4231Case2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, HmacMatchesOpenSslForAllKeyLengths) {
  std::string msg(300, 'm');
  for (size_t n : {0, 1, 31, 32, 63, 64, 65, 131, 1000}) {
    std::string key(n, 'k');
    for (size_t i = 0; i < n; ++i) key[i] = static_cast<char>(i * 7);
    unsigned char ref[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), ref, &len);
    Digest d = hmac_sha256(key, msg);
    ASSERT_EQ(len, 32u);
    EXPECT_EQ(0, std::memcmp(ref, d.data(), 32)) << "key length " << n;
    HmacKey k(key);
    EXPECT_EQ(hex(k.mac(msg)), hex(d));  // the precomputed key is reusable
    EXPECT_EQ(hex(k.mac(msg)), hex(d));
  }
}

TEST(Crypto, HexAndConstantTimeEqual) {
  EXPECT_TRUE(is_lower_hex64(kEmptySha256));
  EXPECT_FALSE(is_lower_hex64(std::string(64, 'A')));
  EXPECT_FALSE(is_lower_hex64(std::string(63, 'a')));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace pamproxy::sigv4
