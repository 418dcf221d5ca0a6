#pragma once
// One leg of a tunnel: the connection with the client, or the one with the upstream. A tunnel
// holds two by name (Tunnel::client_, Tunnel::upstream_); what is the same for both lives here:
// the socket's engine::Stream (whose events the leg takes first), its TLS session, the Outbox the
// socket sends from, the Backlog of ciphertext that found no room, and the hand-off to kernel
// TLS. A leg decrypts what its socket receives into one plaintext window and seals what another
// window (or the request gate) holds:
//
//   client --cipher--> [client leg] --plain--> c2u --> [upstream leg] --cipher--> upstream
//   client <--cipher-- [client leg] <--plain-- u2c <-- [upstream leg] <--cipher-- upstream
//
// Before TLS the client's leg is plain: it gathers a balancer's PROXY header and the CONNECT head
// and sends the proxy's plain reply.
//
// Owns: its socket, session and buffers, and the order of operations on them (a session's
// pending output before anything new is sealed, no offload while anything read from the socket
// is still in user space), its counters and its log lines (TLS failures, kTLS). Never: looks
// inside the plaintext (requests and responses are the RequestGate's), changes the tunnel's
// state (it reports through Leg::Events and the tunnel decides), or picks a cause beyond saying
// which side it is.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/engine/counter.h"
#include "pamproxy/engine/stream.h"
#include "pamproxy/proxy/connect_request.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/proxy_protocol.h"
#include "pamproxy/proxy/relay_memory.h"
#include "pamproxy/proxy/upstream_pool.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::proxy {

// What a leg seals for its socket: the other direction's plaintext window, or the request gate's
// approved bytes (head first, then body).
class SealSource {
 public:
  virtual std::span<const uint8_t> next() = 0;  // the bytes to seal next; empty: none now
  virtual void took(size_t n) = 0;              // the first n bytes of next() were sealed

 protected:
  ~SealSource() = default;
};

// An outbox: `sending` is lent to the Stream until on_sent; `filling` takes new bytes (records
// sealed for the socket, and the handshake and alert bytes its own session produces). Two
// buffers, so sealing goes on while one send is in flight.
struct Outbox {
  static constexpr size_t kBytes = 68 * 1024;  // four full TLS records
  uint8_t* buf[2] = {nullptr, nullptr};        // in the tunnel's RelayMemory
  size_t len[2] = {0, 0};
  int filling = 0;
  bool busy = false;  // buf[1 - filling] is being sent
  std::span<uint8_t> free_space() { return {buf[filling] + len[filling], kBytes - len[filling]}; }
  void commit(size_t n) { len[filling] += n; }
  bool empty() const { return len[filling] == 0 && !busy; }
  // Takes its two buffers from the relay memory at `p`; returns what follows them.
  uint8_t* place(uint8_t* p);
};

// Ciphertext received while the plaintext window was full, consumed from the front. Taking
// bytes moves nothing (an offset advances); the consumed front is dropped when appending finds it
// at least half of the buffer, so each byte is moved at most once on average (a string erased from
// the front on every record moved the rest of a ring's worth each time).
struct Backlog {
  std::string bytes;
  size_t head = 0;  // bytes before it were consumed
  bool empty() const { return head == bytes.size(); }
  size_t size() const { return bytes.size() - head; }
  std::span<const uint8_t> data() const {
    return {reinterpret_cast<const uint8_t*>(bytes.data()) + head, size()};
  }
  void append(std::span<const uint8_t> more);
  void consume(size_t n);
  void release();  // gives the memory back when empty
};

