#pragma once
// One client tunnel: CONNECT head -> destination checks -> "200 Connection established" ->
// TLS with the client (certificate for the SNI, which must equal the CONNECT host) -> verified
// TLS to the upstream -> relay, decrypting on one side and encrypting on the other.
//
//   client --cipher--> [client Session] --plain--> c2u_ --> [upstream Session] --cipher--> upstream
//   client <--cipher-- [client Session] <--plain-- u2c_ <-- [upstream Session] <--cipher-- upstream
//
// Each socket has an Outbox of two buffers: one being sent, one being filled (records encrypted
// for it, and handshake/alert bytes its own Session produces). A direction stops receiving when
// its plaintext buffer is full and resumes when the other side has taken it, so memory per
// tunnel is bounded whatever the speeds of the two peers.
//
// Every wait has a timer (connect_head_ms, tls_handshake_ms, upstream_connect_ms, then
// idle_keepalive_ms / upstream_response_ms while relaying). Every end has one Cause, counted and
// logged once. Nothing here throws or blocks.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/engine/stream.h"
#include "pamproxy/engine/timer_wheel.h"
#include "pamproxy/http/body.h"
#include "pamproxy/http/head.h"
#include "pamproxy/proxy/connect_request.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/relay_memory.h"
#include "pamproxy/proxy/response_observer.h"
#include "pamproxy/proxy/service.h"
#include "pamproxy/tls/session.h"

