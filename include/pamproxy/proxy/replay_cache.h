#pragma once
// Refusing exact replays of a signed request on another tunnel. Within the clock-skew window a
// captured request (Authorization header and all) would verify again; the signature is unique to
// one request (it covers the date to the second and every signed header), so a signature seen
// before on a different tunnel is a replay. A client retrying on its own tunnel is not refused
// (SDKs re-sign retries anyway).
//
// Per worker, no lock: a replay sent to another worker's tunnel is not caught here (it still
// falls to the skew window). Bounded: at most `entries` signatures (32 bytes + tunnel id + time
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

  // Records `signature_hex` (64 hex) for `tunnel`; true when it was already seen, within the
  // window, on a different tunnel.
  bool seen_elsewhere(std::string_view signature_hex, uint64_t tunnel, int64_t now_s);
  size_t size() const { return map_.size(); }

 private:
  using Key = std::array<uint8_t, 32>;
  struct Entry {
    uint64_t tunnel;
    int64_t at_s;
  };
  void expire(int64_t now_s);

  size_t entries_;
  int64_t window_s_;
  absl::flat_hash_map<Key, Entry> map_;
  std::deque<std::pair<Key, int64_t>> order_;  // insertion order (time order)
};

}  // namespace pamproxy::proxy
