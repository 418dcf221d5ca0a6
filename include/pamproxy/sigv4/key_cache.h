#pragma once
// A bounded cache of derived SigV4 signing keys, keyed by (secret, date, region, service).
// Deriving a key costs four HMACs; a worker signs for a handful of tokens and records a day, so
// nearly every request hits. Fixed size from construction (4-way set associative, least recently
// used replaced within a set); lookups never allocate. One cache per worker: not thread-safe.
// Entries hold the secrets they were derived from and are wiped on replacement and destruction.

#include <cstdint>
#include <string_view>
#include <vector>

#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

inline constexpr size_t kSecretBytesMax = 1024;  // longer secrets are refused by callers

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Digest derive_signing_key(std::string_view secret, const Scope& scope);

class KeyCache {
 public:
  explicit KeyCache(size_t entries = 256);
  ~KeyCache();
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // The signing key as a ready HMAC key. The reference stays valid until the next call.
  const HmacKey& get(std::string_view secret, const Scope& scope);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  static constexpr size_t kWays = 4;
  static constexpr size_t kSecretMax = 128;  // longer secrets are derived every time
  static constexpr size_t kFieldMax = 48;

  struct Entry {
    uint64_t hash = 0;
    uint64_t last_use = 0;  // 0 = empty
    uint8_t secret_len = 0;
    uint8_t region_len = 0;
    uint8_t service_len = 0;
    char secret[kSecretMax];
    char date[8];
    char region[kFieldMax];
    char service[kFieldMax];
    HmacKey key;
  };

  bool matches(const Entry& e, uint64_t hash, std::string_view secret, const Scope& s) const;
  void wipe(Entry& e);

  std::vector<Entry> entries_;
  size_t set_mask_ = 0;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  HmacKey uncached_;  // for secrets or scopes too long to cache
};

}  // namespace pamproxy::sigv4
