#pragma once
// Refusing exact replays of a signed request or presigned URL from another client. Within the
// clock-skew window a captured request (Authorization header and all, or a presigned URL) would
// verify again. A signature covers the date to the second and every signed header, so the same
// signature twice is the same request twice; but a client may legitimately send the same request
// twice in one second (two processes making the same call, Go's transport retrying on a new
// connection, a browser fetching a presigned URL again), so only a signature seen before from a
// different client address is refused: a replay from elsewhere.
//
// One cache for the whole process, shared by every worker: a replay is refused whichever worker
// its connection lands on. The signatures are split over shards by their first byte, each shard
// with its own lock, so two workers meet on a lock only when they check signatures of the same
// shard at the same instant (a critical section of a few tens of nanoseconds; bench/micro
// replay_cache_bench.cc measures it with one and several threads).
//
//   signature (32 bytes) --byte 0--> shard i     shard: lock | index | ring of entries
//                                                            |  ^      oldest ... newest
//                                                            +--+      (evicted from the left)
//
// Bounds: at most `entries` signatures in all (each shard holds entries / shards, rounded up; a
// shard that is full forgets its oldest first). Each entry is 48 bytes in the ring plus two
// 4-byte index slots: about 56 bytes a signature, all allocated at construction, nothing after.
// An entry older than the window is dropped as it reaches the front of its ring, and is never a
// replay whatever its place. So a signature is refused from another address for `window_s`
// seconds after its first use as long as fewer than entries / shards other signatures reached
// its shard since (about `entries` signatures in all: signatures are uniform).
//
// Invariants (per shard, under its lock): the ring holds `count_` entries from `head_`; every
// live entry has exactly one index slot naming it, found by linear probing from its hash; the
// index has at least twice as many slots as the ring, so a probe always meets an empty slot.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace pamproxy::proxy {

class ReplayCache {
 public:
  static constexpr size_t kShardsDefault = 16;

  // `entries` 0 disables the cache (nothing is ever a replay). `shards` is rounded down to a
  // power of two and to at most `entries`.
  ReplayCache(size_t entries, int64_t window_s, size_t shards = kShardsDefault);
  ReplayCache(const ReplayCache&) = delete;
  ReplayCache& operator=(const ReplayCache&) = delete;

  // Records `signature_hex` (64 hex) for the client `client_key` (the client address, hashed);
  // true when it was already seen, within the window, from a different client. Thread-safe.
  bool seen_elsewhere(std::string_view signature_hex, uint64_t client_key, int64_t now_s);
  // Signatures held (expired ones not yet dropped included). Thread-safe.
  size_t size() const;
  // Most signatures held at once: the shard count times the shard capacity.
  size_t capacity() const { return shards_.size() * shard_entries_; }
  size_t shard_count() const { return shards_.size(); }
  // The clock-skew window changed (a reload); entries are judged by the new one from now on.
  void set_window_s(int64_t window_s) { window_s_.store(window_s, std::memory_order_relaxed); }

 private:
  using Key = std::array<uint8_t, 32>;
  struct Entry {
    Key key;
    uint64_t client;
    int64_t at_s;
  };
  // Cache-line aligned: shards locked by different threads share no line.
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Entry> ring;      // capacity: shard_entries_
    std::vector<uint32_t> index;  // ring positions + 1; 0 is empty; size a power of two
    size_t head = 0;              // the oldest entry's ring position
    size_t count = 0;
  };

  bool check(Shard& s, const Key& key, uint64_t client_key, int64_t now_s, int64_t window_s);
  size_t probe_start(const Shard& s, const Key& key) const;
  size_t find_slot(const Shard& s, const Key& key) const;  // index slot of key, or s.index.size()
  void erase_slot(Shard& s, size_t slot);
  void pop_front(Shard& s);

  size_t shard_entries_ = 0;
  std::atomic<int64_t> window_s_;
  std::vector<Shard> shards_;
};

}  // namespace pamproxy::proxy
