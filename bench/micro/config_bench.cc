// Loading the configuration happens at start and on SIGHUP only; this bench keeps the cost of a
// reload visible (it must stay far below the 100 ms a settings change may take to apply).

#include <benchmark/benchmark.h>

#include "pamproxy/config/config.h"

namespace {

void BM_ConfigLoadDefaults(benchmark::State& state) {
  std::string text = pamproxy::config::to_toml(pamproxy::config::Config{});
  for (auto _ : state) {
    auto r = pamproxy::config::load_string(text, "bench.toml");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ConfigLoadDefaults);

}  // namespace
