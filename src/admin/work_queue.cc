// The admin server's worker threads (see work_queue.h).

#include "src/admin/work_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "pamproxy/base/thread_name.h"

namespace pamproxy::admin {

WorkQueue::WorkQueue(WorkQueueOptions options) : options_(options) {
  done_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (done_fd_ < 0) return;  // submit() refuses: every deferred request answers 503
  threads_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { run(); });
    name_thread(threads_.back(), "pamproxy-admin-w");
  }
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    waiting_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  if (done_fd_ >= 0) ::close(done_fd_);
}

bool WorkQueue::submit(uint64_t tag, std::function<void()> work) {
  if (done_fd_ < 0 || threads_.empty()) return false;
  {
    std::lock_guard lock(mutex_);
    if (unfinished_ >= threads_.size() + options_.queued_max) return false;
    ++unfinished_;
    waiting_.push_back(Job{tag, std::move(work)});
  }
  wake_.notify_one();
  return true;
}

void WorkQueue::take_done(std::vector<uint64_t>* tags) {
  uint64_t count = 0;
  ssize_t r = ::read(done_fd_, &count, sizeof count);  // EAGAIN when nothing was signalled
  (void)r;
  std::lock_guard lock(mutex_);
  tags->insert(tags->end(), done_.begin(), done_.end());
  done_.clear();
}

void WorkQueue::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      job = std::move(waiting_.front());
      waiting_.pop_front();
    }
    job.work();
    job.work = nullptr;  // what it captured goes here, not on the thread that takes the tag
    {
      std::lock_guard lock(mutex_);
      done_.push_back(job.tag);
      --unfinished_;
    }
    const uint64_t one = 1;
    ssize_t w = ::write(done_fd_, &one, sizeof one);
    (void)w;
  }
}

}  // namespace pamproxy::admin
