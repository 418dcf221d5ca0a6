// The process-wide replay cache as the workers check it: one check per signed request, from one
// thread and from several at once on the same cache (the workers), full and forgetting its
// oldest (the steady state of a busy appliance). Targets: a check in well under a microsecond,
// no slower per thread with more threads (the shard locks are not contended), zero heap
// allocations per check. This binary replaces the global operator new to count allocations;
// each benchmark reports `allocs_per_op` measured over its timed loop.
//
//   build/release/bench/micro/bench-replay --benchmark_repetitions=5
//       --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "bench/micro/counting_allocator.h"
#include "pamproxy/proxy/replay_cache.h"

namespace {

using pamproxy::proxy::ReplayCache;

constexpr size_t kEntries = 65536;  // the default [proxy] replay_cache_entries
constexpr int kThreadsMax = 8;
constexpr size_t kPerThread = 1 << 17;  // twice the cache: every new one pushes out the oldest

// Random 64-hex signatures, a set per thread, made before any timing.
const std::vector<std::string>& signatures(int thread) {
  static const std::vector<std::vector<std::string>> all = [] {
    std::mt19937_64 rng(42);
    std::vector<std::vector<std::string>> out(kThreadsMax);
    for (auto& set : out) {
      set.reserve(kPerThread);
      for (size_t i = 0; i < kPerThread; ++i) {
        char buf[65];
        std::snprintf(
            buf, sizeof buf, "%016llx%016llx%016llx%016llx", static_cast<unsigned long long>(rng()),
            static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()),
            static_cast<unsigned long long>(rng()));
        set.emplace_back(buf, 64);
      }
    }
    return out;
  }();
  return all[static_cast<size_t>(thread)];
}

ReplayCache& shared_cache() {
  static ReplayCache cache(kEntries, 900);
  return cache;
}

void report_allocations(benchmark::State& state, uint64_t before) {
  state.counters["allocs_per_op"] =
      benchmark::Counter(static_cast<double>(g_allocations.load() - before) /
                             static_cast<double>(state.iterations() * state.threads()),
                         benchmark::Counter::kAvgThreads);
}

// A new signature each time (a first use): the cache records it and forgets its oldest.
void BM_ReplayCheckNew(benchmark::State& state) {
  const std::vector<std::string>& sigs = signatures(state.thread_index());
  ReplayCache& cache = shared_cache();
  if (state.thread_index() == 0) {
    for (const std::string& s : signatures(kThreadsMax - 1)) cache.seen_elsewhere(s, 99, 1000);
  }
  const uint64_t client = 100 + static_cast<uint64_t>(state.thread_index());
  size_t i = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.seen_elsewhere(sigs[i], client, 1000));
    i = (i + 1) % sigs.size();
  }
  report_allocations(state, before);
}
BENCHMARK(BM_ReplayCheckNew)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The same client's retries of signatures the cache holds: found, not a replay.
void BM_ReplayCheckRetry(benchmark::State& state) {
  const std::vector<std::string>& sigs = signatures(state.thread_index());
  ReplayCache& cache = shared_cache();
  const uint64_t client = 200 + static_cast<uint64_t>(state.thread_index());
  constexpr size_t kHeld = 1024;  // well within each shard's share
  for (size_t i = 0; i < kHeld; ++i) cache.seen_elsewhere(sigs[i], client, 2000);
  size_t i = 0;
  const uint64_t before = g_allocations.load();
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.seen_elsewhere(sigs[i], client, 2000));
    i = (i + 1) % kHeld;
  }
  report_allocations(state, before);
}
BENCHMARK(BM_ReplayCheckRetry)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
