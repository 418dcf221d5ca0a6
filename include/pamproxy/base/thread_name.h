#pragma once
// Names the calling thread as `top -H`, `ps -L`, perf and /proc/PID/task/*/comm show it:
// "pamproxy-w0" for worker 0, "pamproxy-audit", "pamproxy-dns", "pamproxy-admin", "pamproxy-index"
// (the session indexer). The kernel keeps 15 bytes.

#include <pthread.h>

#include <string>

namespace pamproxy {

inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace pamproxy
