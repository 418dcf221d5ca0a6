// Audit benchmarks: the producer's enqueue cost (the hot path of every request), the writer's
// serialization cost, its throughput with group commit on a real disk, and the latency a
// "before-forward" request waits for its event to be durable. Results: bench/RESULTS.md.

#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "pamproxy/audit/line.h"
#include "pamproxy/audit/line_parser.h"
#include "pamproxy/audit/ring.h"
#include "pamproxy/audit/writer.h"

namespace {

using namespace pamproxy::audit;

void fill_request(Event* e, uint64_t i) {
  e->clear();
  e->type = EventType::kRequestForwarded;
  e->time_unix_ns = 1795000000000000000ll + static_cast<int64_t>(i);
  e->status = 200;
  e->bytes_in = 1024;
  e->bytes_out = 4096;
  e->duration_us = 850;
  e->read_only = ReadOnly::kTrue;
  e->source_ip.assign("192.0.2.10");
  e->source_port = 40000;
  e->event_source.assign("s3.amazonaws.com");
  e->event_name.assign("GetObject");
  e->aws_region.assign("us-east-1");
  e->user_agent.assign(
      "aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 exe/x86_64.debian.12 "
      "prompt/off command/s3.cp");
  e->cli_command.assign("s3.cp");
  e->aws_request_id.assign("4442587FB7D0A2F9");
  e->request_id.assign("01JD3K8M2Q7XKZ3W5Y");
  e->user.assign("alice");
  e->token_id.assign("tok-7f3a");
  e->record_id.assign("rec-1");
  e->record_name.assign("prod keys");
  e->target_host.assign("s3.us-east-1.amazonaws.com:443");
}

std::string temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "audit-bench-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

// Producer cost: claim a slot, fill a typical forwarded-request event, publish. The ring is
// drained (outside the timing) every 4096 events, so this is the cost a worker pays per event
// when the writer keeps up.
void BM_AuditEnqueue(benchmark::State& state) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(8192, &wake, &fault);
  uint64_t i = 0;
  for (auto _ : state) {
    Event* slot = ring.try_claim();
    if (slot == nullptr) {
      state.PauseTiming();
      ring.release(ring.available());
      state.ResumeTiming();
      slot = ring.try_claim();
    }
    fill_request(slot, i++);
    uint64_t ticket;
    ring.publish(&ticket);
    benchmark::DoNotOptimize(ticket);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditEnqueue);

// The same with a consumer thread draining concurrently (as the writer does), so the ring's
// cache lines really move between cores. On a loaded 2-core machine the consumer may lag: the
// spins on a full ring are counted.
void BM_AuditEnqueueCrossThread(benchmark::State& state) {
  WriterWake wake;
  std::atomic<uint32_t> fault{0};
  Ring ring(8192, &wake, &fault);
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (!done.load(std::memory_order_relaxed)) {
      size_t n = ring.available();
      if (n > 0) ring.release(n);
    }
  });
  uint64_t i = 0, full = 0;
  for (auto _ : state) {
    Event* slot;
    while ((slot = ring.try_claim()) == nullptr) ++full;
    fill_request(slot, i++);
    uint64_t ticket;
    ring.publish(&ticket);
    benchmark::DoNotOptimize(ticket);
  }
  done = true;
  consumer.join();
  state.counters["ring_full_spins"] = static_cast<double>(full);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditEnqueueCrossThread);

