// Key material helpers of src/tls/secrets.cc: what they leave behind in memory.

#include "src/tls/secrets.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>

namespace pamproxy::tls {
namespace {

TEST(Hmac, TheThreadsContextHoldsNoKeyOfTheLastCall) {
  for (const char* digest : {"SHA256", "SHA384"}) {
    uint8_t key[48];
    for (size_t i = 0; i < sizeof(key); ++i) key[i] = static_cast<uint8_t>(0xa0 + i);
    const uint8_t message[] = {'m', 'e', 's', 's', 'a', 'g', 'e'};
    uint8_t with_key[EVP_MAX_MD_SIZE];
    const size_t n = hmac(digest, key, {message}, with_key);
    ASSERT_GT(n, 0u) << digest;
    // Started again without a key, OpenSSL's HMAC goes on with whatever key the context holds.
    EVP_MAC_CTX* ctx = thread_hmac_context(digest);
    ASSERT_NE(ctx, nullptr);
    ASSERT_EQ(EVP_MAC_init(ctx, nullptr, 0, nullptr), 1);
    ASSERT_EQ(EVP_MAC_update(ctx, message, sizeof(message)), 1);
    uint8_t after[EVP_MAX_MD_SIZE];
    size_t m = 0;
    ASSERT_EQ(EVP_MAC_final(ctx, after, &m, sizeof(after)), 1);
    ASSERT_EQ(m, n);
    EXPECT_NE(std::memcmp(after, with_key, n), 0) << digest << ": the last key is still there";
    // And the next call is keyed as asked.
    uint8_t again[EVP_MAX_MD_SIZE];
    ASSERT_EQ(hmac(digest, key, {message}, again), n);
    EXPECT_EQ(std::memcmp(again, with_key, n), 0) << digest;
  }
}

TEST(ScopedCleanse, WipesOnEveryWayOut) {
  uint8_t secret[32];
  auto leave_early = [&](bool early) {
    ScopedCleanse wipe(secret, sizeof(secret));
    std::memset(secret, 0x5a, sizeof(secret));
    if (early) return false;
    return true;
  };
  for (bool early : {true, false}) {
    leave_early(early);
    for (uint8_t b : secret) ASSERT_EQ(b, 0) << early;
  }
}

}  // namespace
}  // namespace pamproxy::tls
