// The HTTP/1.1 codec on the hot path: parsing a request head as the AWS CLI sends it, and
// de-framing a chunked body. Heap allocations are counted by replacing operator new for this
// binary; the head benchmark must report 0 allocations per iteration.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "pamproxy/http/body.h"
#include "pamproxy/http/request_parser.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// noinline: when GCC inlines these it pairs the malloc with a sized delete and warns.
__attribute__((noinline)) void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace {

using namespace pamproxy::http;

// An `aws s3 cp` upload head as AWS CLI v2 sends it: 12 fields, about 700 bytes.
const std::string kAwsCliHead =
    "PUT /backups/2026/11/23/db.sql.gz HTTP/1.1\r\n"
    "Host: my-bucket.s3.us-east-1.amazonaws.com\r\n"
    "Accept-Encoding: identity\r\n"
    "User-Agent: aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0-18-amd64 source/x86_64.debian.12 "
    "command/s3.cp\r\n"
    "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==\r\n"
    "Content-Type: application/gzip\r\n"
    "Expect: 100-continue\r\n"
    "X-Amz-Date: 20261123T213000Z\r\n"
    "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
    "X-Amz-Meta-Owner: backup-job-17\r\n"
    "Authorization: AWS4-HMAC-SHA256 "
    "Credential=tok_4f9a2c#prod-backup/20261123/us-east-1/s3/aws4_request, "
    "SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date, "
    "Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\r\n"
    "Content-Length: 1048576\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

void BM_HttpParseAwsCliRequestHead(benchmark::State& state) {
  RequestParser parser(Limits{});  // constructed once per connection: not measured
  uint64_t allocations = 0;
  for (auto _ : state) {
    parser.reset();
    const uint64_t before = g_allocations.load(std::memory_order_relaxed);
    ParseStatus s = parser.parse(kAwsCliHead);
    allocations += g_allocations.load(std::memory_order_relaxed) - before;
    benchmark::DoNotOptimize(s);
    if (s != ParseStatus::kDone || parser.head().header_count() != 12) {
      state.SkipWithError("head did not parse");
      break;
    }
  }
  state.counters["head_bytes"] = static_cast<double>(kAwsCliHead.size());
  state.counters["allocs_per_iter"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kAwsCliHead.size()));
}
BENCHMARK(BM_HttpParseAwsCliRequestHead);

// A chunked body of 64 chunks of 64 KiB (4 MiB), de-framed as it would arrive in receive buffers
// of state.range(0) bytes. The decoder never reads payload bytes (it only classifies them), so
// this is the cost of the framing itself; the Copy variant also moves every payload byte once
// (as a send buffer fill would), which makes memory bandwidth the bound.
template <bool kCopy>
void deframe_chunked(benchmark::State& state) {
  const size_t chunk = 64 * 1024;
  std::string body;
  for (int i = 0; i < 64; ++i) {
    body += "10000\r\n";
    body.append(chunk, static_cast<char>('a' + i % 26));
    body += "\r\n";
  }
  body += "0\r\n\r\n";
  const size_t slice = static_cast<size_t>(state.range(0));
  BodyDecoder decoder(Limits{});
  std::string sink(slice < body.size() ? slice : body.size(), '\0');
  uint64_t payload = 0;
  for (auto _ : state) {
    decoder.reset(BodyKind::kChunked, 0);
    std::string_view rest(body);
    while (!decoder.done()) {
      std::string_view in = rest.substr(0, std::min(slice, rest.size()));
      while (!in.empty() && !decoder.done()) {
        BodyStep s = decoder.next(in);
        if (s.kind == BodyStep::kData) {
          payload += s.bytes;
          if constexpr (kCopy) std::memcpy(sink.data(), in.data(), s.bytes);
        }
        if (s.kind == BodyStep::kError) {
          state.SkipWithError("decode failed");
          return;
        }
        in.remove_prefix(s.bytes);
        rest.remove_prefix(s.bytes);
      }
    }
  }
  benchmark::DoNotOptimize(payload);
  benchmark::DoNotOptimize(sink.data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
void BM_HttpDeframeChunked64KiB(benchmark::State& state) {
  deframe_chunked<false>(state);
}
void BM_HttpDeframeChunked64KiBCopy(benchmark::State& state) {
  deframe_chunked<true>(state);
}
BENCHMARK(BM_HttpDeframeChunked64KiB)->Arg(16 * 1024)->Arg(64 * 1024)->Arg(1 << 30);
BENCHMARK(BM_HttpDeframeChunked64KiBCopy)->Arg(16 * 1024)->Arg(64 * 1024);

}  // namespace
