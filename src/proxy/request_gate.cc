// The request gate of a tunnel (see request_gate.h).

#include "request_gate.h"

#include <algorithm>
#include <cstring>

#include "absl/time/clock.h"
#include "pamproxy/base/check.h"
#include "pamproxy/base/log.h"
#include "pamproxy/http/error.h"
#include "pamproxy/proxy/error_response.h"

namespace pamproxy::proxy {

// ---------------------------------------------------------------- the CONNECT

namespace {

ConnectRoute refused(int status, std::string_view code, std::string message, Cause cause) {
  ConnectRoute r;
  r.status = status;
  r.code = code;
  r.message = std::move(message);
  r.cause = cause;
  return r;
}

ConnectRoute to_address(const net::SocketAddress& address) {
  ConnectRoute r;
  r.kind = ConnectRoute::Kind::kAddress;
  r.address = address;
  return r;
}

}  // namespace

ConnectRoute route_connect(ConnectParse status, const ConnectTarget& target,
                           const ProxySettings& settings) {
  PAMPROXY_CHECK(status != ConnectParse::kIncomplete);
  const size_t limit = settings.limits.connect_head_bytes_max;
  switch (status) {
    case ConnectParse::kTooLarge:
      return refused(400, "ConnectHeadTooLarge",
                     "the CONNECT request head is larger than " + std::to_string(limit) + " bytes",
                     Cause::kConnectTooLarge);
    case ConnectParse::kNotConnect:
      return refused(400, "NotConnect",
                     "this is an HTTPS proxy: send CONNECT host:port (set HTTPS_PROXY, not the "
                     "endpoint URL)",
                     Cause::kBadConnect);
    case ConnectParse::kMalformed:
    case ConnectParse::kBadTarget:
      return refused(400, "BadConnectRequest",
                     std::string("the request is not a valid CONNECT host:port head (") +
                         std::string(connect_parse_name(status)) + ")",
                     Cause::kBadConnect);
    default: break;
  }
  const DestinationPolicy& policy = settings.destinations;
  if (!policy.allowed(target)) {
    return refused(403, "DestinationNotAllowed",
                   target.authority() + " is not on the proxy's destination allowlist",
                   Cause::kForbidden);
  }
  // An override is an explicit permission for its address.
  if (auto o = policy.override_for(target.host)) return to_address(*o);
  if (!target.host_is_ip) {
    ConnectRoute r;
    r.kind = ConnectRoute::Kind::kResolve;
    return r;
  }
  auto ip = net::IpAddress::parse(target.host);
  PAMPROXY_CHECK(ip.has_value());  // parse_connect validated it
  if (!policy.address_permitted(*ip)) {
    return refused(403, "DestinationNotAllowed",
                   target.host + " is a loopback, link-local or private address",
                   Cause::kForbidden);
  }
  return to_address({*ip, target.port});
}

ConnectRoute route_resolved(const absl::StatusOr<Addresses>& addresses, const ConnectTarget& target,
                            const DestinationPolicy& policy) {
  if (!addresses.ok()) {
    return refused(502, "ProxyDnsFailed", std::string(addresses.status().message()),
                   Cause::kDnsFailed);
  }
  // Rule 3 of DestinationPolicy: a public name must not lead to the appliance's neighbourhood.
  for (const net::IpAddress& ip : *addresses) {
    if (policy.address_permitted(ip)) return to_address({ip, target.port});
  }
  return refused(403, "DestinationNotAllowed",
                 target.host + " resolves only to loopback, link-local or private addresses (" +
                     addresses->front().to_string() + ")",
                 Cause::kForbidden);
}

// ---------------------------------------------------------------- audit events

audit::Event* claim_event(AuditGate& gate, audit::EventType type, const ConnectTarget& target) {
  if (!gate.enabled()) return nullptr;
  audit::Event* e = gate.claim();
  if (e == nullptr) {
    gate.note_refusal();
    log::error("audit.event_refused")
        .kv("event", audit::event_type_name(type))
        .kv("target", describe_target(target))
        .kv("detail", "the worker's audit ring is full");
  }
  return e;
}

void publish_tunnel_event(AuditGate& gate, const TunnelEvent& t) {
  audit::Event* e = claim_event(gate, t.type, *t.target);
  if (e == nullptr) return;
  e->clear();
  e->type = t.type;
  e->time_unix_ns = absl::ToUnixNanos(absl::Now());
  e->source_ip.assign(t.client.ip.to_string());
  e->source_port = t.client.port;
  e->target_host.assign(t.target->authority());
  if (t.type == audit::EventType::kTunnelClosed) {
    e->bytes_in = t.bytes_in;
    e->bytes_out = t.bytes_out;
    e->duration_us = t.duration_us;
    e->detail.assign(cause_name(t.cause));
  }
  gate.publish();
}

RequestGate::RequestGate(GateHost& host, const GateContext& context, Plain& c2u, Plain& u2c)
    : host_(host),
      settings_(context.settings),
      stage_(context.stage),
      audit_(context.audit),
      target_(context.target),
      client_(context.client),
      tunnel_id_(context.tunnel_id),
      c2u_(c2u),
      u2c_(u2c),
      parser_(context.settings.limits.http),
      body_(context.settings.limits.http),
      aws_chunked_(context.settings.limits.http),
      responses_(context.settings.limits.http) {}

RequestGate::~RequestGate() {
  if (audit_wait_id_ != 0) audit_.cancel(audit_wait_id_);
}

// ---------------------------------------------------------------- framing

bool RequestGate::relay() {
  if (!frame()) return false;
  const size_t before = c2u_.used() + head_unsent();
  host_.send_upstream(*this);
  if (c2u_.used() + head_unsent() != before) host_.request_sent();
  return true;
}

bool RequestGate::frame() {
  for (int guard = 0; guard < 64; ++guard) {
    Step step = Step::kWait;
    switch (phase_) {
      case Phase::kAwaitAudit: return true;
      case Phase::kAwaitBody: step = body_arrived(); break;
      case Phase::kHead: step = frame_head(); break;
      case Phase::kBody: step = frame_body(); break;
    }
    if (step != Step::kNext) return step == Step::kWait;
  }
  return true;
}

RequestGate::Step RequestGate::body_arrived() {
  if (c2u_.used() < body_needed_) return Step::kWait;
  std::string_view body(reinterpret_cast<const char*>(c2u_.data().data()), body_needed_);
  return decide_request(body, true) ? Step::kNext : Step::kFinished;
}

RequestGate::Step RequestGate::frame_head() {
  // One request at a time: the next head is read once the previous one and its body are on
  // their way upstream.
  if (head_out_sent_ < head_out_.size() || body_approved_ > 0 || c2u_.empty()) return Step::kWait;
  const size_t head_max = settings_.limits.http.head_bytes_max;
  std::string_view fresh(reinterpret_cast<const char*>(c2u_.data().data()), c2u_.used());
  const size_t old = head_.size();
  const size_t room = head_max + 1 - std::min<size_t>(old, head_max + 1);
  head_.append(fresh.substr(0, room));
  http::ParseStatus st = parser_.parse(head_);
  if (st == http::ParseStatus::kIncomplete) {
    c2u_.begin += head_.size() - old;
    if (head_.size() > head_max) {
      host_.refuse(431, "RequestHeaderSectionTooLarge",
                   "the request head is larger than " + std::to_string(head_max) + " bytes",
                   Cause::kBadRequest);
      return Step::kFinished;
    }
    return Step::kWait;
  }
  if (st == http::ParseStatus::kError) {
    http::Error e = parser_.error();
    host_.refuse(
        http::error_status_code(e), "BadRequest",
        "the request head is not valid HTTP/1.1 (" + std::string(http::error_name(e)) + ")",
        Cause::kBadRequest);
    return Step::kFinished;
  }
  // Only the head's bytes leave c2u; what followed it is body or the next request.
  c2u_.begin += parser_.head_bytes() - old;
  return on_request_head() ? Step::kNext : Step::kFinished;
}

// Body: classify the bytes after those already cleared, clear them as they are (signed chunks:
// once their signature is replaced).
RequestGate::Step RequestGate::frame_body() {
  if (body_.done()) {
    if (chunks_) {
      if (chunk_held_ > 0 || !chunks_done_) {
        refuse_in_body(400, "IncompleteBody",
                       "the request body ended inside an aws-chunked chunk (Content-Length is "
                       "shorter than the chunks it announces)",
                       Cause::kBadRequest);
        return Step::kFinished;
      }
      chunks_.reset();
      c2u_.limit = Plain::kBytes;
    }
    phase_ = Phase::kHead;
    parser_.reset();
    head_.clear();
    return Step::kNext;
  }
  const size_t classified = body_approved_ + chunk_held_;
  if (c2u_.used() <= classified) {
    if (chunks_) fit_held_chunk();
    return Step::kWait;
  }
  std::string_view in(reinterpret_cast<const char*>(c2u_.data().data()) + classified,
                      c2u_.used() - classified);
  http::BodyStep step = body_.next(in);
  if (step.kind == http::BodyStep::kError) {
    refuse_in_body(400, "BadRequest",
                   "the request body framing is not valid (" +
                       std::string(http::error_name(body_.error())) + ")",
                   Cause::kBadRequest);
    return Step::kFinished;
  }
  if (step.kind == http::BodyStep::kNeedMore) return Step::kWait;
  if (chunks_) {
    if (!feed_chunks(in.substr(0, step.bytes))) return Step::kFinished;
    fit_held_chunk();
  } else {
    body_approved_ += step.bytes;
    if (step.kind == http::BodyStep::kData) {
      if (unsigned_chunks_) {
        count_unsigned_chunks(in.substr(0, step.bytes));
      } else {
        payload_bytes_ += step.bytes;
      }
    }
  }
  return Step::kNext;
}

void RequestGate::count_unsigned_chunks(std::string_view data) {
  while (!data.empty()) {
    http::AwsChunkedStep s = aws_chunked_.next(data);
    if (s.kind == http::AwsChunkedStep::kError || s.kind == http::AwsChunkedStep::kDone ||
        s.bytes == 0) {
      break;
    }
    data.remove_prefix(s.bytes);
  }
  payload_bytes_ = aws_chunked_.decoded_bytes();
}

// A held chunk must fit in c2u: the window grows (up to the buffer's capacity, which bounds a
// chunk) while one is being held, and comes back to its usual size once the bytes have left.
// Opening it for the whole body instead would let megabytes queue (and be moved around).
void RequestGate::fit_held_chunk() {
  if (chunk_held_ > 0) {
    // Twice the held chunk: room for it while the bytes cleared before it drain.
    while (c2u_.limit < c2u_.capacity && 2 * (chunk_held_ + Plain::kBytes / 4) > c2u_.limit) {
      c2u_.limit = std::min(c2u_.capacity, c2u_.limit * 2);
      host_.window_grew();
    }
  } else if (c2u_.used() <= Plain::kBytes) {
    c2u_.limit = Plain::kBytes;
  }
}

// Body bytes (just after the held ones) go to the chunk signer: they are held until the
// signature of the chunk they belong to has been replaced, then cleared to go.
bool RequestGate::feed_chunks(std::string_view piece) {
  while (!piece.empty()) {
    sigv4::ChunkSigner::Step s = chunks_->feed(piece);
    piece.remove_prefix(s.consumed);
    chunk_held_ += s.consumed;
    payload_bytes_ = chunks_->data_bytes();
    switch (s.kind) {
      case sigv4::ChunkSigner::Kind::kNeedMore: break;
      case sigv4::ChunkSigner::Kind::kPatch: {
        const uint64_t at = s.patch_offset - chunk_base_;
        PAMPROXY_CHECK(s.patch_offset >= chunk_base_ &&
                       at + sigv4::kSignatureHexLength <= body_approved_ + chunk_held_ &&
                       at >= body_approved_);
        std::memcpy(c2u_.buf + c2u_.begin + at, s.patch, sigv4::kSignatureHexLength);
        body_approved_ += chunk_held_;
        chunk_held_ = 0;
        break;
      }
      case sigv4::ChunkSigner::Kind::kDone:
        body_approved_ += chunk_held_;
        chunk_held_ = 0;
        chunks_done_ = true;
        if (!piece.empty()) {
          refuse_in_body(400, "IncompleteBody",
                         "bytes follow the final aws-chunked chunk inside the request body",
                         Cause::kBadRequest);
          return false;
        }
        return true;
      case sigv4::ChunkSigner::Kind::kError: return chunk_failed(s);
    }
  }
  return true;
}

bool RequestGate::chunk_failed(const sigv4::ChunkSigner::Step& s) {
  const bool mismatch = s.error == sigv4::Error::kChunkSignatureMismatch;
  refuse_in_body(mismatch ? 403 : 400, mismatch ? "SignatureDoesNotMatch" : "IncompleteBody",
                 mismatch
                     ? "an aws-chunked chunk signature does not match (chunk " +
                           std::to_string(chunks_->chunks() + 1) +
                           "): it must chain from the request's signature with the "
                           "token's secret"
                     : "the aws-chunked body is malformed or a chunk is larger than [proxy] "
                       "buffered_body_bytes_max (" +
                           std::to_string(settings_.limits.buffered_body_bytes_max) + " bytes)",
                 Cause::kBadRequest);
  return false;
}

// The client is told why its request stopped, and so is the audit trail: the request was
// forwarded (its head went upstream) and its outcome is the proxy's answer, not whatever the
// upstream makes of a body that stops short. It no longer waits for a response.
void RequestGate::refuse_in_body(int status, std::string_view code, std::string message,
                                 Cause cause) {
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [&](const InFlight& f) { return f.key == requests_; });
  if (it != in_flight_.end()) {
    InFlight f = std::move(*it);
    in_flight_.erase(it);
    if (f.event) {
      ResponseOutcome o;
      o.status = status;
      o.error_code.assign(code);
      publish_outcome(*f.event, o, bytes_in_of(f), (host_.now_ms() - f.forwarded_ms) * 1000,
                      message);
      spare_event_ = std::move(f.event);
    }
  }
  host_.refuse(status, code, std::move(message), cause);
}

