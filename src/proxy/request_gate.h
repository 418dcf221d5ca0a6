#pragma once
// The request gate of a tunnel: every request a client makes through the proxy passes here. The
// CONNECT that opens the tunnel is checked against the destination policy (route_connect,
// route_resolved: pure functions). Then RequestGate stands between the client's plaintext (c2u)
// and the bytes allowed to go upstream, and follows the responses coming back:
//
//   c2u: [ head | body ... | next head ... ]
//          |      '- cleared to go as framed (body_approved_), a signed chunk held until its
//          |         signature is replaced (chunk_held_), the rest not classified yet
//          '- copied into req_head_ (it may span receives), parsed, Host checked against the
//             CONNECT target, the stage asked (with the whole body first when it says kNeedBody),
//             the decision put on the audit trail (waiting for it when [audit] says so), and what
//             the stage forwards goes out from head_out_ before the body's first byte.
//
// One request at a time: the next head is read only once the previous one and its body are on
// their way upstream, so a denial in a pipeline ends the tunnel before anything after it leaves.
// Every request sent waits in in_flight_ with its decision's event until the ResponseObserver
// (fed the upstream's plaintext by the tunnel) has seen its response end; then its
// request.completed goes to the audit trail, with the request's payload bytes: the body's data
// (HTTP chunk framing excluded), and of an aws-chunked body the data inside its chunks (as
// x-amz-decoded-content-length counts it), never its encoded size.
//
// Bounds: a head is copied up to [limits] head_bytes_max + 1 bytes; c2u grows past its usual
// window only for a body the stage must see (up to buffered_body_bytes_max) or to hold one signed
// chunk (doubling, up to its capacity). Steady state allocates nothing: the head buffers, the
// in-flight list and the decision's event are reused from request to request.
//
// Owns: where a CONNECT may lead, HTTP/1.1 request framing, the stage's decisions and their
// audit, signed-chunk re-signing, response outcomes. Never: does I/O, touches a socket or a TLS
// session, changes the tunnel's state itself (it asks its GateHost), or clears a byte the stage
// has not allowed.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "leg.h"
#include "pamproxy/audit/event.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/http/aws_chunked.h"
#include "pamproxy/http/body.h"
#include "pamproxy/http/request_parser.h"
#include "pamproxy/proxy/audit_gate.h"
#include "pamproxy/proxy/connect_request.h"
#include "pamproxy/proxy/metrics.h"
#include "pamproxy/proxy/resolver.h"
#include "pamproxy/proxy/response_observer.h"
#include "pamproxy/proxy/settings.h"
#include "pamproxy/proxy/stage.h"
#include "pamproxy/sigv4/chunk_signer.h"

namespace pamproxy::proxy {

// Where a CONNECT leads: refused (a plain reply), to an address, or to a name to resolve first.
struct ConnectRoute {
  enum class Kind { kRefuse, kAddress, kResolve };
  Kind kind = Kind::kRefuse;
  net::SocketAddress address;  // kAddress
  // kRefuse: the reply's status, code and message, and the tunnel's cause.
  int status = 0;
  std::string_view code;
  std::string message;
  Cause cause = Cause::kInternal;
};
// A CONNECT head as parsed (any status but kIncomplete; `target` filled when kComplete): refused
// when it is not a valid CONNECT or its target is not on the allowlist; a pinned name ([upstream]
// resolve) or an IP literal outside the appliance's neighbourhood goes to its address; any other
// name is resolved first.
ConnectRoute route_connect(ConnectParse status, const ConnectTarget& target,
                           const ProxySettings& settings);
// The resolver's answer for `target`: the first address the policy permits (a public name must
// not lead to loopback, link-local or private addresses), or a refusal.
ConnectRoute route_resolved(const absl::StatusOr<Addresses>& addresses, const ConnectTarget& target,
                            const DestinationPolicy& policy);

// What the gate asks of its tunnel.
class GateHost {
 public:
  virtual uint64_t now_ms() const = 0;
  // Still relaying: an audit wait that ends after the tunnel began finishing releases nothing.
  virtual bool relaying() const = 0;
  // The request cannot go on: answer `status` inside the client's TLS session, then finish.
  virtual void refuse(int status, std::string_view code, std::string message, Cause cause) = 0;
  // `response` is the tunnel's last word to the client (a denial, the audit trail unavailable):
  // drop the upstream, send it, finish.
  virtual void answer_and_finish(std::string_view response, Cause cause) = 0;
  // Seal what `source` offers (the cleared request bytes, head first) for the upstream, as much
  // as its leg takes now; what is left is offered again on the next relay().
  virtual void send_upstream(SealSource& source) = 0;
  // Request bytes went upstream: the upstream has upstream_response_ms to answer.
  virtual void request_sent() = 0;
  // A decision waits for the audit trail at most `ms`; then the tunnel calls audit_timed_out().
  virtual void arm_audit_timer(uint64_t ms) = 0;
  // A request that waited for the audit trail was released: its bytes can move.
  virtual void request_released() = 0;
  // c2u's window grew past its usual size (pages past the usual ones get written).
  virtual void window_grew() = 0;

