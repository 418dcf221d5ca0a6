#pragma once
// Name resolution for upstream connections: one resolver thread running c-ares (real DNS over
// [upstream] dns_servers, or the system's /etc/resolv.conf and /etc/hosts) and a bounded cache
// shared by the workers. A worker never blocks on DNS: a fresh cache entry answers at once
// (cached()); a miss is submitted, and the answer comes back through that worker's inbox, an
// eventfd its io_uring reads, with the cookie the worker gave.
//
//   worker:  if (auto hit = r.cached(host)) use(*hit); else r.submit(host, inbox, cookie);
//   later:   eventfd readable -> r.take_answers(inbox, &answers) -> match cookies
//
// Bounds: cache_entries (least recently used out), TTLs capped at ttl_max_s (failures cached
// for negative_ttl_s so a dead name is not hammered), at most pending_max lookups queued or in
// flight (submit() refuses beyond), one query on the wire per name however many wait for it,
// and every lookup ends within c-ares' timeout x tries. Answers carry addresses only; whether a
// tunnel may use them (private ranges) is DestinationPolicy's decision, not the resolver's.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/base/net_address.h"

namespace pamproxy::proxy {

struct ResolverOptions {
  std::vector<std::string> servers;  // "ip[:port]" / "[ipv6]:port"; empty: /etc/resolv.conf
  size_t cache_entries = 4096;
  int64_t ttl_max_s = 300;
  int64_t negative_ttl_s = 5;
  int64_t query_timeout_ms = 2000;  // per try
  int tries = 2;
  size_t inboxes = 1;  // one per worker
  size_t pending_max = 4096;
};

using Addresses = std::vector<net::IpAddress>;

class Resolver {
 public:
  struct Answer {
    uint64_t cookie = 0;
    absl::StatusOr<Addresses> addresses;  // NotFound (no such name), Unavailable (no answer)
  };

  // Starts the thread. Fails on a bad server address or when c-ares cannot start.
  static absl::StatusOr<std::unique_ptr<Resolver>> start(const ResolverOptions& options);
  ~Resolver();  // stops the thread; answers not taken are dropped
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Any thread. The fresh cached answer for `host` (addresses or a cached failure), if any.
  std::optional<absl::StatusOr<Addresses>> cached(std::string_view host);
  // Any thread. Queues a lookup whose answer goes to `inbox` with `cookie`. False when
  // pending_max lookups are already waiting (the caller answers "DNS busy").
  bool submit(std::string_view host, size_t inbox, uint64_t cookie);
  // Any thread. [upstream] dns_ttl_max_s changed on reload: caps the answers cached from now on.
  void set_ttl_max_s(int64_t ttl_max_s);
  // The eventfd that becomes readable when `inbox` has answers (owned by the resolver).
  int inbox_fd(size_t inbox) const;
  // Moves every answer of `inbox` into `out` (appending) and resets its eventfd.
  void take_answers(size_t inbox, std::vector<Answer>* out);

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t queries = 0;  // lookups sent (coalesced waiters not counted)
    uint64_t failures = 0;
    uint64_t refused_busy = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pamproxy::proxy
