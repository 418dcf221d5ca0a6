// Naming the operation of a request, as the zero-trust stage does for every signed request:
// S3 by its own table, JSON by X-Amz-Target, REST-JSON and REST-XML by the routes of the service
// models. The REST cases cost more with more routes of the signing name and method, so they are
// also measured at their worst: chime (six model services signing as "chime", 114 POST routes)
// with a path that starts like many of them and that no route fits. Targets: well under a microsecond
// per request, zero heap allocations. This binary replaces the global operator new to count
// allocations; each benchmark reports `allocs_per_op` over its timed loop.
//
//   build/release/bench/micro/bench-operation --benchmark_repetitions=5
//       --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include "bench/micro/counting_allocator.h"
#include "pamproxy/aws/operation.h"

namespace {

using pamproxy::aws::classify;
using pamproxy::aws::RequestFacts;

RequestFacts facts(std::string_view service, std::string_view method, std::string_view path,
                   std::string_view query = "") {
  RequestFacts f;
  f.service = service;
  f.method = method;
  f.path = path;
  f.query = query;
  return f;
}

void run(benchmark::State& state, const RequestFacts& f, std::string_view expected) {
  if (classify(f).name() != expected) {
    state.SkipWithError("unexpected operation name");
    return;
  }
  uint64_t before = g_allocations.load();
  for (auto _ : state) {
    RequestFacts in = f;
    benchmark::DoNotOptimize(in);
    auto op = classify(in);
    benchmark::DoNotOptimize(op);
  }
  state.counters["allocs_per_op"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before) / static_cast<double>(state.iterations()));
}

void BM_ClassifyS3GetObject(benchmark::State& state) {
  RequestFacts f = facts("s3", "GET", "/photos/2026/12/07/cat.jpg");
  run(state, f, "GetObject");
}
BENCHMARK(BM_ClassifyS3GetObject);

void BM_ClassifyJsonTarget(benchmark::State& state) {
  RequestFacts f = facts("dynamodb", "POST", "/");
  f.amz_target = "DynamoDB_20120810.GetItem";
  run(state, f, "GetItem");
}
BENCHMARK(BM_ClassifyJsonTarget);

void BM_ClassifyRestLambda(benchmark::State& state) {
  run(state, facts("lambda", "DELETE", "/2015-03-31/functions/my-function"), "DeleteFunction");
}
BENCHMARK(BM_ClassifyRestLambda);

void BM_ClassifyRestRoute53(benchmark::State& state) {
  run(state, facts("route53", "GET", "/2013-04-01/hostedzone/Z0123456789ABC/rrset", "maxitems=100"),
      "ListResourceRecordSets");
}
BENCHMARK(BM_ClassifyRestRoute53);

void BM_ClassifyRestS3Control(benchmark::State& state) {
  run(state, facts("s3", "GET", "/v20180820/mrap/instances/a/b/policy"),
      "GetMultiRegionAccessPointPolicy");
}
BENCHMARK(BM_ClassifyRestS3Control);

// The worst case: every POST route of the largest signing name is tried, and none fits.
void BM_ClassifyRestNoRouteWorst(benchmark::State& state) {
  run(state, facts("chime", "POST", "/voice-connectors/vc1/no/such/thing"),
      "POST /voice-connectors/vc1/no/such/thing");
}
BENCHMARK(BM_ClassifyRestNoRouteWorst);

}  // namespace
