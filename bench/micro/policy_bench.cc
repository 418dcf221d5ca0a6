// The access decision runs once per proxied request: it must cost well under a microsecond and
// allocate nothing when it allows. Each benchmark reports allocs_per_op, counted by the
// operator new below (it only counts; every allocation still goes to malloc).

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/decision.h"
#include "pamproxy/policy/time_window.h"

// GCC pairs the replaced delete with the standard new when inlining and warns; the pair below
// is consistent (malloc/free).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace {

using namespace pamproxy::policy;

// A mid-size appliance: 1000 records, 200 users in 10 roles, grants by record and by tag.
std::shared_ptr<const Snapshot> world() {
  SnapshotData d;
  d.settings.proxy_enabled = true;
  d.record_types = {{"aws-access-keys", true}};
  for (int r = 0; r < 10; ++r) {
    Role role{"ro-" + std::to_string(r), "role" + std::to_string(r), "", {}, {}};
    d.roles.push_back(role);
  }
  for (int u = 0; u < 200; ++u) {
    std::string id = "u-" + std::to_string(u);
    d.users.push_back({id, "user" + std::to_string(u), false, {}});
    d.roles[u % 10].member_user_ids.push_back(id);
    Token t;
    t.id = "PAMTOKEN" + std::to_string(100000 + u);
    t.user_id = id;
    t.secret = Secret("secret" + std::to_string(u));
    t.expires_at = absl::FromUnixSeconds(2000000000);
    t.allowed_networks = {*pamproxy::net::Cidr::parse("10.0.0.0/8")};
    d.tokens.push_back(std::move(t));
  }
  for (int i = 0; i < 1000; ++i) {
    Record rec;
    rec.id = "r-" + std::to_string(100000 + i);
    rec.name = "account-" + std::to_string(i);
    rec.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    rec.secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    rec.default_region = "eu-central-1";
    rec.tags = {"team" + std::to_string(i % 10), i % 2 ? "prod" : "dev"};
    d.grants.push_back({"g-r" + std::to_string(i),
                        "",
                        "ro-" + std::to_string(i % 10),
                        rec.id,
                        "",
                        kView | kConnect,
                        {}});
    d.records.push_back(std::move(rec));
  }
  d.grants.push_back({"g-tag", "", "ro-0", "", "prod", kView, {}});
  AccessPolicy p;
  p.record_id = "r-100000";
  p.windows = {*parse_time_window("Mon-Fri 08:00-18:00"), *parse_time_window("Sat 09:00-12:00")};
  p.time_zone = "Europe/Berlin";
  p.allowed_networks = {*pamproxy::net::Cidr::parse("10.0.0.0/8"),
                        *pamproxy::net::Cidr::parse("192.168.0.0/16")};
  p.command_rules = {*parse_command_rule("allow s3:*"), *parse_command_rule("allow ec2:Describe*"),
                     *parse_command_rule("deny s3:Delete*")};
  // 50 rules, most of them scoped to resources, as a careful admin writes them.
  AccessPolicy scoped;
  scoped.record_id = "r-100005";
  for (int i = 0; i < 24; ++i) {
    std::string n = std::to_string(i);
    scoped.command_rules.push_back(
        *parse_command_rule("deny s3:Delete* arn:aws:s3:::prod-" + n + "-*/*"));
    scoped.command_rules.push_back(
        *parse_command_rule("deny dynamodb:* arn:aws:dynamodb:*:*:table/payments-" + n));
  }
  scoped.command_rules.push_back(*parse_command_rule("allow s3:Get* arn:aws:s3:::reports/*"));
  scoped.command_rules.push_back(*parse_command_rule("allow s3:List* arn:aws:s3:::reports"));
  d.policies = {p, scoped};
  absl::TimeZone berlin;
  if (absl::LoadTimeZone("Europe/Berlin", &berlin)) d.time_zones["Europe/Berlin"] = berlin;
  return Snapshot::build(std::move(d), 1);
}

// Monday 2026-11-23 10:00 in Berlin.
const absl::Time kNow = absl::FromUnixSeconds(1795424400);
const pamproxy::net::IpAddress kClient = *pamproxy::net::IpAddress::parse("10.20.30.40");

void run_decision(benchmark::State& state, std::string_view token, std::string_view ref,
                  std::string_view op, bool want_allowed, ResourceView resources = {}) {
  static const auto snap = world();
  // Warm up (time zone caches, first-use statics) before counting.
  Decision warm = decide(*snap, token, ref, op, kClient, kNow, resources);
  if (warm.allowed != want_allowed) state.SkipWithError(warm.reason.c_str());
  uint64_t before = g_allocations.load();
  for (auto _ : state) {
    Decision d = decide(*snap, token, ref, op, kClient, kNow, resources);
    benchmark::DoNotOptimize(d);
  }
  state.counters["allocs_per_op"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before), benchmark::Counter::kAvgIterations);
}

void BM_DecideAllowById(benchmark::State& state) {
  run_decision(state, "PAMTOKEN100001", "r-100001", "s3:GetObject", true);
}
BENCHMARK(BM_DecideAllowById);

void BM_DecideAllowByNameWithPolicy(benchmark::State& state) {
  // Windows in a time zone, two networks, three command rules.
  run_decision(state, "PAMTOKEN100000", "account-0", "s3:GetObject", true);
}
BENCHMARK(BM_DecideAllowByNameWithPolicy);

void BM_DecideAllow50ResourceRules(benchmark::State& state) {
  // 50 rules, 48 of them resource-scoped denies that must each be tried, on one object.
  static const std::string kArn = "arn:aws:s3:::reports/2026/11/report.csv";
  static const uint32_t kEnds[] = {static_cast<uint32_t>(kArn.size())};
  run_decision(state, "PAMTOKEN100005", "r-100005", "s3:GetObject", true,
               ResourceView(kArn, kEnds));
}
BENCHMARK(BM_DecideAllow50ResourceRules);

void BM_DecideAllowByTagSearch(benchmark::State& state) {
  // A criteria search scans all 1000 records.
  run_decision(state, "PAMTOKEN100003", "tag:team3+name:account-13", "s3:GetObject", true);
}
BENCHMARK(BM_DecideAllowByTagSearch);

void BM_DecideDenyExpired(benchmark::State& state) {
  run_decision(state, "PAMTOKEN100001", "r-100002", "s3:GetObject", false);  // no grant
}
BENCHMARK(BM_DecideDenyExpired);

void BM_SnapshotReaderGet(benchmark::State& state) {
  SnapshotPublisher pub(world());
  SnapshotReader reader(pub);
  uint64_t before = g_allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(&reader.get());
  state.counters["allocs_per_op"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_SnapshotReaderGet);

void BM_SnapshotBuild1000Records(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(world());
}
BENCHMARK(BM_SnapshotBuild1000Records)->Unit(benchmark::kMillisecond);

}  // namespace
