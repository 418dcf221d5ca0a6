#include "pamproxy/sigv4/key_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::sigv4 {
namespace {

std::string hex(const Digest& d) {
  char h[64];
  hex_encode(d, h);
  return std::string(h, 64);
}

TEST(KeyCache, DerivesTheDocumentedSigningKey) {
  // AWS's "Examples of how to derive a signing key for Signature Version 4" (iam, 20120215).
  EXPECT_EQ(hex(derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   Scope{"20120215", "us-east-1", "iam"})),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(KeyCache, HitsMissesAndKeysStayCorrectUnderEviction) {
  KeyCache cache(8);
  const Scope s{"20130524", "us-east-1", "s3"};
  const Digest k = derive_signing_key("secret", s);
  HmacKey ref(as_view(k));
  EXPECT_EQ(hex(cache.get("secret", s).mac("x")), hex(ref.mac("x")));
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(hex(cache.get("secret", s).mac("x")), hex(ref.mac("x")));
  EXPECT_EQ(cache.hits(), 1u);
  // Each field of the key matters.
  cache.get("secreT", s);
  cache.get("secret", Scope{"20130525", "us-east-1", "s3"});
  cache.get("secret", Scope{"20130524", "us-east-2", "s3"});
  cache.get("secret", Scope{"20130524", "us-east-1", "sts"});
  EXPECT_EQ(cache.misses(), 5u);
  // Many more keys than entries: always the right key, bounded memory.
  for (int i = 0; i < 200; ++i) {
    const std::string secret = "secret-" + std::to_string(i % 37);
    HmacKey want(as_view(derive_signing_key(secret, s)));
    ASSERT_EQ(hex(cache.get(secret, s).mac("m")), hex(want.mac("m"))) << i;
  }
  // Secrets too long to cache still give the right key.
  const std::string long_secret(500, 'z');
  HmacKey want(as_view(derive_signing_key(long_secret, s)));
  EXPECT_EQ(hex(cache.get(long_secret, s).mac("m")), hex(want.mac("m")));
}

}  // namespace
}  // namespace pamproxy::sigv4
