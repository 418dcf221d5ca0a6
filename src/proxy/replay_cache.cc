// The per-worker replay cache (see replay_cache.h).

#include "pamproxy/proxy/replay_cache.h"

namespace pamproxy::proxy {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

void ReplayCache::expire(int64_t now_s) {
  while (!order_.empty() &&
         (order_.front().second + window_s_ < now_s || order_.size() > entries_)) {
    auto it = map_.find(order_.front().first);
    // A key re-recorded later has a newer time: only drop the entry this queue slot made.
    if (it != map_.end() && it->second.at_s == order_.front().second) map_.erase(it);
    order_.pop_front();
  }
}

bool ReplayCache::seen_elsewhere(std::string_view signature_hex, uint64_t client_key,
                                 int64_t now_s) {
  if (entries_ == 0) return false;
  Key key{};
  for (size_t i = 0; i < key.size() && 2 * i + 1 < signature_hex.size(); ++i) {
    key[i] = static_cast<uint8_t>(hex_value(signature_hex[2 * i]) << 4 |
                                  hex_value(signature_hex[2 * i + 1]));
  }
  expire(now_s);
  auto it = map_.find(key);
  if (it != map_.end() && it->second.at_s + window_s_ >= now_s) {
    return it->second.client != client_key;
  }
  map_[key] = Entry{client_key, now_s};
  order_.emplace_back(key, now_s);
  expire(now_s);
  return false;
}

}  // namespace pamproxy::proxy
