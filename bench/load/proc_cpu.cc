// Per-thread CPU of another process (see proc_cpu.h).

#include "proc_cpu.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace pamproxy::bench {
namespace {

// utime + stime of one /proc/PID/task/TID/stat line: fields 14 and 15, counted after the
// command name in parentheses (which may itself hold spaces or parentheses).
bool parse_ticks(const std::string& stat, uint64_t* ticks) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(stat.substr(close + 1));
  std::string field;
  uint64_t utime = 0;
  // Field 3 (state) is the first after the name; utime is field 14.
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) {
      *ticks = utime + std::strtoull(field.c_str(), nullptr, 10);
      return true;
    }
  }
  return false;
}

bool is_worker(const std::string& name) {
  return name.starts_with("pamproxy-w");
}

}  // namespace

std::vector<ThreadCpu> sample_threads(int pid) {
  std::vector<ThreadCpu> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string base = dir + "/" + e->d_name;
    std::ifstream stat_in(base + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_in)), std::istreambuf_iterator<char>());
    ThreadCpu t;
    t.tid = std::atoi(e->d_name);
    if (!parse_ticks(stat, &t.ticks)) continue;  // the thread ended meanwhile
    std::ifstream comm_in(base + "/comm");
    std::getline(comm_in, t.name);
    out.push_back(std::move(t));
  }
  closedir(d);
  return out;
}

std::string cpu_per_request_line(const std::vector<ThreadCpu>& before,
                                 const std::vector<ThreadCpu>& after, uint64_t requests) {
  std::map<int, uint64_t> start;
  for (const ThreadCpu& t : before) start[t.tid] = t.ticks;
  std::map<std::string, uint64_t> by_name;
  uint64_t workers = 0, others = 0;
  for (const ThreadCpu& t : after) {
    auto it = start.find(t.tid);
    uint64_t used = t.ticks - (it == start.end() ? 0 : std::min(it->second, t.ticks));
    if (is_worker(t.name)) {
      workers += used;
    } else {
      others += used;
      by_name[t.name] += used;
    }
  }
  double us_per_tick = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
  double n = static_cast<double>(std::max<uint64_t>(requests, 1));
  auto us = [&](uint64_t ticks) { return static_cast<double>(ticks) * us_per_tick / n; };
  std::vector<std::pair<std::string, uint64_t>> named(by_name.begin(), by_name.end());
  std::stable_sort(named.begin(), named.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  char buf[128];
  std::snprintf(buf, sizeof buf, "cpu_us_per_request: process=%.1f workers=%.1f others=%.1f",
                us(workers + others), us(workers), us(others));
  std::string line = buf;
  for (const auto& [name, ticks] : named) {
    std::snprintf(buf, sizeof buf, " %s=%.1f", name.c_str(), us(ticks));
    line += buf;
  }
  return line;
}

}  // namespace pamproxy::bench
