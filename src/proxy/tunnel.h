#pragma once
// One client tunnel: CONNECT head -> destination checks -> "200 Connection established" ->
// TLS with the client (certificate for the SNI, which must equal the CONNECT host) -> verified
// TLS to the upstream -> relay. The tunnel is the lifecycle around three layers:
//
//   client socket -- [Leg client_] --c2u--> [RequestGate gate_] --> [Leg upstream_] -- upstream
//                                   <--u2c-- (responses observed) <--
//
// a Leg per connection (socket, TLS session, outbox, backlog, kernel TLS: leg.h), the request
// gate between them (framing, the stage, the audit trail, signed chunks, response outcomes:
// request_gate.h), and this class: the state machine, the timers, DNS, the connect, the pump that
// moves bytes through the layers, and the upstream pool's hand-over.
//
// Memory per tunnel is bounded whatever the speeds of the two peers: a direction stops receiving
// when its plaintext window is full and resumes when the other side has taken it (pump step 5).
// Every wait has a timer (connect_head_ms, tls_handshake_ms, upstream_connect_ms, then
// idle_keepalive_ms / upstream_response_ms while relaying, lingering_close_ms after a refusal
// mid-body). Every end has one Cause, counted and logged once. Nothing here throws or blocks.
//
// A request refused while its body was still arriving ends in a lingering close: the answer and
// close_notify go out, then the client's socket is read and what comes is dropped unread (never
// decrypted, never forwarded) until the client closes, lingering_close_ms pass or
// lingering_close_bytes_max bytes came. Closing at once would leave the client's bytes unread,
// the kernel would answer them with a reset, and a client that reads only once it has sent its
// whole body would see the reset instead of the answer.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "leg.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/engine/stream.h"
#include "pamproxy/engine/timer_wheel.h"
#include "pamproxy/proxy/connect_request.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/relay_memory.h"
#include "pamproxy/proxy/service.h"
#include "request_gate.h"

namespace pamproxy::proxy {

class Tunnel final : private engine::Timer::Handler, private GateHost {
 public:
  Tunnel(ProxyService& service, int fd, const net::SocketAddress& peer);
  ~Tunnel();

  void start();
  void drain();             // shutdown began
  void abort(Cause cause);  // close now
  // The resolver's answer for the CONNECT host (kResolving only; ignored otherwise).
  void on_resolved(const absl::StatusOr<Addresses>& addresses);
  size_t index = 0;  // position in the service's list
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
    kResolving,  // waiting for DNS (names without a resolve override)
    kReplying,   // sending 200 or an error on the plain leg
    kClientHandshake,
    kUpstreamConnect,
    kUpstreamHandshake,
    kRelay,
    kFinishing,  // flushing the last bytes to the client before closing
    kLingering,  // answered mid-body: reading and dropping what the client still sends
    kClosing,
  };
  // What a step of pump() leaves for the rest of the pass: go on, start the next pass, or stop.
  enum class Pass { kOn, kAgain, kStop };

  // Each leg's events, to that leg's handlers.
  struct ClientEvents final : Leg::Events {
    Tunnel& t;
    explicit ClientEvents(Tunnel& tunnel) : t(tunnel) {}
    void on_data(std::span<const uint8_t> bytes) override { t.on_client_data(bytes); }
    void on_eof() override { t.on_client_eof(); }
    void on_failed(int error) override { t.on_client_failed(error); }
    void on_fatal_record() override {
      if (t.lingering()) {
        t.end_linger("client");
      } else {
        t.close_now(Cause::kClientTlsFailed);
      }
    }
    void on_sent() override { t.on_client_sent(); }
    void on_connected(int) override {
      PAMPROXY_CHECK(!"the client's socket was accepted, never connected");
    }
    void on_closed() override { t.on_closed(); }
    void on_receive_stopped() override { t.on_receive_stopped(); }
    void on_wake() override { t.pump(); }
  };
  struct UpstreamEvents final : Leg::Events {
    Tunnel& t;
    explicit UpstreamEvents(Tunnel& tunnel) : t(tunnel) {}
    void on_data(std::span<const uint8_t> bytes) override { t.on_upstream_data(bytes); }
    void on_eof() override { t.on_upstream_eof(); }
    void on_failed(int error) override { t.on_upstream_failed(error); }
    void on_fatal_record() override {
      t.upstream_failed_midway(Cause::kUpstreamTlsFailed);
      t.pump();
    }
    void on_sent() override { t.pump(); }
    void on_connected(int error) override { t.on_upstream_connected(error); }
    void on_closed() override { t.on_closed(); }
    void on_receive_stopped() override { t.on_receive_stopped(); }
    void on_wake() override { t.pump(); }
  };

