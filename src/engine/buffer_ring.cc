#include "pamproxy/engine/buffer_ring.h"

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"

namespace pamproxy::engine {

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::create(io_uring* ring, uint16_t group_id,
                                                               uint32_t count,
                                                               uint32_t buffer_bytes) {
  if (count == 0 || count > 32768 || buffer_bytes == 0) {
    return absl::InvalidArgumentError("buffer ring: count must be 1..32768, size > 0");
  }
  uint32_t n = 1;
  while (n < count) n <<= 1;
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = ring;
  b->group_id_ = group_id;
  b->count_ = n;
  b->buffer_bytes_ = buffer_bytes;
  b->ring_bytes_ = sizeof(io_uring_buf) * n;
  void* mem = ::mmap(nullptr, b->ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                     -1, 0);
  if (mem == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat("buffer ring mmap: ", std::strerror(errno)));
  }
  b->br_ = static_cast<io_uring_buf_ring*>(mem);
  b->buffers_bytes_ = static_cast<size_t>(n) * buffer_bytes;
  mem = ::mmap(nullptr, b->buffers_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
               -1, 0);
  if (mem == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat("buffers mmap: ", std::strerror(errno)));
  }
  b->buffers_ = static_cast<uint8_t*>(mem);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(b->br_);
  reg.ring_entries = n;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) {
    b->ring_ = nullptr;  // nothing to unregister
    return absl::InternalError(
        absl::StrCat("io_uring_register_buf_ring: ", std::strerror(-rc)));
  }
  io_uring_buf_ring_init(b->br_);
  const int mask = io_uring_buf_ring_mask(n);
  for (uint32_t i = 0; i < n; ++i) {
    io_uring_buf_ring_add(b->br_, b->data(static_cast<uint16_t>(i)), buffer_bytes,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(b->br_, static_cast<int>(n));
  return b;
}

BufferRing::~BufferRing() {
  if (ring_ != nullptr) io_uring_unregister_buf_ring(ring_, group_id_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
  if (br_ != nullptr) ::munmap(br_, ring_bytes_);
}

void BufferRing::recycle(uint16_t buffer_id) {
  PAMPROXY_CHECK(buffer_id < count_ && held_ > 0);
  --held_;
  io_uring_buf_ring_add(br_, data(buffer_id), buffer_bytes_, buffer_id,
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace pamproxy::engine