// A plaintext window between the legs (c2u: client to upstream, u2c: upstream to client). Bytes
// [begin, end) wait to be taken; a leg decrypts at `end`, whoever takes them advances `begin`.
// Memory is bounded per direction: a leg stops receiving while its window is full (the rest of
// what arrived waits in its Backlog) and resumes once the other side has taken enough.
struct Plain final : SealSource {
  static constexpr size_t kBytes = 64 * 1024;  // the usual capacity
  uint8_t* buf = nullptr;                      // in the tunnel's RelayMemory
  size_t capacity = kBytes;
  size_t limit = kBytes;  // what may be filled now (c2u: all of capacity while a body buffers)
  size_t begin = 0;
  size_t end = 0;
  bool empty() const { return begin == end; }
  size_t used() const { return end - begin; }
  std::span<uint8_t> free_space();
  // free_space() would not be empty.
  bool has_room() const { return begin > 0 || end < limit; }
  std::span<const uint8_t> data() const { return {buf + begin, end - begin}; }
  // SealSource: relayed as it is.
  std::span<const uint8_t> next() override { return data(); }
  void took(size_t n) override { begin += n; }
};

// "host:port" for log lines, "-" before the CONNECT head named one.
std::string describe_target(const ConnectTarget& target);

// Who a tunnel is, for its log lines and counters (the tunnel's and its legs').
struct TunnelContext {
  engine::Worker& worker;
  ProxyMetrics& metrics;
  const net::SocketAddress& peer;
  const ConnectTarget& target;  // filled once the CONNECT head is parsed
};
// worker, client and target: the first fields of a tunnel's log lines.
log::Line& tunnel_fields(log::Line&& line, const TunnelContext& context);

class Leg final : private engine::Stream::Events {
 public:
  enum class Side : uint8_t { kClient, kUpstream };

  // What a leg reports to its tunnel: one implementation per leg, the tunnel's handlers of that
  // side. The leg has done its own part first: bytes counted, a kTLS control record read and
  // acted on (a session ticket dropped, a fatal one logged), the outbox's send done, the close
  // noted. Once the tunnel closed a leg's stream, only on_closed follows (a closing Stream
  // reports nothing else); a parking leg deals with its own events until it is handed over.
  class Events {
   public:
    virtual void on_data(std::span<const uint8_t> bytes) = 0;  // lent for the call only
    virtual void on_eof() = 0;              // the peer's end (EOF, or close_notify on kTLS)
    virtual void on_failed(int error) = 0;  // a receive or send failed (errno)
    virtual void on_fatal_record() = 0;     // kTLS: an alert or a handshake message the
                                            // kernel cannot follow (logged)
    virtual void on_sent() = 0;
    virtual void on_connected(int error) = 0;  // 0 or errno
    virtual void on_closed() = 0;
    virtual void on_receive_stopped() = 0;
    virtual void on_wake() = 0;  // nothing happened but receiving must resume (the tunnel pumps)

   protected:
    ~Events() = default;
  };

  // What the kTLS hand-off did (settle()); failures and fallbacks are logged and counted.
  enum class Offload : uint8_t {
    kNotPending,  // nothing to settle
    kWaiting,     // bytes read from the socket are still in user space
    kSettled,     // in the kernel, or left in user space (logged: tunnel.ktls_fallback)
    kGone,        // the peer left meanwhile: the tunnel is ending, nothing fell back
    kFailed,      // the kernel took RX but refused TX: the connection must close
  };

  Leg(const TunnelContext& context, Side side, engine::Counter& bytes_in, Events& events)
      : context_(context),
        side_(side),
        bytes_in_(bytes_in),
        events_(events),
        stream_(context.worker, *this) {}
  Leg(const Leg&) = delete;
  Leg& operator=(const Leg&) = delete;

  // Which leg this is, for log fields and causes only.
  std::string_view name() const { return side_ == Side::kClient ? "client" : "upstream"; }
  const TunnelContext& context() const { return context_; }

  engine::Stream& stream() { return stream_; }
  const engine::Stream& stream() const { return stream_; }
  const tls::Session* session() const { return session_.get(); }
  bool established() const { return session_ && session_->state() == tls::State::kEstablished; }
  Outbox& outbox() { return outbox_; }
  Backlog& backlog() { return backlog_; }