  // The client's leg.
  void on_client_data(std::span<const uint8_t> bytes);
  void on_client_eof();
  void on_client_failed(int error);
  void on_client_sent();
  // The upstream's leg.
  void on_upstream_data(std::span<const uint8_t> bytes);
  void on_upstream_eof();
  void on_upstream_failed(int error);
  void on_upstream_connected(int error);
  // Either leg.
  void on_closed();
  void on_receive_stopped();
  // Timer::Handler
  void on_timer(engine::Timer& t) override;

  // GateHost
  uint64_t now_ms() const override { return worker_.now_ms(); }
  bool relaying() const override { return state_ == State::kRelay; }
  void refuse(int status, std::string_view code, std::string message, Cause cause) override {
    inside_error(status, code, std::move(message), cause);
  }
  void answer_and_finish(std::string_view response, Cause cause) override;
  void send_upstream(SealSource& source) override { seal_for(upstream_, source, true); }
  void request_sent() override { relay_activity(true); }
  void arm_audit_timer(uint64_t ms) override { arm(ms); }
  void request_released() override {
    relay_activity(true);
    pump();
  }
  void window_grew() override { relay_memory_.tail_touched = true; }

  // The plain CONNECT leg.
  void on_connect_bytes(std::span<const uint8_t> bytes);
  void follow(ConnectRoute route);  // refuse, resolve, or reply 200
  void resolve();
  void reply_plain(int status, std::string_view code, std::string message, Cause cause);
  // The TLS legs.
  void start_client_tls();
  void connect_upstream();
  void client_tls_failed();
  void upstream_tls_failed();
  // Kernel TLS (see Leg): both legs settled before the relay is announced.
  void settle_ktls();
  void announce_if_settled();
  void start_relay();
  // The relay.
  void pump();
  Pass follow_client_session();
  Pass follow_upstream_session();
  bool resume_receiving();  // true: more to decrypt, another pass
  void seal_for(Leg& leg, SealSource& source, bool flush_when_empty);
  void relay_activity(bool client_to_upstream);
  bool quiet() const;
  void release_idle_memory();
  // Ends.
  void finishing(Cause cause);  // the upstream is done: what is left goes to the client
  void upstream_failed_midway(Cause cause);
  void inside_error(int status, std::string_view code, std::string message, Cause cause);
  void close_now(Cause cause);
  // The lingering close (see the top of this file).
  bool lingering() const {
    return linger_ && (state_ == State::kFinishing || state_ == State::kLingering);
  }
  void linger();
  void discarded(size_t bytes);
  void end_linger(std::string_view why);  // closes with the refusal's cause
  void arm(uint64_t ms);
  void audit_tunnel(audit::EventType type, Cause cause);
  log::Line& logged(log::Line&& line) const { return tunnel_fields(std::move(line), context_); }
  // The upstream pool (see UpstreamPool): whether this tunnel's upstream connection can serve
  // another tunnel, and handing it over as the tunnel closes.
  bool upstream_keepable(Cause cause) const;
  void park_upstream();
  void hand_over_upstream();

  ProxyService& service_;
  engine::Worker& worker_;
  const ProxyShared& shared_;
  // The settings in force when the tunnel was accepted, for its whole life (settings.h).
  const std::shared_ptr<const ProxySettings> settings_;
  net::SocketAddress peer_;            // the TCP peer (connection limits)
  net::SocketAddress client_address_;  // the peer, or a trusted balancer's PROXY header
  ConnectTarget target_;
  const TunnelContext context_;
  net::SocketAddress upstream_address_;
  bool proxy_header_pending_ = false;
  State state_ = State::kConnectHead;
  ClientEvents client_events_{*this};
  UpstreamEvents upstream_events_{*this};
  Leg client_;
  Leg upstream_;
  engine::Timer timer_{this};
  engine::Timer quiet_timer_{this};  // kQuietReleaseMs after the relay went quiet
  uint64_t dns_cookie_ = 0;          // while kResolving
  RelayMemory relay_memory_;         // 4 outbox halves, u2c, c2u
  Plain c2u_;
  Plain u2c_;
  RequestGate gate_;
  Cause cause_ = Cause::kInternal;
  bool cause_set_ = false;
  bool counted_open_ = false;
  bool upstream_done_ = false;  // the upstream finished sending (EOF or close_notify)
  bool last_c2u_ = false;       // the last bytes moved went client -> upstream
  // Answered while the refused request's body was still arriving: linger once the answer is out.
  bool linger_ = false;
  uint64_t lingered_bytes_ = 0;     // read from the client since the refusal, dropped
  uint64_t linger_started_ms_ = 0;  // the refusal
  std::string_view linger_end_;     // what ended it: "client", or the key of the bound
  uint64_t started_ms_ = 0;

  bool relay_started_ = false;    // both legs were up (tunnel.opened went to the audit trail)
  bool relay_announced_ = false;  // tunnel.established logged, the path counted
  bool ktls_abandoned_ = false;   // the tunnel ended before a pending leg was offloaded

  // Upstream connection reuse across tunnels.
  bool upstream_reused_ = false;  // taken from the pool
};

}  // namespace pamproxy::proxy
