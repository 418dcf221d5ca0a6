// The shared leaf key and the LRU of minted certificates (see include/pamproxy/tls/leaf_cache.h).

#include "pamproxy/tls/leaf_cache.h"

#include <ctime>

#include "absl/strings/ascii.h"
#include "pamproxy/base/check.h"

namespace pamproxy::tls {

std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return absl::AsciiStrToLower(absl::string_view(host.data(), host.size()));
}

LeafCache::LeafCache(std::shared_ptr<const CertificateAuthority> ca, EvpPkeyPtr leaf_key,
                     size_t capacity, int64_t validity_days)
    : ca_(std::move(ca)),
      key_(std::move(leaf_key)),
      capacity_(capacity),
      validity_days_(validity_days) {
  PAMPROXY_CHECK(ca_ != nullptr && key_ != nullptr);
  PAMPROXY_CHECK(capacity_ >= 1 && validity_days_ >= 1);
  entries_.reserve(capacity_);
}

absl::StatusOr<std::shared_ptr<LeafCache>> LeafCache::create(
    std::shared_ptr<const CertificateAuthority> ca, size_t capacity, int64_t validity_days) {
  auto key = generate_p256_key();
  if (!key.ok()) return key.status();
  return std::make_shared<LeafCache>(std::move(ca), std::move(*key), capacity, validity_days);
}

absl::StatusOr<std::shared_ptr<const Leaf>> LeafCache::get(std::string_view host_in) {
  std::string host = normalize_host(host_in);
  const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(host);
    if (it != entries_.end() && it->second.leaf->refresh_at_s > now_s) {
      order_.splice(order_.begin(), order_, it->second.position);
      ++stats_.hits;
      return it->second.leaf;
    }
  }

  // Mint outside the lock: other workers keep being served from the cache meanwhile.
  auto cert = ca_->mint(host, key_.get(), validity_days_);
  auto leaf = std::make_shared<Leaf>();
  if (cert.ok()) {
    const int len = i2d_X509(cert->get(), nullptr);
    leaf->der.resize(len > 0 ? static_cast<size_t>(len) : 0);
    uint8_t* p = leaf->der.data();
    if (len <= 0 || i2d_X509(cert->get(), &p) != len) {
      cert = absl::InternalError("encoding the minted certificate failed");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!cert.ok()) {
    ++stats_.mint_failures;
    return cert.status();
  }
  leaf->cert = std::move(*cert);
  leaf->refresh_at_s = now_s + validity_days_ * 86400 / 2;
  ++stats_.mints;

  auto it = entries_.find(host);
  if (it != entries_.end()) {
    // Another worker minted it meanwhile, or this is a refresh: the newest one wins.
    it->second.leaf = leaf;
    order_.splice(order_.begin(), order_, it->second.position);
    return leaf;
  }
  if (entries_.size() >= capacity_) {
    entries_.erase(order_.back());
    order_.pop_back();
    ++stats_.evictions;
  }
  order_.push_front(host);
  entries_.emplace(std::move(host), Entry{leaf, order_.begin()});
  return leaf;
}

LeafCache::Stats LeafCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.entries = entries_.size();
  return s;
}

}  // namespace pamproxy::tls