 protected:
  ~GateHost() = default;
};

// What the gate reads of its tunnel, for as long as it lives.
struct GateContext {
  const ProxySettings& settings;
  Stage& stage;
  AuditGate& audit;
  const ConnectTarget& target;       // filled before the relay starts
  const net::SocketAddress& client;  // the peer, or a trusted balancer's PROXY header
  uint64_t tunnel_id = 0;            // unique per worker (the stage's replay detection)
};

// tunnel.opened / tunnel.closed, written without waiting (the counts and the cause only for
// tunnel.closed).
struct TunnelEvent {
  audit::EventType type = audit::EventType::kTunnelOpened;
  net::SocketAddress client;  // the peer, or a trusted balancer's PROXY header
  const ConnectTarget* target = nullptr;
  uint64_t bytes_in = 0;   // from the client
  uint64_t bytes_out = 0;  // to the client
  uint64_t duration_us = 0;
  Cause cause = Cause::kInternal;
};
void publish_tunnel_event(AuditGate& gate, const TunnelEvent& event);
// A ring slot for an event that is written without waiting (nothing waits on it to be
// forwarded), or null: audit off, or the ring full, which is counted as a refusal and logged,
// never silent.
audit::Event* claim_event(AuditGate& gate, audit::EventType type, const ConnectTarget& target);

class RequestGate final : public SealSource, private AuditGate::Waiter {
 public:
  // `c2u` holds the client's plaintext (its buffer placed before the relay starts); `u2c` takes
  // the 100 Continue the gate answers for a body it must see.
  RequestGate(GateHost& host, const GateContext& context, Plain& c2u, Plain& u2c);
  ~RequestGate();
  RequestGate(const RequestGate&) = delete;
  RequestGate& operator=(const RequestGate&) = delete;

  // Frames what c2u holds, clears what may go and sends it upstream (GateHost::send_upstream).
  // False: an error or a denial was answered and the tunnel is finishing.
  bool relay();
  // Framing alone (relay() without sending).
  bool frame();
  // SealSource: the cleared bytes, the head first (from head_out_), then the body (from c2u).
  std::span<const uint8_t> next() override;
  void took(size_t n) override;
  size_t head_unsent() const { return head_out_.size() - head_out_sent_; }

  // The upstream's plaintext as it arrives (in order, any split): the last `u2c_added` bytes of
  // u2c are new. Each response is followed and the outcome of each request that ended is
  // reported.
  void observe_response(size_t u2c_added);
  // The tunnel closes: requests still waiting for their response are reported as they stand.
  void upstream_gone();

  bool awaiting_audit() const { return phase_ == Phase::kAwaitAudit; }
  // The audit trail did not record the decision within [audit] hold_timeout_ms: 503.
  void audit_timed_out();
  // Stops waiting for the audit trail (the tunnel is closing).
  void stop_waiting();

  // The request being answered was read only in part: its head is in, not all of its body, and
  // the client may still be sending the rest. (The tunnel then reads and drops what follows for
  // a bounded time, so that a client that reads only once it has sent everything sees the
  // answer.) False before a head was whole: a head too large or malformed has no body to wait
  // for.
  bool body_unfinished() const;
  // A body is being buffered or a signed chunk held: c2u may fill to its limit.
  bool buffering() const { return phase_ == Phase::kAwaitBody || chunk_held_ > 0; }
  // Between requests: nothing parsed and not yet sent.
  bool idle() const {
    return phase_ == Phase::kHead && head_out_sent_ == head_out_.size() && body_approved_ == 0;
  }
  // The upstream connection could carry another tunnel's request: no request said
  // Connection: close, every response asked for ended cleanly, nothing is half sent.
  bool upstream_reusable() const;
  // Quiet: the head buffers and the spare event go back.
  void release_idle();
  uint64_t requests() const { return requests_; }

 private:
  enum class Phase {
    kHead,
    kAwaitBody,   // the stage needs the whole body before deciding
    kAwaitAudit,  // decided; waiting for the audit ring (room, or durability)
    kBody,
  };
  // One step of frame(): go on, wait for more bytes (true), or the tunnel is finishing (false).
  enum class Step { kNext, kWait, kFinished };
  // Puts the decision's audit event on the worker's ring: go on, wait (full ring on hold, or
  // before-forward until durable), or refused (full ring with on_full = refuse: answered).
  enum class AuditStep { kGo, kWait, kRefused };
  // Response outcomes (with the audit trail on): every request sent upstream waits here, with
  // its decision's event, until the observer has seen its response end.
  struct InFlight {
    uint64_t key = 0;
    uint64_t forwarded_ms = 0;
    uint64_t bytes_in = 0;  // its payload bytes, once its body has passed (see bytes_in_of)
    std::unique_ptr<audit::Event> event;  // null: the stage recorded none
  };

