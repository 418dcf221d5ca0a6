#pragma once
// The certificates minted for the hosts users reach through the proxy: one shared P-256 leaf key
// for every host, one certificate per host, kept in a bounded LRU shared by all workers.
//
// Minting costs a signature and an encoding (~100-300 us); a cache hit costs a hash lookup under
// a short mutex and one atomic reference count. Minting happens outside the lock, so a worker
// that mints never stalls the others; two workers missing on the same host at once may both
// mint, and the first insert wins (bounded waste, no per-connection minting in steady state).
// A certificate is minted again once half its validity has passed.
//
// Never: mints for a name that fails valid_host (the server side checks SNI against the CONNECT
// host before asking), grows past its capacity.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::tls {

// One minted certificate. Immutable once made; shared by every connection that uses it.
struct Leaf {
  X509Ptr cert;
  std::vector<uint8_t> der;  // the certificate encoded once, for the handshakes that send it
  int64_t refresh_at_s = 0;  // unix time after which the cache mints a fresh one
};

class LeafCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t mints = 0;
    uint64_t mint_failures = 0;
    uint64_t evictions = 0;
    size_t entries = 0;
  };

  // `capacity` >= 1 (config tls.leaf_cache_entries); `validity_days` >= 1
  // (tls.leaf_validity_days).
  LeafCache(std::shared_ptr<const CertificateAuthority> ca, EvpPkeyPtr leaf_key, size_t capacity,
            int64_t validity_days);
  // Makes the shared leaf key itself.
  static absl::StatusOr<std::shared_ptr<LeafCache>> create(
      std::shared_ptr<const CertificateAuthority> ca, size_t capacity, int64_t validity_days);

  // The certificate for `host` (case-insensitive; a trailing dot ignored), minted on first use.
  // Thread-safe. InvalidArgument for a host that fails valid_host.
  absl::StatusOr<std::shared_ptr<const Leaf>> get(std::string_view host);

  EVP_PKEY* key() const { return key_.get(); }
  const CertificateAuthority& ca() const { return *ca_; }
  Stats stats() const;

 private:
  using Order = std::list<std::string>;  // most recently used first
  struct Entry {
    std::shared_ptr<const Leaf> leaf;
    Order::iterator position;
  };

  std::shared_ptr<const CertificateAuthority> ca_;
  EvpPkeyPtr key_;
  const size_t capacity_;
  const int64_t validity_days_;

  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mu_
  Order order_;                                      // guarded by mu_
  Stats stats_;                                      // guarded by mu_
};

// Lower-cases `host` and drops one trailing dot: the cache key and the name compared with the
// CONNECT host.
std::string normalize_host(std::string_view host);

}  // namespace pamproxy::tls
