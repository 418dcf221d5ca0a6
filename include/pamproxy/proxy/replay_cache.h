#pragma once
// Refusing exact replays of a signed request from another client. Within the clock-skew window a
// captured request (Authorization header and all) would verify again. A signature covers the date
// to the second and every signed header, so the same signature twice is the same request twice;
// but a client may legitimately send the same request twice in one second (two processes making
// the same call, Go's transport retrying on a new connection), so only a signature seen before
// from a different client address is refused: a replay from elsewhere.
//
// Per worker, no lock: a replay sent to another worker's tunnel is not caught here (it still
// falls to the skew window). Bounded: at most `entries` signatures (32 bytes + client key + time
// each, about 64 bytes with the index), the oldest forgotten first; entries older than the window
// are dropped as they reach the front.

#include <array>
#include <cstdint>
#include <deque>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace pamproxy::proxy {

class ReplayCache {
 public:
  ReplayCache(size_t entries, int64_t window_s) : entries_(entries), window_s_(window_s) {}

  // Records `signature_hex` (64 hex) for the client `client_key` (the client address, hashed);
  // true when it was already seen, within the window, from a different client.
  bool seen_elsewhere(std::string_view signature_hex, uint64_t client_key, int64_t now_s);
  size_t size() const { return map_.size(); }
  // The clock-skew window changed (a reload); entries are judged by the new one from now on.
  void set_window_s(int64_t window_s) { window_s_ = window_s; }

 private:
  using Key = std::array<uint8_t, 32>;
  struct Entry {
    uint64_t client;
    int64_t at_s;
  };
  void expire(int64_t now_s);

  size_t entries_;
  int64_t window_s_;
  absl::flat_hash_map<Key, Entry> map_;
  std::deque<std::pair<Key, int64_t>> order_;  // insertion order (time order)
};

}  // namespace pamproxy::proxy