  // ---- the socket
  void adopt(int fd);
  void connect(const net::SocketAddress& address);
  // A kept upstream connection from the pool, with its session.
  void adopt_kept(int fd, std::unique_ptr<tls::Session> session, bool ktls);
  // The socket and its session go to the pool (kept connection to `address`): the leg is closed
  // as far as the tunnel is concerned.
  IdleUpstream release(const net::SocketAddress& address);
  void close() { stream_.close(); }
  // The Stream reported on_closed() (or the socket went to the pool); true before it was opened.
  bool closed() const { return closed_; }
  // The upstream pool: the socket waits for its receive to stop, then the tunnel hands it over
  // (from on_receive_stopped()). Bytes, an EOF or an error meanwhile mean the connection is not
  // idle after all: the leg closes it.
  void start_parking() { parking_ = true; }
  void stop_parking() { parking_ = false; }
  bool parking() const { return parking_; }

  // ---- the plain phase (the client's leg, before TLS): a trusted balancer's PROXY v2 header,
  // then the CONNECT head, gathered across receives, then the proxy's plain reply.
  // The header with `bytes`: kNeedMore, kError (logged), or kDone with `*rest` holding what
  // followed it.
  ProxyHeaderStatus read_proxy_header(std::span<const uint8_t> bytes, ProxyHeader* header,
                                      std::string* rest);
  // The CONNECT head so far with `bytes` (at most `limit` + one receive is kept). Complete: the
  // bytes after it (a ClientHello sent without waiting) go to the backlog, for TLS.
  ConnectResult read_connect_head(std::span<const uint8_t> bytes, size_t limit);
  // Sends `reply` as it is; on_sent() follows.
  void send_plain(std::string_view reply);
  // Early bytes (a ClientHello before the 200 went out, requests before the upstream is ready)
  // wait in the backlog, the receive paused; what was already on its way still arrives. False
  // (nothing kept) when the backlog would pass `max`.
  bool hold_early(std::span<const uint8_t> bytes, size_t max);

  // ---- TLS
  // The client's leg: a server session for the CONNECT host; false (logged) when none could be
  // made. The plain phase's memory goes.
  bool start_server(const tls::ServerContext& context, std::string_view expected_host);
  // The upstream's leg: a client session verifying `host`; its ClientHello goes out.
  absl::Status start_client(tls::ClientContext& context, std::string_view host, uint16_t port);
  // The socket reached EOF: the session learns it (a handshake in progress fails, an established
  // session without close_notify ends in error) once it has decrypted every byte that came
  // before the EOF. An established session's records still waiting in the backlog, or plaintext
  // it holds, are the end of the peer's data (a response before its connection closed): they
  // are drained first, or they would be lost behind the failure.
  void receive_eof();
  // The session failed: logged (tunnel.tls_failed); returns the cause.
  Cause tls_failed() const;
  // The cause of this leg's session failure (not logged).
  Cause tls_cause() const;

  // ---- the data path
  // Bytes the socket received, decrypted into `into`; what does not fit (or arrives while older
  // bytes wait) goes to the backlog and the receive pauses. Returns the plaintext bytes added at
  // the end of `into`.
  size_t receive(std::span<const uint8_t> bytes, Plain& into);
  // The backlog, and plaintext the session decrypted but could not hand over (no new bytes may
  // ever come to push it out), into `into`. Returns the plaintext bytes added.
  size_t drain_backlog(Plain& into);
  // Seals what `source` offers into the outbox (the caller checked established() and the
  // offload). The session's pending output goes first; with nothing to seal it is moved only when
  // `flush_when_empty`.
  void seal_from(SealSource& source, bool flush_when_empty);
  // Hands the filled outbox buffer to the socket when none is being sent.
  void flush();
  // Starts receiving again when nothing waits and `into` holds less than `below`. True when
  // there is more to decrypt (backlog or buffered plaintext) and `into` has room for it.
  bool resume_receiving(const Plain& into, size_t below);
  // The last words of an established session: close_notify.
  void send_close_notify();
  // The tunnel reads nothing more from this leg (it lingers before closing): the ciphertext
  // waiting in the backlog is dropped unread and the socket receives again. Returns the bytes
  // dropped.
  size_t discard_received();
  // Nothing held anywhere: no ciphertext waiting, nothing to send, no partial record.
  bool quiet() const;
  // Quiet: the session's record buffers and the backlog's memory go back.
  void release_idle();
  // Can serve another tunnel as it is (the upstream pool): open, nothing queued either way, the
  // session established with no record half read or written.
  bool idle_reusable() const;

