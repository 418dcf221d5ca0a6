#include "pamproxy/engine/ring.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"

namespace pamproxy::engine {

std::string RingFeatures::describe() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(single_issuer, "single_issuer");
  add(defer_taskrun, "defer_taskrun");
  add(coop_taskrun, "coop_taskrun");
  add(recv_multishot, "recv_multishot");
  add(restricted, "restricted");
  add(registered_ring, "registered_ring");
  add(min_wait, "min_wait");
  add(fixed_files > 0, "fixed_files");
  return out.empty() ? "none" : out;
}

namespace {

// Not in liburing 2.3's headers: the kernel accepts a minimum wait in io_uring_getevents_arg's
// `pad` field (since named `min_wait_usec`) when it sets this feature bit.
constexpr uint32_t kFeatMinTimeout = 1u << 15;

__kernel_timespec to_timespec(int64_t ms) {
  __kernel_timespec ts{};
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000;
  return ts;
}

// Registers the ring's restrictions (it must still be disabled); false if the kernel refused.
bool restrict_ring(io_uring* ring) {
  std::vector<io_uring_restriction> rules;
  for (uint8_t op : Ring::kAllowedOps) {
    io_uring_restriction r{};
    r.opcode = IORING_RESTRICTION_SQE_OP;
    r.sqe_op = op;
    rules.push_back(r);
  }
  io_uring_restriction flags{};
  flags.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
  flags.sqe_flags = IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
  rules.push_back(flags);
  // The provided buffer rings, giving the registered ring fd back when the ring goes
  // (io_uring_queue_exit): a thread has 16 such slots; and filling and emptying the slots of
  // the registered file table.
  for (uint8_t op : {IORING_REGISTER_PBUF_RING, IORING_UNREGISTER_PBUF_RING,
                     IORING_UNREGISTER_RING_FDS, IORING_REGISTER_FILES_UPDATE}) {
    io_uring_restriction r{};
    r.opcode = IORING_RESTRICTION_REGISTER_OP;
    r.register_op = op;
    rules.push_back(r);
  }
  // By syscall: Debian's liburing 2.3 declares the helpers but does not export them.
  return ::syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS,
                   rules.data(), rules.size()) == 0;
}

int enable_ring(io_uring* ring) {
  return ::syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr,
                   0) == 0
             ? 0
             : -errno;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ring>> Ring::create(uint32_t entries, uint32_t fixed_files) {
  std::unique_ptr<Ring> r(new Ring());
  struct Attempt {
    unsigned flags;
    bool single, defer, coop;
  };
  const Attempt attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL, true,
       true, false},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL, false, false, true},
      {0, false, false, false},
  };
  int last_error = 0;
  for (const Attempt& a : attempts) {
    io_uring_params p{};
    // Created disabled: the restrictions can only be registered before the ring is enabled.
    p.flags = a.flags | IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
    p.cq_entries = entries * 4;  // multishot operations post many completions per submission
    int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
    if (rc == 0) {
      r->features_.single_issuer = a.single;
      r->features_.defer_taskrun = a.defer;
      r->features_.coop_taskrun = a.coop;
      r->features_.min_wait = (p.features & kFeatMinTimeout) != 0;
      io_uring_probe* probe = io_uring_get_probe_ring(&r->ring_);
      if (probe != nullptr) {
        r->features_.recv_multishot = io_uring_opcode_supported(probe, IORING_OP_RECV) &&
                                      (p.features & IORING_FEAT_NODROP) != 0;
        io_uring_free_probe(probe);
      }
      // The file table before enabling too: registering one is not an operation the running
      // ring is allowed.
      if (fixed_files > 0 && io_uring_register_files_sparse(&r->ring_, fixed_files) == 0) {
        r->features_.fixed_files = fixed_files;
        r->free_slots_.reserve(fixed_files);
        for (uint32_t i = fixed_files; i-- > 0;) r->free_slots_.push_back(i);
      }
      r->features_.restricted = restrict_ring(&r->ring_);
      // Before enabling: the restrictions then cover register operations, and this is not
      // one the running ring needs. Registered for this thread only, the one that submits.
      r->features_.registered_ring = io_uring_register_ring_fd(&r->ring_) == 1;
      rc = enable_ring(&r->ring_);
      if (rc != 0) {
        return absl::InternalError(
            absl::StrCat("io_uring_enable_rings failed: ", std::strerror(-rc)));
      }
      return r;
    }
    last_error = -rc;
  }
  return absl::InternalError(
      absl::StrCat("io_uring_queue_init failed: ", std::strerror(last_error)));
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

