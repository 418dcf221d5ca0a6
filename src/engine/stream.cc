#include "pamproxy/engine/stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pamproxy/base/check.h"
#include "pamproxy/engine/worker.h"

namespace pamproxy::engine {

Stream::~Stream() {
  // The owner must wait for on_closed() (or the worker must be gone) before destroying.
  PAMPROXY_CHECK(inflight_ == 0 || fd_ < 0);
  if (fd_ >= 0) {
    remove_slot();
    ::close(fd_);
  }
}

void Stream::adopt(int fd) {
  PAMPROXY_CHECK(fd_ < 0);
  fd_ = fd;
  slot_ = worker_.ring().install_file(fd);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Stream::target(io_uring_sqe* s) const {
  if (slot_ < 0) return;  // the prep call put fd_ there
  s->fd = slot_;
  s->flags |= IOSQE_FIXED_FILE;
}

void Stream::remove_slot() {
  if (slot_ < 0) return;
  worker_.ring().remove_file(slot_);
  slot_ = -1;
}

void Stream::connect(const sockaddr* address, socklen_t length) {
  PAMPROXY_CHECK(fd_ < 0 && length <= sizeof(connect_address_));
  int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    events_.on_connected(*this, errno);
    return;
  }
  adopt(fd);
  std::memcpy(&connect_address_, address, length);
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_connect(s, fd_, reinterpret_cast<sockaddr*>(&connect_address_), length);
  target(s);
  io_uring_sqe_set_data64(s, pack_user_data(this, kConnect));
  connecting_ = true;
  ++inflight_;
}

void Stream::start_receiving() {
  recv_wanted_ = true;
  if (recv_armed_ || closing_ || fd_ < 0) return;
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_recv_multishot(s, fd_, nullptr, 0, 0);
  target(s);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = Worker::kBufferGroup;
  io_uring_sqe_set_data64(s, pack_user_data(this, kRecv));
  recv_armed_ = true;
  recv_cancel_sent_ = false;
  ++inflight_;
}

void Stream::pause_receiving() {
  recv_wanted_ = false;
  if (!recv_armed_ || recv_cancel_sent_) return;
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_cancel64(s, pack_user_data(this, kRecv), 0);
  io_uring_sqe_set_data64(s, pack_user_data(this, kCancel));
  recv_cancel_sent_ = true;
  ++inflight_;
  ++cancels_;
}

int Stream::release() {
  PAMPROXY_CHECK(releasable());
  remove_slot();
  int fd = fd_;
  fd_ = -1;
  recv_wanted_ = false;
  recv_cancel_sent_ = false;
  send_ptr_ = nullptr;
  send_len_ = 0;
  return fd;
}

void Stream::send(std::span<const uint8_t> bytes) {
  PAMPROXY_CHECK(send_len_ == 0 && !bytes.empty());
  send_ptr_ = bytes.data();
  send_len_ = bytes.size();
  if (closing_ || fd_ < 0) return;  // dropped: the owner is closing
  submit_send();
}

void Stream::submit_send() {
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_send(s, fd_, send_ptr_, send_len_, MSG_NOSIGNAL);
  target(s);
  io_uring_sqe_set_data64(s, pack_user_data(this, kSend));
  send_armed_ = true;
  ++inflight_;
}

void Stream::close() {
  if (closing_) return;
  closing_ = true;
  recv_wanted_ = false;
  if (fd_ >= 0) {
    // shutdown() ends the receive and send in flight at once (they complete with 0 / EPIPE),
    // so the close below never waits on a silent peer.
    ::shutdown(fd_, SHUT_RDWR);
    if (recv_armed_ && !recv_cancel_sent_) {
      io_uring_sqe* s = worker_.ring().sqe();
      io_uring_prep_cancel64(s, pack_user_data(this, kRecv), 0);
      io_uring_sqe_set_data64(s, pack_user_data(this, kCancel));
      recv_cancel_sent_ = true;
      ++inflight_;
      ++cancels_;
    }
  }
  maybe_finish_close();
}

void Stream::maybe_finish_close() {
  if (!closing_ || inflight_ != 0 || close_submitted_) return;
  if (fd_ < 0) {
    close_submitted_ = true;
    events_.on_closed(*this);
    return;
  }
  remove_slot();  // every operation has completed: nothing uses the slot
  io_uring_sqe* s = worker_.ring().sqe();
  io_uring_prep_close(s, fd_);
  io_uring_sqe_set_data64(s, pack_user_data(this, kClose));
  close_submitted_ = true;
  ++inflight_;
}

void Stream::on_cqe(uint8_t tag, int32_t res, uint32_t flags) {
  --inflight_;
  switch (tag) {
    case kRecv: {
      const bool more = (flags & IORING_CQE_F_MORE) != 0;
      if (more) ++inflight_;  // the multishot receive stays armed
      else recv_armed_ = false;
      if (res > 0) {
        PAMPROXY_CHECK(flags & IORING_CQE_F_BUFFER);
        uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        BufferRing& br = worker_.buffers();
        br.note_taken();
        bytes_in_ += static_cast<uint64_t>(res);
        if (!closing_) {
          events_.on_data(*this, std::span<const uint8_t>(br.data(bid),
                                                          static_cast<size_t>(res)));
        }
        br.recycle(bid);
        if (!more && !closing_ && recv_wanted_) start_receiving();
        if (!more && !closing_ && receive_stopped()) events_.on_receive_stopped(*this);
      } else if (res == 0) {
        if (!closing_) events_.on_eof(*this);
      } else if (res == -ENOBUFS) {
        // Every buffer is lent out: re-arm; buffers come back as soon as owners return.
        if (!more && !closing_ && recv_wanted_) start_receiving();
      } else if (res != -ECANCELED) {
        if (!closing_) events_.on_error(*this, -res);
      } else if (!closing_ && recv_wanted_ && !more) {
        start_receiving();  // resumed before the cancel landed
      } else if (!closing_ && !more && receive_stopped()) {
        events_.on_receive_stopped(*this);
      }
      break;
    }
    case kCancel:
      --cancels_;
      if (!closing_ && receive_stopped()) events_.on_receive_stopped(*this);
      break;
    case kSend:
      send_armed_ = false;
      if (closing_) break;
      if (res < 0) {
        send_len_ = 0;
        events_.on_error(*this, -res);
        break;
      }
      bytes_out_ += static_cast<uint64_t>(res);
      send_ptr_ += res;
      send_len_ -= static_cast<size_t>(res);
      if (send_len_ > 0) {
        submit_send();
      } else {
        events_.on_sent(*this);
      }
      break;
    case kConnect:
      connecting_ = false;
      if (!closing_) events_.on_connected(*this, res < 0 ? -res : 0);
      break;
    case kClose:
      fd_ = -1;
      inflight_ = 0;
      events_.on_closed(*this);
      return;
    default:
      PAMPROXY_CHECK(false);
  }
  maybe_finish_close();
}

}  // namespace pamproxy::engine