  Step frame_head();
  Step frame_body();
  Step body_arrived();  // kAwaitBody: decide once the whole body is in c2u
  // Host must name the CONNECT target, then the stage decides.
  bool on_request_head();
  // Runs the stage on the current request (with its body once buffered) and acts on the answer.
  bool decide_request(std::string_view body, bool body_given);
  void need_body(const http::RequestHead& h);
  bool forward(StageDecision& d, std::string_view head_bytes);
  AuditStep audit_decision(const audit::Event* event, bool forwarding);
  AuditStep audit_refused_or_held(bool forwarding);
  // AuditGate::Waiter: the request's event is durable, or the full audit ring has room again.
  void on_audit_ready() override;
  // The stage allowed the request (and its event is recorded as required): send it.
  void release_request();
  // The request whose body is being relayed cannot go on (its body is malformed, a signed chunk
  // does not match): its outcome is what the client is told, and the tunnel answers it.
  void refuse_in_body(int status, std::string_view code, std::string message, Cause cause);
  // Feeds body bytes (just after the held ones) to the chunk signer.
  bool feed_chunks(std::string_view piece);
  bool chunk_failed(const sigv4::ChunkSigner::Step& s);
  void fit_held_chunk();
  // Counts the payload inside an unsigned aws-chunked body from the body data that just passed.
  void count_unsigned_chunks(std::string_view data);
  // The payload bytes of an in-flight request: the live count while it is the latest one (its
  // body may still be passing when its response ends).
  uint64_t bytes_in_of(const InFlight& f) const {
    return f.key == requests_ ? payload_bytes_ : f.bytes_in;
  }
  // request.completed for each response that ended (outcomes_), joined to its request's event.
  void report_outcomes();
  void publish_outcome(const audit::Event& decided, const ResponseOutcome& outcome,
                       uint64_t bytes_in, uint64_t duration_us, std::string_view detail);

  GateHost& host_;
  const ProxySettings& settings_;
  Stage& stage_;
  AuditGate& audit_;
  const ConnectTarget& target_;
  const net::SocketAddress& client_;
  const uint64_t tunnel_id_;
  Plain& c2u_;
  Plain& u2c_;

  std::string authority_;  // the target's "host:port", made at the first request
  Phase phase_ = Phase::kHead;
  http::RequestParser parser_;
  http::BodyDecoder body_;
  std::string head_;      // the request head so far (at most head_bytes_max + 1)
  std::string head_out_;  // what the stage forwards, being sealed
  size_t head_out_sent_ = 0;
  size_t body_approved_ = 0;  // bytes at the front of c2u cleared to go upstream
  uint64_t requests_ = 0;
  bool keep_alive_ = true;    // no request said Connection: close
  uint64_t body_needed_ = 0;  // kAwaitBody: the body's length
  // kAwaitBody: the stage's number for the request, given back with its body.
  uint64_t awaited_request_number_ = 0;
  std::string pending_head_;    // kAwaitAudit: the head to send once the event is recorded
  uint64_t audit_wait_id_ = 0;  // kAwaitAudit: the audit gate's waiter id
  uint64_t audit_ticket_ = 0;
  bool audit_published_ = false;  // kAwaitAudit: the event is on the ring (wait durable)
  std::unique_ptr<audit::Event> decided_event_;  // from the decision until release_request()
  std::unique_ptr<audit::Event> spare_event_;    // a finished one's allocation, for the next

  // Signed aws-chunked bodies: the stage's signer checks each chunk and gives its new signature.
  // A chunk's bytes are held in c2u (chunk_held_ bytes after body_approved_) from its size line
  // until its data has passed, then patched in place and cleared to go; chunk_base_ is the body
  // offset of c2u's first byte.
  std::unique_ptr<sigv4::ChunkSigner> decided_chunks_;  // from the decision until release
  std::unique_ptr<sigv4::ChunkSigner> chunks_;
  uint64_t chunk_base_ = 0;
  size_t chunk_held_ = 0;
  bool chunks_done_ = false;  // the signer saw the final chunk

  // The payload bytes of the request whose body is passing (or passed last): what its
  // request.completed records as bytesIn. An unsigned aws-chunked body is decoded for it (its
  // bytes go as they came; a coding that does not parse stops the count, not the request, and
  // the service refuses it).
  uint64_t payload_bytes_ = 0;
  bool decided_unsigned_chunks_ = false;  // from the decision until release
  bool unsigned_chunks_ = false;
  http::AwsChunkedDecoder aws_chunked_;

  std::vector<InFlight> in_flight_;
  ResponseObserver responses_;
  std::vector<ResponseOutcome> outcomes_;  // scratch, emptied by report_outcomes()
};

}  // namespace pamproxy::proxy