// ---------------------------------------------------------------- deciding

bool RequestGate::on_request_head() {
  const http::RequestHead& h = parser_.head();
  // Host must name the CONNECT target: the client cannot reach another host through a tunnel
  // (and a later stage signs for exactly this host).
  std::optional<std::string_view> host = h.host();
  if (authority_.empty()) authority_ = target_.authority();  // once per tunnel
  bool host_ok = host && (http::equals_ignore_case(*host, authority_) ||
                          (target_.port == 443 && http::equals_ignore_case(*host, target_.host)));
  if (!host_ok) {
    host_.refuse(400, "HostMismatch",
                 "the Host header (" + std::string(host ? *host : "none") +
                     ") does not name the tunnel's target " + authority_,
                 Cause::kBadRequest);
    return false;
  }
  return decide_request({}, false);
}

bool RequestGate::decide_request(std::string_view body, bool body_given) {
  const http::RequestHead& h = parser_.head();
  StageRequest req;
  req.connect_host = target_.host;
  req.connect_port = target_.port;
  req.client = client_;
  req.tunnel_id = tunnel_id_;
  req.head = &h;
  req.head_bytes = std::string_view(head_).substr(0, parser_.head_bytes());
  req.body = body;
  req.body_given = body_given;
  req.request_number = body_given ? awaited_request_number_ : 0;
  StageDecision d = stage_.on_request(req);
  switch (d.kind) {
    case StageDecision::Kind::kNeedBody:
      // The stage refused what cannot be buffered (chunked, over the cap) itself.
      PAMPROXY_CHECK(h.body_kind() == http::BodyKind::kContentLength &&
                     h.content_length() <= d.body_bytes_max &&
                     h.content_length() + Plain::kBytes <= c2u_.capacity);
      awaited_request_number_ = d.request_number;
      need_body(h);
      return true;
    case StageDecision::Kind::kDeny:
      audit_decision(d.event, false);
      host_.answer_and_finish(d.bytes, Cause::kDenied);
      return false;
    case StageDecision::Kind::kForward: break;
  }
  return forward(d, req.head_bytes);
}

