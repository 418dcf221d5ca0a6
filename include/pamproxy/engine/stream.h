#pragma once
// A TCP connection driven through the worker's ring: multishot receive into the worker's
// provided buffers, one send in flight at a time (partial sends continued here), connect,
// and a close that completes only when every operation of the socket has.
//
// The owner (a proxy tunnel or upstream connection) implements Stream::Events. Received bytes
// are lent for the duration of on_data() only: the buffer goes back to the kernel when it
// returns, so the owner copies or consumes them there (TLS decryption does exactly that).
// Back-pressure: the owner pauses receiving while the other side cannot take more and resumes
// when it drains; bytes already received meanwhile are still delivered (bounded by one ring of
// buffers).
//
// Invariant: on_closed() is the last event; after it the Stream holds no fd and no operation.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "pamproxy/engine/ring.h"

namespace pamproxy::engine {

class Worker;

class Stream final : private IoHandler {
 public:
  class Events {
   public:
    virtual void on_data(Stream& s, std::span<const uint8_t> bytes) = 0;
    virtual void on_eof(Stream& s) = 0;                // the peer finished sending
    virtual void on_error(Stream& s, int error) = 0;   // errno of a failed receive or send
    virtual void on_sent(Stream& s) = 0;               // the whole pending send went out
    virtual void on_connected(Stream& s, int error) = 0;  // 0 or errno
    virtual void on_closed(Stream& s) = 0;
    // After pause_receiving(): the last receive has completed, so no byte read from the socket
    // is still on its way to on_data() (see receive_stopped()).
    virtual void on_receive_stopped(Stream&) {}

   protected:
    ~Events() = default;
  };

  Stream(Worker& worker, Events& events) : worker_(worker), events_(events) {}
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Adopts a connected, non-blocking socket.
  void adopt(int fd);
  // Creates a socket and connects it to `address` (result in on_connected).
  void connect(const sockaddr* address, socklen_t length);

  void start_receiving();
  void pause_receiving();
  bool receiving() const { return recv_armed_ && !recv_cancel_sent_; }
  // No receive is armed or being cancelled: every byte taken from the socket has been
  // delivered, and the next one stays in the kernel until start_receiving().
  bool receive_stopped() const { return !recv_armed_ && cancels_ == 0; }
  // Hands the socket over (to an idle pool) and leaves this Stream empty, as if closed but
  // without on_closed(). Only with no operation in flight (receive stopped, nothing sending).
  bool releasable() const { return fd_ >= 0 && !closing_ && inflight_ == 0; }
  int release();

  // Sends `bytes`, which must stay valid and unchanged until on_sent(). One send at a time.
  void send(std::span<const uint8_t> bytes);
  bool sending() const { return send_len_ != 0; }

  // Shuts the socket down and closes it once every operation has completed; then on_closed().
  // Idempotent.
  void close();
  bool open() const { return fd_ >= 0 && !closing_; }
  int fd() const { return fd_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  enum Tag : uint8_t { kRecv = 0, kSend = 1, kConnect = 2, kClose = 3, kCancel = 4 };
  void on_cqe(uint8_t tag, int32_t res, uint32_t flags) override;
  void submit_send();
  void maybe_finish_close();
  // Points `s` at the socket: its registered slot when it has one (IOSQE_FIXED_FILE).
  void target(io_uring_sqe* s) const;
  // Empties the registered slot, if any (before the descriptor is closed or handed over).
  void remove_slot();

  Worker& worker_;
  Events& events_;
  int fd_ = -1;
  int slot_ = -1;  // in the ring's registered file table; -1: none (the table was full)
  bool closing_ = false;
  bool close_submitted_ = false;
  bool recv_armed_ = false;
  bool recv_wanted_ = false;
  bool recv_cancel_sent_ = false;
  bool connecting_ = false;
  int inflight_ = 0;
  int cancels_ = 0;  // receive cancels in flight
  const uint8_t* send_ptr_ = nullptr;
  size_t send_len_ = 0;   // bytes of the current send not yet confirmed
  bool send_armed_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  sockaddr_storage connect_address_{};
};

}  // namespace pamproxy::engine
