#pragma once
// Names threads as `top -H`, `ps -L`, perf and /proc/PID/task/*/comm show them: "pamproxy-w0"
// for worker 0, "pamproxy-audit", "pamproxy-dns", "pamproxy-admin", "pamproxy-index" (the
// session indexer). The kernel keeps 15 bytes. Named by their creator right after the start, so
// the name is there once the component's start returns.

#include <pthread.h>

#include <string>
#include <thread>

namespace pamproxy {

inline void name_thread(pthread_t thread, std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(thread, name.c_str());
}

inline void name_thread(std::thread& thread, std::string name) {
  name_thread(thread.native_handle(), std::move(name));
}

}  // namespace pamproxy