  // ---- kernel TLS
  // A leg goes to the kernel once its handshake is done and nothing read from its socket is left
  // in user space: its receive has stopped, what user space sealed for it has been sent, and its
  // session holds no unread record. Until then the leg is pending: nothing new is sealed for it
  // and its receive stays paused (a few microseconds: one send and one cancel to complete). A
  // kTLS leg moves plaintext: its socket decrypts on receive and encrypts on send. Two kernel
  // quirks are handled here: a receive can complete with 0 while a record is still being
  // decrypted (only a peek that also sees 0 is the peer's end), and a control record (alert,
  // post-handshake message) ends a receive with EIO and must be read with its record type.
  bool ktls() const { return ktls_; }
  bool offload_pending() const { return offload_pending_; }
  void want_offload(bool on) { offload_pending_ = on; }
  void give_up_offload() { offload_pending_ = false; }
  // Offloads once the rules above allow it.
  Offload settle();

 private:
  // engine::Stream::Events
  void on_data(engine::Stream&, std::span<const uint8_t> bytes) override;
  void on_eof(engine::Stream&) override;
  void on_error(engine::Stream&, int error) override;
  void on_sent(engine::Stream&) override;
  void on_connected(engine::Stream&, int error) override { events_.on_connected(error); }
  void on_closed(engine::Stream&) override;
  void on_receive_stopped(engine::Stream&) override { events_.on_receive_stopped(); }
  void on_control_record();
  void abandon_parking();

  // Feeds ciphertext to the session (or copies a kTLS leg's plaintext); returns the bytes
  // consumed and adds the plaintext produced to `*added`.
  size_t decrypt(std::span<const uint8_t> bytes, Plain& into, size_t* added);
  // The EOF that receive_eof() put off, for the session once nothing is left to decrypt.
  void deliver_eof_when_drained();
  // Plaintext into the outbox: sealed by the session, or copied as it is for a kTLS leg (its
  // socket encrypts on send).
  tls::IoResult seal(std::span<const uint8_t> plain, std::span<uint8_t> out);
  log::Line& logged(log::Line&& line) const { return tunnel_fields(std::move(line), context_); }

  const TunnelContext context_;
  const Side side_;
  engine::Counter& bytes_in_;
  Events& events_;
  engine::Stream stream_;
  std::unique_ptr<tls::Session> session_;
  Outbox outbox_;
  Backlog backlog_;
  std::string head_;  // plain phase: the PROXY header, then the CONNECT head so far, then the reply
  bool closed_ = true;  // becomes false when a socket is adopted or connected
  bool parking_ = false;
  bool ktls_ = false;
  bool offload_pending_ = false;
  bool eof_pending_ = false;  // the socket's EOF waits for the backlog to drain
};

// The relay's buffers in the tunnel's one mapping (RelayMemory): the client's and the upstream's
// outboxes (two halves each), u2c, then c2u, whose capacity also holds a buffered body of
// `body_bytes_max`. False (errno set) when the mapping failed.
bool place_relay_buffers(RelayMemory& memory, size_t body_bytes_max, Outbox& client_out,
                         Outbox& upstream_out, Plain& u2c, Plain& c2u);

// Both legs are settled: tunnel.established names the path each took (the kernel, pamproxy's own
// records, OpenSSL) and the path is counted (tls_ktls / tls_userspace).
void announce_relay(const Leg& client, const Leg& upstream,
                    const net::SocketAddress& upstream_address, bool upstream_reused,
                    bool legs_settled);

}  // namespace pamproxy::proxy