void RequestGate::need_body(const http::RequestHead& h) {
  body_needed_ = h.content_length();
  phase_ = Phase::kAwaitBody;
  c2u_.limit = c2u_.capacity;
  host_.window_grew();
  if (h.expect_continue()) {
    // The client waits for a 100 before the body the decision needs: give it ours.
    constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    std::span<uint8_t> room = u2c_.free_space();
    if (room.size() >= k100.size()) {
      std::memcpy(room.data(), k100.data(), k100.size());
      u2c_.end += k100.size();
    }
  }
}

bool RequestGate::forward(StageDecision& d, std::string_view head_bytes) {
  if (d.event != nullptr) {
    // One allocation per tunnel, reused by every request after the first. The copy is what the
    // audit ring gets and what the request's outcome is joined to.
    decided_event_ = spare_event_ ? std::move(spare_event_) : std::make_unique<audit::Event>();
    *decided_event_ = *d.event;
  }
  decided_chunks_ = std::move(d.chunks);
  decided_unsigned_chunks_ = d.unsigned_chunks;
  pending_head_ = d.bytes.empty() ? std::string(head_bytes) : std::move(d.bytes);
  switch (audit_decision(decided_event_.get(), true)) {
    case AuditStep::kGo: release_request(); return true;
    case AuditStep::kWait: phase_ = Phase::kAwaitAudit; return true;
    case AuditStep::kRefused: return false;
  }
  return false;
}