int Ring::install_file(int fd) {
  if (free_slots_.empty()) return -1;
  const uint32_t slot = free_slots_.back();
  if (io_uring_register_files_update(&ring_, slot, &fd, 1) != 1) return -1;
  free_slots_.pop_back();
  return static_cast<int>(slot);
}

void Ring::remove_file(int slot) {
  PAMPROXY_CHECK(slot >= 0 && static_cast<uint32_t>(slot) < features_.fixed_files);
  int none = -1;
  // Cannot fail for a slot this ring filled (the operation is allowed, the slot in range, and
  // nothing in it waits). If it did, the table would keep the socket open after its close().
  PAMPROXY_CHECK(io_uring_register_files_update(&ring_, static_cast<unsigned>(slot), &none, 1) ==
                 1);
  free_slots_.push_back(static_cast<uint32_t>(slot));
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  PAMPROXY_CHECK(s != nullptr);
  return s;
}

void Ring::set_wait_batch(uint32_t completions, uint32_t wait_us) {
  PAMPROXY_CHECK(completions >= 1);
  batch_completions_ = completions;
  batch_wait_us_ = features_.min_wait ? wait_us : 0;
}

void Ring::submit_and_wait(int64_t timeout_ms) {
  if (batch_wait_us_ > 0 && last_dispatched_ >= 2 && enter_batched(timeout_ms)) return;
  io_uring_cqe* cqe = nullptr;
  if (timeout_ms < 0) {
    io_uring_submit_and_wait(&ring_, 1);
    return;
  }
  __kernel_timespec ts = to_timespec(timeout_ms);
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

bool Ring::enter_batched(int64_t timeout_ms) {
  // What io_uring_submit() does first for a ring without SQPOLL: publish the queued SQEs' tail.
  io_uring_sq* sq = &ring_.sq;
  const unsigned tail = sq->sqe_tail;
  const unsigned to_submit = tail - sq->sqe_head;
  sq->sqe_head = tail;
  io_uring_smp_store_release(sq->ktail, tail);

  __kernel_timespec ts = to_timespec(timeout_ms);
  io_uring_getevents_arg arg{};
  if (timeout_ms >= 0) arg.ts = reinterpret_cast<uintptr_t>(&ts);
  arg.pad = batch_wait_us_;  // min_wait_usec
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int fd = ring_.ring_fd;
  if (features_.registered_ring) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = ring_.enter_ring_fd;
  }
  long rc =
      ::syscall(__NR_io_uring_enter, fd, to_submit, batch_completions_, flags, &arg, sizeof(arg));
  if (rc < 0 && errno == EINVAL) {
    // The SQEs were taken or not by the same rule as any enter; only the wait was refused.
    // Never expected on a kernel that announced the feature: fall back to plain waits.
    batch_wait_us_ = 0;
    return false;
  }
  return true;
}

unsigned Ring::dispatch() {
  unsigned count = 0;
  io_uring_cqe* cqe = nullptr;
  // Bounded batch per call: a flood of completions from one source cannot starve timers.
  while (count < 4096 && io_uring_peek_cqe(&ring_, &cqe) == 0) {
    uint64_t ud = cqe->user_data;
    int32_t res = cqe->res;
    uint32_t flags = cqe->flags;
    io_uring_cqe_seen(&ring_, cqe);
    ++count;
    if (ud == 0) continue;
    auto* h = reinterpret_cast<IoHandler*>(ud & ~uint64_t{7});
    h->on_cqe(static_cast<uint8_t>(ud & 7), res, flags);
  }
  last_dispatched_ = count;
  return count;
}

}  // namespace pamproxy::engine
