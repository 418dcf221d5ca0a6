#pragma once
// The memory a tunnel relays through: one private anonymous mapping per tunnel (outboxes and
// plaintext windows, see Tunnel), and one worker's cache of the mappings of closed tunnels.
//
// Why a cache: a mapping made, faulted in page by page and unmapped again per tunnel costs more
// than the rest of a short tunnel's bookkeeping (mmap, a page fault per 4 KiB written, munmap
// and the TLB shootdown it sends to every core running a thread of the process). A closed
// tunnel's mapping goes to its worker's cache with the pages it used still resident, and the
// next tunnel takes it as it is.
//
// Owns: at most `entries` idle mappings per worker. What stays resident is bounded: the part of
// a mapping past `keep_bytes` (the usual windows: a buffered request body can reach much
// further) is given back (MADV_DONTNEED) before it is cached, so the cache holds at most
// entries x keep_bytes. Mappings of another size (the body cap changed on reload) are unmapped.
// Never: shared between threads (one per worker), zeroing (a relay buffer is written before it
// is read).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pamproxy::proxy {

class RelayMemoryCache {
 public:
  RelayMemoryCache(size_t entries, size_t keep_bytes) : entries_(entries), keep_bytes_(keep_bytes) {}
  ~RelayMemoryCache();  // unmaps every cached mapping
  RelayMemoryCache(const RelayMemoryCache&) = delete;
  RelayMemoryCache& operator=(const RelayMemoryCache&) = delete;

  // A mapping of `bytes`: a cached one, or a new one (MAP_NORESERVE: address space, pages only
  // once written). Null when mmap fails (errno set).
  uint8_t* take(size_t bytes);
  // Back from a closed tunnel. `tail_touched`: bytes past keep_bytes may be resident.
  void give(uint8_t* base, size_t bytes, bool tail_touched);
  void clear();

  size_t size() const { return idle_.size(); }
  uint64_t mapped() const { return mapped_; }  // mmap calls made

 private:
  size_t entries_;
  size_t keep_bytes_;
  size_t wanted_ = 0;            // the size asked for last: every cached mapping has it
  std::vector<uint8_t*> idle_;  // newest last: its pages are the likeliest to be in the CPU cache
  uint64_t mapped_ = 0;
};

// One tunnel's mapping: taken from the worker's cache on first use, given back to it when the
// tunnel is destroyed.
struct RelayMemory {
  RelayMemoryCache& cache;
  uint8_t* base = nullptr;
  size_t bytes = 0;
  // Bytes past the cache's keep_bytes were written since the last release() (a buffered body).
  bool tail_touched = false;

  explicit RelayMemory(RelayMemoryCache& c) : cache(c) {}
  ~RelayMemory();
  RelayMemory(const RelayMemory&) = delete;
  RelayMemory& operator=(const RelayMemory&) = delete;
  bool map(size_t size);
  // A quiet tunnel: every page goes back to the kernel, the address space stays.
  void release();
};

}  // namespace pamproxy::proxy
