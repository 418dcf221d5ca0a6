// Relay memory and its per-worker cache (see include/pamproxy/proxy/relay_memory.h).

#include "pamproxy/proxy/relay_memory.h"

#include <sys/mman.h>

namespace pamproxy::proxy {

RelayMemoryCache::~RelayMemoryCache() { clear(); }

uint8_t* RelayMemoryCache::take(size_t bytes) {
  if (bytes != wanted_) {
    // The size changed (the body cap, on reload): mappings of the old size are not asked for
    // any more.
    clear();
    wanted_ = bytes;
  }
  if (!idle_.empty()) {
    uint8_t* base = idle_.back();
    idle_.pop_back();
    return base;
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ++mapped_;
  return static_cast<uint8_t*>(p);
}

void RelayMemoryCache::give(uint8_t* base, size_t bytes, bool tail_touched) {
  if (bytes != wanted_ || idle_.size() >= entries_) {
    ::munmap(base, bytes);
    return;
  }
  if (tail_touched && bytes > keep_bytes_) {
    ::madvise(base + keep_bytes_, bytes - keep_bytes_, MADV_DONTNEED);
  }
  idle_.push_back(base);
}

void RelayMemoryCache::clear() {
  for (uint8_t* base : idle_) ::munmap(base, wanted_);
  idle_.clear();
}

RelayMemory::~RelayMemory() {
  if (base != nullptr) cache.give(base, bytes, tail_touched);
}

bool RelayMemory::map(size_t size) {
  base = cache.take(size);
  if (base == nullptr) return false;
  bytes = size;
  return true;
}

void RelayMemory::release() {
  if (base != nullptr) ::madvise(base, bytes, MADV_DONTNEED);
  tail_touched = false;
}

}  // namespace pamproxy::proxy
