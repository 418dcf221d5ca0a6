#include "pamproxy/sigv4/key_cache.h"

#include <openssl/crypto.h>

#include <cstring>

#include "pamproxy/base/check.h"

namespace pamproxy::sigv4 {
namespace {

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h ^ 0xff;  // field separator, so ("ab","c") and ("a","bc") differ
}

}  // namespace

Digest derive_signing_key(std::string_view secret, const Scope& scope) {
  PAMPROXY_CHECK(secret.size() <= kSecretBytesMax);
  char k[4 + kSecretBytesMax];
  std::memcpy(k, "AWS4", 4);
  std::memcpy(k + 4, secret.data(), secret.size());
  Digest d = hmac_sha256(std::string_view(k, 4 + secret.size()), scope.date);
  OPENSSL_cleanse(k, sizeof k);
  d = hmac_sha256(as_view(d), scope.region);
  d = hmac_sha256(as_view(d), scope.service);
  return hmac_sha256(as_view(d), "aws4_request");
}

KeyCache::KeyCache(size_t entries) {
  size_t sets = 1;
  while (sets * kWays < entries) sets *= 2;
  entries_.resize(sets * kWays);
  set_mask_ = sets - 1;
}

KeyCache::~KeyCache() {
  for (Entry& e : entries_) wipe(e);
  uncached_.clear();
}

void KeyCache::wipe(Entry& e) {
  OPENSSL_cleanse(e.secret, sizeof e.secret);
  e.key.clear();
  e.last_use = 0;
}

bool KeyCache::matches(const Entry& e, uint64_t hash, std::string_view secret,
                       const Scope& s) const {
  return e.last_use != 0 && e.hash == hash && e.secret_len == secret.size() &&
         e.region_len == s.region.size() && e.service_len == s.service.size() &&
         std::memcmp(e.date, s.date.data(), 8) == 0 &&
         std::memcmp(e.region, s.region.data(), s.region.size()) == 0 &&
         std::memcmp(e.service, s.service.data(), s.service.size()) == 0 &&
         CRYPTO_memcmp(e.secret, secret.data(), secret.size()) == 0;
}

const HmacKey& KeyCache::get(std::string_view secret, const Scope& s) {
  if (secret.size() > kSecretMax || s.date.size() != 8 || s.region.size() > kFieldMax ||
      s.service.size() > kFieldMax) {
    ++misses_;
    Digest k = derive_signing_key(secret, s);
    uncached_.set(as_view(k));
    OPENSSL_cleanse(k.data(), k.size());
    return uncached_;
  }
  uint64_t h = 14695981039346656037ull;
  h = fnv1a(fnv1a(fnv1a(fnv1a(h, secret), s.date), s.region), s.service);
  Entry* set = &entries_[(h & set_mask_) * kWays];
  Entry* victim = set;
  ++clock_;
  for (size_t i = 0; i < kWays; ++i) {
    if (matches(set[i], h, secret, s)) {
      ++hits_;
      set[i].last_use = clock_;
      return set[i].key;
    }
    if (set[i].last_use < victim->last_use) victim = &set[i];
  }
  ++misses_;
  wipe(*victim);
  Entry& e = *victim;
  e.hash = h;
  e.last_use = clock_;
  e.secret_len = static_cast<uint8_t>(secret.size());
  e.region_len = static_cast<uint8_t>(s.region.size());
  e.service_len = static_cast<uint8_t>(s.service.size());
  std::memcpy(e.secret, secret.data(), secret.size());
  std::memcpy(e.date, s.date.data(), 8);
  std::memcpy(e.region, s.region.data(), s.region.size());
  std::memcpy(e.service, s.service.data(), s.service.size());
  Digest k = derive_signing_key(secret, s);
  e.key.set(as_view(k));
  OPENSSL_cleanse(k.data(), k.size());
  return e.key;
}

}  // namespace pamproxy::sigv4