RequestGate::AuditStep RequestGate::audit_decision(const audit::Event* e, bool forwarding) {
  if (!audit_.enabled() || e == nullptr) return AuditStep::kGo;
  audit::Event* slot = audit_.claim();
  if (slot == nullptr) return audit_refused_or_held(forwarding);
  *slot = *e;
  audit_ticket_ = audit_.publish();
  if (!forwarding || !audit_.before_forward() || audit_.durable(audit_ticket_)) {
    return AuditStep::kGo;
  }
  audit_published_ = true;
  audit_wait_id_ = audit_.wait_durable(audit_ticket_, this);
  host_.arm_audit_timer(settings_.audit_hold_timeout_ms);
  return AuditStep::kWait;
}

// The audit ring is full: [audit] on_full decides.
RequestGate::AuditStep RequestGate::audit_refused_or_held(bool forwarding) {
  if (!forwarding) {
    // A denial goes out regardless (nothing reaches AWS); its record could not be kept.
    audit_.note_refusal();
    log::error("audit.event_refused")
        .kv("event", "request.denied")
        .kv("target", describe_target(target_))
        .kv("detail", "the worker's audit ring is full");
    return AuditStep::kGo;
  }
  if (settings_.audit_refuse_when_full || audit_.faulted()) {
    audit_.note_refusal();
    host_.answer_and_finish(error_response(503, "AuditUnavailable",
                                           "the audit log cannot record this request now "
                                           "([audit] on_full = \"refuse\"); nothing was sent to "
                                           "AWS, retry later",
                                           error_format_for_host(target_.host)),
                            Cause::kDenied);
    return AuditStep::kRefused;
  }
  audit_.note_hold();
  audit_published_ = false;
  audit_wait_id_ = audit_.wait_space(this);
  host_.arm_audit_timer(settings_.audit_hold_timeout_ms);
  return AuditStep::kWait;
}

