#pragma once
// One worker's io_uring: setup with the best flags this kernel accepts (detected once, logged by
// the worker), and the dispatch of completions to the objects that asked for them.
//
// Every submission carries `user_data` = pointer to an IoHandler | a 3-bit tag naming which of
// the handler's operations completed (handlers are at least 8-byte aligned). user_data 0 marks
// fire-and-forget operations (cancels, closes) whose completions are dropped. A handler must
// stay alive until every operation it submitted has completed: handlers count their own
// in-flight operations and free themselves only at zero.
//
// Owned by one thread (IORING_SETUP_SINGLE_ISSUER when available): never shared, no locks.
//
// io_uring operations bypass seccomp and RestrictAddressFamilies=, so the ring restricts itself
// (IORING_REGISTER_RESTRICTIONS, before it is enabled): only the operations the engine submits
// (kAllowedOps), only IOSQE_BUFFER_SELECT as an SQE flag, and only the provided-buffer-ring
// registrations and the release of its registered fd. Anything else submitted on it fails with
// EACCES.
//
// Registered files: the ring's own fd is registered for its thread, so io_uring_enter skips the
// fd table lookup (fget/fput on the table every thread of the process shares) on every call;
// and each connection's socket is put in the ring's file table (install_file) so that its
// operations name the slot (IOSQE_FIXED_FILE) and skip that lookup too. The socket keeps its
// descriptor beside the slot: shutdown, kTLS's setsockopt, the pool's health check and the
// hand-over between tunnels use it. A full table (more sockets than slots) only means the
// descriptor is used.
//
// Batched waits: a busy worker's completions come a few at a time (a request's head, the
// upstream's answer, each its own receive), and every wake-up is an io_uring_enter, which on a
// virtual machine is the most expensive thing the worker does per request. With
// set_wait_batch(n, us) a wait that follows a wake-up which found two completions or more asks
// the kernel to gather `n` for at most `us` microseconds before returning
// (IORING_FEAT_MIN_TIMEOUT, Linux 6.13); once `us` have passed it returns as soon as one
// completion is there. So under load each wake-up handles a batch, and at worst a completion
// waits `us` longer. After a wake-up that found one completion or none the wait is plain:
// completions that come one at a time are not held back, and a quiet worker sleeps until its
// next completion or timer instead of waking every `us`.

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pamproxy::engine {

class IoHandler {
 public:
  // `tag` is the value given at submission; `res` and `flags` are the CQE's.
  virtual void on_cqe(uint8_t tag, int32_t res, uint32_t flags) = 0;

 protected:
  ~IoHandler() = default;
};

inline uint64_t pack_user_data(IoHandler* handler, uint8_t tag) {
  return reinterpret_cast<uintptr_t>(handler) | (tag & 7u);
}

struct RingFeatures {
  bool single_issuer = false;
  bool defer_taskrun = false;
  bool coop_taskrun = false;
  bool recv_multishot = false;  // probed opcode support + kernel >= 6.0 behaviour
  bool restricted = false;      // IORING_REGISTER_RESTRICTIONS took (see above)
  // The ring's own fd is registered (IORING_REGISTER_RING_FDS): io_uring_enter skips the fd
  // table lookup (fget/fput on a table every thread of the process shares) on every call.
  bool registered_ring = false;
  bool min_wait = false;     // IORING_FEAT_MIN_TIMEOUT: batched waits (see above)
  uint32_t fixed_files = 0;  // slots of the registered file table (0: none)
  std::string describe() const;  // "single_issuer,defer_taskrun" or "none"
};

class Ring {
 public:
  // Creates the ring on the calling thread (SINGLE_ISSUER binds it to this thread). Tries
  // SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then plain; the result says which held.
  // `fixed_files`: slots of the registered file table (sparse, registered before the ring is
  // enabled; 0 or a refusal: none).
  static absl::StatusOr<std::unique_ptr<Ring>> create(uint32_t entries, uint32_t fixed_files = 0);
  // The operations a worker's ring accepts.
  static constexpr uint8_t kAllowedOps[] = {IORING_OP_ACCEPT, IORING_OP_RECV,
                                            IORING_OP_SEND, IORING_OP_CONNECT,
                                            IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL,
                                            IORING_OP_READ, IORING_OP_TIMEOUT};
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // A free SQE; submits pending ones first when the queue is full (never returns null).
  io_uring_sqe* sqe();
  // Submits pending SQEs and waits for at least one completion or `timeout_ms` (-1: forever);
  // batched as set below when the last dispatch() found two completions or more.
  void submit_and_wait(int64_t timeout_ms);
  // Batched waits (see above): gather up to `completions` (>= 1) for at most `wait_us`
  // microseconds; `wait_us` 0, or a kernel without min-wait, turns them off.
  void set_wait_batch(uint32_t completions, uint32_t wait_us);
  bool batching() const { return batch_wait_us_ > 0; }
  // Dispatches every ready completion to its handler; returns how many.
  unsigned dispatch();

  io_uring* raw() { return &ring_; }
  const RingFeatures& features() const { return features_; }

  // Registered files. install_file() puts `fd` in a free slot and returns it, or -1 when every
  // slot is taken (the caller then uses `fd` itself). remove_file() empties a slot: the table's
  // reference to the socket goes, the descriptor stays open. Neither with an operation in
  // flight on the slot.
  int install_file(int fd);
  void remove_file(int slot);
  size_t files_installed() const { return features_.fixed_files - free_slots_.size(); }

 private:
  Ring() = default;
  io_uring ring_{};
  // io_uring_enter with the min-wait argument liburing 2.3 cannot pass; false if the kernel
  // refused it (then batching is turned off).
  bool enter_batched(int64_t timeout_ms);

  RingFeatures features_;
  std::vector<uint32_t> free_slots_;  // of the registered file table, lowest last
  uint32_t batch_completions_ = 1;
  uint32_t batch_wait_us_ = 0;
  unsigned last_dispatched_ = 0;  // completions the last dispatch() handled
};

}  // namespace pamproxy::engine