// The writer's per-line cost: JSON serialization plus the SHA-256 of the chain.
void BM_AuditSerializeLine(benchmark::State& state) {
  Event e;
  fill_request(&e, 1);
  std::string out;
  out.reserve(1 << 20);
  char prev[kHashHexBytes];
  std::fill(prev, prev + kHashHexBytes, '0');
  uint64_t seq = 1;
  for (auto _ : state) {
    if (out.size() > (1 << 19)) out.clear();
    size_t start = out.size();
    append_line(out, LineHead{seq++, std::string_view(prev, kHashHexBytes), "pam-1"}, e);
    sha256_hex(std::string_view(out).substr(start), prev);
    out.push_back('\n');
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditSerializeLine);

// Writer throughput on this disk with group commit: two producers push as fast as the rings
// take events; the time runs until the last event is durable (fdatasync returned).
void BM_AuditWriterThroughput(benchmark::State& state) {
  const uint64_t kEvents = static_cast<uint64_t>(state.range(0));
  // CPU time of the whole process (producers + writer) per event: the figure that stays
  // meaningful when other processes share the cores.
  double cpu_s = 0;
  auto cpu_now = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir = temp_dir();
    WriterOptions o;
    o.directory = dir;
    o.node = "pam-1";
    o.ring_entries = 8192;
    o.commit_interval_ms = 5;
    o.retention_days = 0;
    auto w = Writer::open(o, SigningKey::generate()).value();
    Ring* rings[2] = {w->add_producer(), w->add_producer()};
    w->start();
    state.ResumeTiming();
    double cpu_start = cpu_now();
    std::vector<std::thread> producers;
    for (Ring* ring : rings) {
      producers.emplace_back([ring, kEvents] {
        for (uint64_t i = 0; i < kEvents / 2; ++i) {
          Event* slot;
          while ((slot = ring->try_claim()) == nullptr) std::this_thread::yield();
          fill_request(slot, i);
          ring->publish(nullptr);
        }
        while (!ring->wait_durable(kEvents / 2 - 1, 10000)) {
        }
      });
    }
    for (auto& t : producers) t.join();
    cpu_s += cpu_now() - cpu_start;
    state.PauseTiming();
    w->stop();
    w.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
  state.counters["cpu_ns_per_event"] =
      cpu_s * 1e9 / static_cast<double>(state.iterations() * kEvents);
}
BENCHMARK(BM_AuditWriterThroughput)->Arg(400000)->Unit(benchmark::kMillisecond)->UseRealTime();

// "before-forward": how long a request waits from enqueue to durable, one waiting producer
// (requests one after another) beside a second producer adding background load of
// state.range(0) events/s. Reports p50 and p99 in microseconds.
void BM_AuditDurableLatency(benchmark::State& state) {
  const int64_t background_per_s = state.range(0);
  std::string dir = temp_dir();
  WriterOptions o;
  o.directory = dir;
  o.node = "pam-1";
  o.retention_days = 0;
  auto w = Writer::open(o, SigningKey::generate()).value();
  Ring* ring = w->add_producer();
  Ring* background = w->add_producer();
  w->start();
  std::atomic<bool> done{false};
  std::thread load([&] {
    uint64_t i = 0;
    auto start = std::chrono::steady_clock::now();
    while (!done.load(std::memory_order_relaxed)) {
      auto due =
          start + std::chrono::microseconds(i * 1000000 / std::max<int64_t>(1, background_per_s));
      if (background_per_s == 0 || std::chrono::steady_clock::now() < due) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      Event* slot = background->try_claim();
      if (slot == nullptr) continue;
      fill_request(slot, i++);
      background->publish(nullptr);
    }
  });
  std::vector<double> us;
  uint64_t i = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    Event* slot;
    while ((slot = ring->try_claim()) == nullptr) {
    }
    fill_request(slot, i++);
    uint64_t ticket;
    ring->publish(&ticket);
    if (!ring->wait_durable(ticket, 10000)) state.SkipWithError("event not durable in 10 s");
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  done = true;
  load.join();
  w->stop();
  std::filesystem::remove_all(dir);
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_AuditDurableLatency)->Arg(0)->Arg(20000)->Iterations(2000)->UseRealTime();

}  // namespace

// A request's two events as a worker sends them with "before-forward": its decision, waited for
// until durable, then its outcome, which nobody waits for; one request after another. Counts the
// writer's fdatasyncs per request and the process's CPU per request (the writer's and this
// thread's waiting).
void BM_AuditRequestCycle(benchmark::State& state) {
  std::string dir = temp_dir();
  WriterOptions o;
  o.directory = dir;
  o.node = "pam-1";
  o.retention_days = 0;
  auto w = Writer::open(o, SigningKey::generate()).value();
  Ring* ring = w->add_producer();
  w->start();
  auto cpu_now = [] {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  const uint64_t commits_before = w->stats().commits;
  const double cpu_start = cpu_now();
  uint64_t i = 0;
  for (auto _ : state) {
    Event* slot;
    while ((slot = ring->try_claim()) == nullptr) std::this_thread::yield();
    fill_request(slot, i);
    uint64_t ticket;
    ring->publish(&ticket);
    if (!ring->wait_durable(ticket, 10000)) state.SkipWithError("event not durable in 10 s");
    while ((slot = ring->try_claim()) == nullptr) std::this_thread::yield();
    fill_request(slot, i++);
    slot->type = EventType::kRequestCompleted;
    ring->publish(nullptr);
  }
  const double cpu_s = cpu_now() - cpu_start;
  const uint64_t commits = w->stats().commits - commits_before;
  w->stop();
  std::filesystem::remove_all(dir);
  const double n = static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.counters["fdatasyncs_per_request"] = static_cast<double>(commits) / n;
  state.counters["cpu_us_per_request"] = cpu_s * 1e6 / n;
}
BENCHMARK(BM_AuditRequestCycle)->Iterations(2000)->UseRealTime();

// The session indexer's per-line cost: parsing a line read back from the log into an Event.
void BM_AuditParseLine(benchmark::State& state) {
  Event e;
  fill_request(&e, 1);
  std::string line;
  append_line(line, LineHead{42, kGenesisHash, "pam-1"}, e);
  LineParser parser;
  ParsedLine parsed;
  Event out;
  std::string why;
  for (auto _ : state) {
    if (!parser.parse(line, &parsed, &out, &why)) state.SkipWithError(why.c_str());
    benchmark::DoNotOptimize(out.time_unix_ns);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditParseLine);