void RequestGate::on_audit_ready() {
  audit_wait_id_ = 0;
  if (phase_ != Phase::kAwaitAudit || !host_.relaying()) return;
  if (!audit_published_) {  // the ring had no room: try again
    AuditStep step = audit_decision(decided_event_.get(), true);
    if (step != AuditStep::kGo) return;
  }
  release_request();
  host_.request_released();
}

void RequestGate::audit_timed_out() {
  stop_waiting();
  if (audit_published_ && decided_event_) {
    // Its request.forwarded will reach the log once the writer recovers: say it never left.
    ResponseOutcome o;
    o.status = 503;
    o.error_code = "AuditUnavailable";
    publish_outcome(*decided_event_, o, 0, 0,
                    "not sent to AWS: the audit log did not record the decision within "
                    "[audit] hold_timeout_ms");
  }
  host_.answer_and_finish(error_response(503, "AuditUnavailable",
                                         "the audit log did not record this request within "
                                         "[audit] hold_timeout_ms; nothing was sent to AWS, "
                                         "retry later",
                                         error_format_for_host(target_.host)),
                          Cause::kDenied);
}

void RequestGate::stop_waiting() {
  if (audit_wait_id_ != 0) audit_.cancel(audit_wait_id_);
  audit_wait_id_ = 0;
}

void RequestGate::release_request() {
  const http::RequestHead& h = parser_.head();
  head_out_ = std::move(pending_head_);
  pending_head_.clear();
  head_out_sent_ = 0;
  // The request before this one has passed whole: its count is final.
  if (!in_flight_.empty() && in_flight_.back().key == requests_) {
    in_flight_.back().bytes_in = payload_bytes_;
  }
  payload_bytes_ = 0;
  ++requests_;
  // The observer follows every response (where the next one starts, whether the connection may
  // be kept for another tunnel); outcomes are reported with the audit trail on.
  if (!h.keep_alive()) keep_alive_ = false;
  if (responses_.following()) {
    responses_.expect(requests_, h.method());
    if (audit_.enabled()) {
      in_flight_.push_back({requests_, host_.now_ms(), 0, std::move(decided_event_)});
    }
  }
  if (decided_event_) spare_event_ = std::move(decided_event_);
  chunks_ = std::move(decided_chunks_);
  chunk_base_ = 0;
  chunk_held_ = 0;
  chunks_done_ = false;
  unsigned_chunks_ = decided_unsigned_chunks_ && !chunks_;
  if (unsigned_chunks_) aws_chunked_.reset(/*signed_chunks=*/false, /*trailer=*/true);
  c2u_.limit = Plain::kBytes;
  phase_ = Phase::kBody;
  body_.reset(h.body_kind(), h.content_length());
}

