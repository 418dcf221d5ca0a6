#pragma once
// A provided-buffer ring (IORING_REGISTER_PBUF_RING): `count` buffers of `buffer_bytes` each,
// from which the kernel picks one per multishot receive. Debian 12's liburing 2.3 has no
// io_uring_setup_buf_ring(), so the ring memory is mmap'd here (page aligned, as the kernel
// requires) and registered with io_uring_register_buf_ring().
//
//   ring memory:  [io_uring_buf x count]      <- the kernel reads entries from head, we add at tail
//   buffers:      [buf 0][buf 1]...[buf count-1], one contiguous mmap
//
// Invariant: a buffer id is either in the ring (owned by the kernel) or held by exactly one
// consumer, who gives it back with recycle(). Owned by one worker thread.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

struct io_uring;
struct io_uring_buf_ring;

namespace pamproxy::engine {

class BufferRing {
 public:
  // `count` is rounded up to a power of two (at most 32768). `group_id` is the bgid the
  // receive SQEs name.
  static absl::StatusOr<std::unique_ptr<BufferRing>> create(io_uring* ring, uint16_t group_id,
                                                            uint32_t count,
                                                            uint32_t buffer_bytes);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group_id() const { return group_id_; }
  uint32_t buffer_bytes() const { return buffer_bytes_; }
  uint32_t count() const { return count_; }
  uint8_t* data(uint16_t buffer_id) const {
    return buffers_ + static_cast<size_t>(buffer_id) * buffer_bytes_;
  }
  // Gives a buffer back to the kernel. Made visible at once (one store-release of the tail).
  void recycle(uint16_t buffer_id);
  // Buffers currently out of the ring (held by consumers): the back-pressure gauge.
  uint32_t held() const { return held_; }
  void note_taken() { ++held_; }

 private:
  BufferRing() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  uint16_t group_id_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint32_t held_ = 0;
};

}  // namespace pamproxy::engine
