#pragma once
// The admin server's worker: a few threads that run what a request must wait for outside the
// appliance (an identity provider's answer, STS's), so that the admin thread goes on serving
// every other connection (health checks, the console) meanwhile.
//
//   WorkQueue queue({.threads = 2, .queued_max = 16});
//   if (!queue.submit(tag, [state] { state->answer = call_the_provider(); })) -> 503, try later
//   ... poll(queue.done_fd()) readable ...
//   queue.take_done(&tags);   // the jobs finished since the last call, in the order they ended
//
//      admin thread                 jobs (bounded)              worker threads
//   submit(tag, work) ──► [ waiting ≤ queued_max ] ──► work() ──┐
//   take_done(&tags) ◄──────────── [ done tags ] ◄── eventfd ◄──┘
//
// Bounds: `threads` jobs run at once, `queued_max` more wait; submit() refuses beyond that (a job
// counts from submit() until it has finished), and the caller answers 503 with Retry-After. A
// job is bounded by its own timeouts (the outbound call's), not here. What a job writes is read
// by the thread that takes its tag: the queue's mutex orders the two.
//
// Stopping (the destructor): jobs that have not started are dropped; those running are waited
// for (each ends within its outbound call's timeout).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pamproxy::admin {

struct WorkQueueOptions {
  size_t threads = 2;
  size_t queued_max = 16;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Readable (an eventfd) when finished jobs wait for take_done(); -1 when it could not be made.
  int done_fd() const { return done_fd_; }

  // Queues `work` to run on a worker; false (nothing queued) when every thread is busy and
  // queued_max jobs already wait, or the queue has no done_fd.
  bool submit(uint64_t tag, std::function<void()> work);

  // Appends the tags of the jobs finished since the last call to `tags` and clears done_fd.
  void take_done(std::vector<uint64_t>* tags);

 private:
  struct Job {
    uint64_t tag;
    std::function<void()> work;
  };
  void run();

  const WorkQueueOptions options_;
  int done_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> waiting_;     // guarded by mutex_
  size_t unfinished_ = 0;       // waiting or running; guarded by mutex_
  std::vector<uint64_t> done_;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace pamproxy::admin