// ---------------------------------------------------------------- sending

std::span<const uint8_t> RequestGate::next() {
  if (head_out_sent_ < head_out_.size()) {
    return {reinterpret_cast<const uint8_t*>(head_out_.data()) + head_out_sent_,
            head_out_.size() - head_out_sent_};
  }
  if (body_approved_ > 0) return c2u_.data().subspan(0, body_approved_);
  return {};
}

void RequestGate::took(size_t n) {
  if (head_out_sent_ < head_out_.size()) {
    head_out_sent_ += n;
    return;
  }
  c2u_.begin += n;
  body_approved_ -= n;
  chunk_base_ += n;
}

bool RequestGate::upstream_reusable() const {
  return keep_alive_ && responses_.reusable() && head_out_sent_ == head_out_.size() &&
         body_approved_ == 0 && phase_ != Phase::kBody;
}

bool RequestGate::body_unfinished() const {
  switch (phase_) {
    case Phase::kBody: return !body_.done();
    case Phase::kAwaitBody: return c2u_.used() < body_needed_;
    case Phase::kHead:
    case Phase::kAwaitAudit: break;
  }
  if (parser_.head_bytes() == 0) return false;  // no whole head yet (or between requests)
  const http::RequestHead& h = parser_.head();
  switch (h.body_kind()) {
    case http::BodyKind::kNone: return false;
    case http::BodyKind::kContentLength: return c2u_.used() < h.content_length();
    case http::BodyKind::kChunked:  // where it ends is not known before it is framed
    case http::BodyKind::kUntilClose: return true;
  }
  return true;
}

void RequestGate::release_idle() {
  spare_event_.reset();
  if (phase_ == Phase::kHead && head_.empty()) {  // between requests: nothing of a head is held
    std::string().swap(head_);
    parser_.release_memory();
  }
  responses_.release_idle();
  if (head_out_sent_ == head_out_.size()) {
    std::string().swap(head_out_);
    head_out_sent_ = 0;
  }
}

// ---------------------------------------------------------------- responses

void RequestGate::observe_response(size_t u2c_added) {
  if (u2c_added == 0 || !responses_.following()) return;
  std::span<const uint8_t> fresh = u2c_.data().last(u2c_added);
  responses_.feed({reinterpret_cast<const char*>(fresh.data()), fresh.size()}, &outcomes_);
  if (!outcomes_.empty()) report_outcomes();
}

void RequestGate::upstream_gone() {
  if (in_flight_.empty()) return;
  responses_.finish(&outcomes_);
  report_outcomes();
}

void RequestGate::report_outcomes() {
  for (ResponseOutcome& o : outcomes_) {
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&](const InFlight& f) { return f.key == o.key; });
    if (it == in_flight_.end()) continue;
    InFlight f = std::move(*it);
    in_flight_.erase(it);
    if (!f.event) continue;
    publish_outcome(*f.event, o, bytes_in_of(f), (host_.now_ms() - f.forwarded_ms) * 1000,
                    o.complete ? "" : "the response ended early or could not be followed");
    spare_event_ = std::move(f.event);
  }
  outcomes_.clear();
}

void RequestGate::publish_outcome(const audit::Event& decided, const ResponseOutcome& o,
                                  uint64_t bytes_in, uint64_t duration_us,
                                  std::string_view detail) {
  audit::Event* e = claim_event(audit_, audit::EventType::kRequestCompleted, target_);
  if (e == nullptr) return;
  // The request's identity as decided (user, token, record, operation, our request id), then
  // what came back.
  *e = decided;
  e->type = audit::EventType::kRequestCompleted;
  e->time_unix_ns = absl::ToUnixNanos(absl::Now());
  e->status = o.status;
  e->aws_request_id.assign(o.aws_request_id);
  e->error_code.assign(o.error_code);
  e->deny_reason.clear();
  e->detail.assign(detail);
  e->bytes_in = bytes_in;
  e->bytes_out = o.body_bytes;
  e->duration_us = duration_us;
  audit_.publish();
}

}  // namespace pamproxy::proxy