namespace pamproxy::proxy {

class Tunnel final : private engine::Stream::Events,
                     private engine::Timer::Handler,
                     private AuditGate::Waiter {
 public:
  Tunnel(ProxyService& service, int fd, const net::SocketAddress& peer);
  ~Tunnel();

  void start();
  void drain();                   // shutdown began
  void abort(Cause cause);        // close now
  // The resolver's answer for the CONNECT host (kResolving only; ignored otherwise).
  void on_resolved(const absl::StatusOr<Addresses>& addresses);
  size_t index = 0;               // position in the service's list
  const net::SocketAddress& peer() const { return peer_; }

  // The relay buffers live in one private anonymous mapping (RelayMemory): four outbox halves,
  // u2c, and c2u, which can grow to hold a whole buffered body. Pages become resident only when
  // written, a quiet tunnel gives them all back at once (MADV_DONTNEED) with no malloc
  // fragmentation left behind, and a closed tunnel's mapping goes to the worker's cache. Mapped
  // on first use (a tunnel refused at CONNECT never maps it). The bytes a usual tunnel touches:
  static constexpr size_t kRelayUsualBytes = 4 * (68 * 1024) + 2 * (64 * 1024);

 private:
  enum class State {
    kConnectHead,
    kResolving,         // waiting for DNS (names without a resolve override)
    kReplying,          // sending 200 or an error on the plain leg
    kClientHandshake,
    kUpstreamConnect,
    kUpstreamHandshake,
    kRelay,
    kFinishing,         // flushing the last bytes to the client before closing
    kClosing,
  };

  // An outbox: `sending` is lent to the Stream until on_sent; `filling` takes new bytes.
  struct Outbox {
    static constexpr size_t kBytes = 68 * 1024;  // four full TLS records
    uint8_t* buf[2] = {nullptr, nullptr};        // in the tunnel's RelayMemory
    size_t len[2] = {0, 0};
    int filling = 0;
    bool busy = false;  // buf[1 - filling] is being sent
    std::span<uint8_t> free_space() { return {buf[filling] + len[filling], kBytes - len[filling]}; }
    void commit(size_t n) { len[filling] += n; }
    bool empty() const { return len[filling] == 0 && !busy; }
  };
  // Ciphertext received while the plaintext buffer was full, consumed from the front. Taking
  // bytes moves nothing (an offset advances); the consumed front is dropped when appending
  // finds it at least half of the buffer, so each byte is moved at most once on average (a
  // string erased from the front on every record moved the rest of a ring's worth each time).
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
  struct Plain {
    static constexpr size_t kBytes = 64 * 1024;  // the usual capacity
    uint8_t* buf = nullptr;  // in the tunnel's RelayMemory
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
  };
  // Stream::Events
  void on_data(engine::Stream& s, std::span<const uint8_t> bytes) override;
  void on_eof(engine::Stream& s) override;
  void on_error(engine::Stream& s, int error) override;
  void on_sent(engine::Stream& s) override;
  void on_connected(engine::Stream& s, int error) override;
  void on_closed(engine::Stream& s) override;
  void on_receive_stopped(engine::Stream& s) override;
  // Timer::Handler
  void on_timer(engine::Timer& t) override;
  // AuditGate::Waiter: the request's event is durable, or the full audit ring has room again.
  void on_audit_ready() override;

  void on_connect_bytes(std::span<const uint8_t> bytes);
  void route();
  void resolve();
  void established();
  void reply_plain(int status, std::string_view code, std::string message, Cause cause);
  void start_client_tls();
  void connect_upstream();
  void start_upstream_tls();
  // Feeds ciphertext of one side to its Session; returns bytes consumed.
  size_t decrypt(bool client_side, std::span<const uint8_t> bytes);
  void after_decrypt(bool client_side);
  void pump();
  void encrypt(Plain& plain, tls::Session& session, Outbox& box);
  void flush(engine::Stream& stream, Outbox& box);
  void tls_failed(bool client_side);
  // Kernel TLS (see ktls_ below).
  tls::IoResult seal(int side, std::span<const uint8_t> plain, std::span<uint8_t> out);
  bool leg_held(int side);
  void settle_ktls();
  void announce_relay();  // tunnel.established with each leg's path, counted
  void start_relay();
  void on_control_record(engine::Stream& s);
  // A receive or send failed (errno `error`), or the upstream ended mid-exchange.
  void stream_failed(engine::Stream& s, int error);
  void upstream_failed_midway(Cause cause);
  // The upstream pool (see UpstreamPool): whether this tunnel's upstream connection can serve
  // another tunnel, and handing it over as the tunnel closes.
  bool upstream_keepable(Cause cause) const;
  void park_upstream();
  void hand_over_upstream();
  void abandon_parking();
  void inside_error(int status, std::string_view code, std::string message, Cause cause);
  void finish(Cause cause);
  void close_now(Cause cause);
  void arm(uint64_t ms);
  void relay_activity(bool client_to_upstream);
  bool quiet() const;
  void release_idle_memory();
  // The request gate: parses each request head out of c2u_, checks Host against the CONNECT
  // target, runs the stage, then lets the body through exactly as framed. False = the tunnel
  // is finishing (an error was answered).
  bool frame_requests();
  bool on_request_head();
  // Runs the stage on the current request (with its body once buffered) and acts on the answer.
  bool decide_request(std::string_view body, bool body_given);
  // Puts the decision's audit event on the worker's ring: go on, wait (full ring on hold, or
  // before-forward until durable), or refused (full ring with on_full = refuse: answered).
  enum class AuditStep { kGo, kWait, kRefused };
  AuditStep audit_decision(const audit::Event* event, bool forwarding);
  // The stage allowed the request (and its event is recorded as required): send it.
  void release_request();
  void answer_and_finish(std::string_view response, Cause cause);
  void send_upstream(Plain& plain);
  std::string describe_target() const;
  audit::Event* claim_event(audit::EventType type);
  void audit_tunnel(audit::EventType type, Cause cause);
  // request.completed for each response that ended (outcomes_), joined to its request's event.
  void report_outcomes();
  void publish_outcome(const audit::Event& decided, const ResponseOutcome& outcome,
                       uint64_t bytes_in, uint64_t duration_us, std::string_view detail);

  ProxyService& service_;
  engine::Worker& worker_;
  const ProxyShared& shared_;
  // The settings in force when the tunnel was accepted, for its whole life (settings.h).
  const std::shared_ptr<const ProxySettings> settings_;
  net::SocketAddress peer_;    // the TCP peer (connection limits)
  net::SocketAddress client_address_;  // the peer, or a trusted balancer's PROXY header
  bool proxy_header_pending_ = false;
  State state_ = State::kConnectHead;
  engine::Stream client_;
  engine::Stream upstream_;
  engine::Timer timer_{this};
  engine::Timer quiet_timer_{this};  // kQuietReleaseMs after the relay went quiet
  std::string head_;  // the CONNECT head so far, then the plain-leg reply being sent
  Backlog backlog_[2];  // ciphertext received while the plaintext buffer was full
  ConnectTarget target_;
  net::SocketAddress upstream_address_;
  uint64_t dns_cookie_ = 0;  // while kResolving
  std::unique_ptr<tls::Session> client_tls_;
  std::unique_ptr<tls::Session> upstream_tls_;
  RelayMemory relay_memory_;  // 4 outbox halves, u2c, c2u
  Outbox client_out_;
  Outbox upstream_out_;
  Plain c2u_;
  Plain u2c_;
  Cause cause_ = Cause::kInternal;
  bool cause_set_ = false;
  bool counted_open_ = false;
  bool upstream_done_ = false;  // the upstream finished sending (EOF or close_notify)
  bool last_c2u_ = false;       // the last bytes moved went client -> upstream
  bool client_closed_ = true;   // becomes false in the constructor (fd adopted)
  bool upstream_closed_ = true;
  uint64_t started_ms_ = 0;

  // Kernel TLS ([engine] ktls on, the ULP present). A leg (0 client, 1 upstream) goes to the
  // kernel once its handshake is done and nothing read from its socket is left in user space:
  // its receive has stopped, what user space encrypted for it has been sent, and its session
  // holds no unread record. Until then the leg is pending: nothing new is sealed for it and its
  // receive stays paused (a few microseconds: one send and one cancel to complete). The relay
  // starts once both legs are settled. A kTLS leg moves plaintext: its socket decrypts on
  // receive and encrypts on send, control records come through on_control_record().
  bool ktls_[2] = {false, false};
  bool offload_pending_[2] = {false, false};
  bool relay_started_ = false;    // both legs were up (tunnel.opened went to the audit trail)
  bool relay_announced_ = false;  // tunnel.established logged, the path counted
  bool ktls_abandoned_ = false;   // the tunnel ended before a pending leg was offloaded

  // Upstream connection reuse across tunnels.
  bool upstream_reused_ = false;   // taken from the pool
  bool upstream_reusable_ = true;  // no request said Connection: close
  bool parking_ = false;           // closing: waiting for the receive to stop, then to the pool

  // Request framing (client -> upstream). A head is copied out of c2u_ into req_head_ (it may
  // span receives; at most head_bytes_max), parsed, checked and passed to the stage; what the
  // stage forwards goes out from head_out_, then the body's bytes straight from c2u_ as they
  // are classified (body_approved_ = bytes at the front of c2u_ cleared to go upstream).
  enum class RequestPhase {
    kHead,
    kAwaitBody,   // the stage needs the whole body before deciding
    kAwaitAudit,  // decided; waiting for the audit ring (room, or durability)
    kBody,
  };
  RequestPhase req_phase_ = RequestPhase::kHead;
  http::RequestParser req_parser_;
  http::BodyDecoder req_body_;
  std::string req_head_;
  std::string head_out_;
  size_t head_out_sent_ = 0;
  size_t body_approved_ = 0;
  uint64_t requests_ = 0;
  uint64_t tunnel_id_ = 0;
  uint64_t body_needed_ = 0;       // kAwaitBody: the body's length
  std::string pending_head_;       // kAwaitAudit: the head to send once the event is durable
  uint64_t audit_wait_id_ = 0;     // kAwaitAudit: the gate's waiter id
  uint64_t audit_ticket_ = 0;
  bool audit_published_ = false;   // kAwaitAudit: the event is on the ring (wait durable)

  // Response outcomes (with the audit trail on): every request sent upstream waits here, with
  // its decision's event, until the observer has seen its response end.
  struct InFlight {
    uint64_t key = 0;
    uint64_t forwarded_ms = 0;
    uint64_t bytes_in = 0;
    std::unique_ptr<audit::Event> event;  // null: the stage recorded none
  };
  std::unique_ptr<audit::Event> decided_event_;  // from the decision until release_request()
  std::unique_ptr<audit::Event> spare_event_;    // a finished one's allocation, for the next

  // Signed aws-chunked bodies: the stage's signer checks each chunk and gives its new signature.
  // A chunk's bytes are held in c2u_ (chunk_held_ bytes after body_approved_) from its size line
  // until its data has passed, then patched in place and cleared to go; chunk_base_ is the body
  // offset of c2u_'s first byte.
  std::unique_ptr<sigv4::ChunkSigner> decided_chunks_;  // from the decision until release
  std::unique_ptr<sigv4::ChunkSigner> chunks_;
  uint64_t chunk_base_ = 0;
  size_t chunk_held_ = 0;
  bool chunks_done_ = false;  // the signer saw the final chunk
  bool feed_chunks(std::string_view piece);
  void fit_held_chunk();
  std::vector<InFlight> in_flight_;
  ResponseObserver responses_;
  std::vector<ResponseOutcome> outcomes_;  // scratch, emptied by report_outcomes()
};

}  // namespace pamproxy::proxy
