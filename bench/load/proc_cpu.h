#pragma once
// CPU time of another process, thread by thread, from /proc/PID/task/*/stat (utime + stime) and
// /proc/PID/task/*/comm: the load generator samples pamproxyd when it starts and stops counting
// requests, and prints the CPU each request cost, for the whole process and by thread name.
// Resolution is one clock tick (usually 10 ms) per thread, so runs of a few seconds at thousands
// of requests/s resolve a fraction of a microsecond per request.

#include <cstdint>
#include <string>
#include <vector>

namespace pamproxy::bench {

struct ThreadCpu {
  int tid = 0;
  std::string name;    // comm: "pamproxy-w0", "pamproxy-audit", ...
  uint64_t ticks = 0;  // utime + stime, in clock ticks
};

// The threads of `pid` as they are now; empty if the process is gone.
std::vector<ThreadCpu> sample_threads(int pid);

// One line: "cpu_us_per_request: process=P workers=W others=O NAME=X ..." in µs of CPU per
// request between the two samples. Workers are the threads named "pamproxy-w<N>"; the others
// are listed by name (threads of one name summed), largest first. A thread that started after
// `before` counts from zero; one that ended before `after` is not counted.
std::string cpu_per_request_line(const std::vector<ThreadCpu>& before,
                                 const std::vector<ThreadCpu>& after, uint64_t requests);

}  // namespace pamproxy::bench
