// The process-wide replay cache (see replay_cache.h).

#include "pamproxy/proxy/replay_cache.h"

#include <algorithm>
#include <cstring>

#include "pamproxy/base/check.h"

namespace pamproxy::proxy {
namespace {

// A table, not comparisons: the digits of a signature are random, so branches on them would be
// mispredicted about every third character.
constexpr std::array<uint8_t, 256> kHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<uint8_t>(c - 'A' + 10);
  return t;
}();

uint8_t hex_value(char c) {
  return kHexValue[static_cast<uint8_t>(c)];
}

size_t floor_power_of_two(size_t n) {
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

}  // namespace

ReplayCache::ReplayCache(size_t entries, int64_t window_s, size_t shards) : window_s_(window_s) {
  if (entries == 0) return;
  const size_t count = floor_power_of_two(std::max<size_t>(1, std::min(shards, entries)));
  shard_entries_ = (entries + count - 1) / count;
  PAMPROXY_CHECK(shard_entries_ < (size_t{1} << 31));
  shards_ = std::vector<Shard>(count);
  for (Shard& s : shards_) {
    s.ring.resize(shard_entries_);
    s.index.assign(floor_power_of_two(shard_entries_) * 4, 0);  // >= 2x the ring, a power of two
  }
}

// The signature is an HMAC that verified before it is recorded: uniform, and not chosen by the
// client without the token's secret, so its own bytes are the hash (byte 0 picks the shard).
size_t ReplayCache::probe_start(const Shard& s, const Key& key) const {
  uint64_t h;
  std::memcpy(&h, key.data() + 8, sizeof h);
  return static_cast<size_t>(h) & (s.index.size() - 1);
}

size_t ReplayCache::find_slot(const Shard& s, const Key& key) const {
  const size_t mask = s.index.size() - 1;
  for (size_t i = probe_start(s, key);; i = (i + 1) & mask) {
    if (s.index[i] == 0) return s.index.size();
    if (s.ring[s.index[i] - 1].key == key) return i;
  }
}

// Linear probing without tombstones: the slots after the erased one move back when their probe
// start allows, so every entry stays reachable from its start without crossing an empty slot.
void ReplayCache::erase_slot(Shard& s, size_t slot) {
  const size_t mask = s.index.size() - 1;
  size_t hole = slot;
  for (size_t j = (hole + 1) & mask; s.index[j] != 0; j = (j + 1) & mask) {
    const size_t start = probe_start(s, s.ring[s.index[j] - 1].key);
    if (((j - start) & mask) >= ((j - hole) & mask)) {
      s.index[hole] = s.index[j];
      hole = j;
    }
  }
  s.index[hole] = 0;
}

// Drops the oldest entry. Its key may have been recorded again later (after it expired): the
// index then names the newer position, which stays.
void ReplayCache::pop_front(Shard& s) {
  PAMPROXY_CHECK(s.count > 0);
  const size_t slot = find_slot(s, s.ring[s.head].key);
  if (slot != s.index.size() && s.index[slot] - 1 == s.head) erase_slot(s, slot);
  s.head = (s.head + 1) % shard_entries_;
  --s.count;
}

bool ReplayCache::check(Shard& s, const Key& key, uint64_t client_key, int64_t now_s,
                        int64_t window_s) {
  while (s.count > 0 && s.ring[s.head].at_s + window_s < now_s) pop_front(s);
  const size_t slot = find_slot(s, key);
  if (slot != s.index.size()) {
    const Entry& e = s.ring[s.index[slot] - 1];
    if (e.at_s + window_s >= now_s) return e.client != client_key;
    erase_slot(s, slot);  // expired but not yet at the front: recorded anew below
  }
  if (s.count == shard_entries_) pop_front(s);
  const size_t pos = (s.head + s.count) % shard_entries_;
  s.ring[pos] = Entry{key, client_key, now_s};
  ++s.count;
  const size_t mask = s.index.size() - 1;
  size_t i = probe_start(s, key);
  while (s.index[i] != 0) i = (i + 1) & mask;
  s.index[i] = static_cast<uint32_t>(pos + 1);
  return false;
}

bool ReplayCache::seen_elsewhere(std::string_view signature_hex, uint64_t client_key,
                                 int64_t now_s) {
  if (shards_.empty()) return false;
  Key key{};
  for (size_t i = 0; i < key.size() && 2 * i + 1 < signature_hex.size(); ++i) {
    key[i] = static_cast<uint8_t>(hex_value(signature_hex[2 * i]) << 4 |
                                  hex_value(signature_hex[2 * i + 1]));
  }
  const int64_t window_s = window_s_.load(std::memory_order_relaxed);
  Shard& s = shards_[key[0] & (shards_.size() - 1)];
  std::lock_guard<std::mutex> lock(s.mu);
  return check(s, key, client_key, now_s, window_s);
}

size_t ReplayCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.count;
  }
  return n;
}

}  // namespace pamproxy::proxy
