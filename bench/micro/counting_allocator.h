#pragma once
// A replaced global operator new that counts allocations, for benchmarks that prove a path
// allocates nothing: read g_allocations before and after. Link counting_allocator.cc into a
// binary of its own (it replaces operator new for the whole program).

#include <atomic>
#include <cstdint>

extern std::atomic<uint64_t> g_allocations;
