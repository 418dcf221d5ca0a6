// One leg of a tunnel (see leg.h).

#include "leg.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pamproxy/engine/worker.h"
#include "pamproxy/tls/ktls.h"

namespace pamproxy::proxy {

uint8_t* Outbox::place(uint8_t* p) {
  for (uint8_t*& b : buf) {
    b = p;
    p += kBytes;
  }
  return p;
}

bool place_relay_buffers(RelayMemory& memory, size_t body_bytes_max, Outbox& client_out,
                         Outbox& upstream_out, Plain& u2c, Plain& c2u) {
  // c2u can hold a whole buffered body (plus what follows it) besides its usual window.
  c2u.capacity = std::max<size_t>(Plain::kBytes, body_bytes_max + Plain::kBytes);
  if (!memory.map(4 * Outbox::kBytes + Plain::kBytes + c2u.capacity)) return false;
  uint8_t* p = upstream_out.place(client_out.place(memory.base));
  u2c.buf = p;
  c2u.buf = p + Plain::kBytes;
  return true;
}

void Backlog::append(std::span<const uint8_t> more) {
  if (head > 0 && head >= bytes.size() / 2) {
    bytes.erase(0, head);
    head = 0;
  }
  bytes.append(reinterpret_cast<const char*>(more.data()), more.size());
}

void Backlog::consume(size_t n) {
  head += n;
  if (head == bytes.size()) {
    bytes.clear();
    head = 0;
  }
}

void Backlog::release() {
  if (empty()) {
    std::string().swap(bytes);
    head = 0;
  }
}

std::span<uint8_t> Plain::free_space() {
  // A grown window (a signed chunk being held) compacts only when that moves no more bytes than
  // have left since (amortized: a byte is moved at most once on average), or when it cannot grow
  // further; the usual window compacts whenever it is full.
  const bool grown = limit > kBytes && limit < capacity;
  if (begin == end) {
    begin = end = 0;
  } else if (begin > 0 && end >= limit && (!grown || begin >= end - begin)) {
    std::memmove(buf, buf + begin, end - begin);
    end -= begin;
    begin = 0;
  }
  if (end >= limit) return {};
  return {buf + end, limit - end};
}

std::string describe_target(const ConnectTarget& target) {
  return target.host.empty() ? std::string("-") : target.authority();
}

log::Line& tunnel_fields(log::Line&& line, const TunnelContext& context) {
  return line.kv("worker", context.worker.index())
      .kv("client", context.peer.to_string())
      .kv("target", describe_target(context.target));
}

// ---------------------------------------------------------------- the socket

void Leg::adopt(int fd) {
  stream_.adopt(fd);
  closed_ = false;
}

void Leg::connect(const net::SocketAddress& address) {
  sockaddr_storage ss{};
  socklen_t len = address.to_sockaddr(&ss);
  closed_ = false;
  stream_.connect(reinterpret_cast<sockaddr*>(&ss), len);
}

void Leg::adopt_kept(int fd, std::unique_ptr<tls::Session> session, bool ktls) {
  session_ = std::move(session);
  ktls_ = ktls;
  closed_ = false;
  stream_.adopt(fd);
}

IdleUpstream Leg::release(const net::SocketAddress& address) {
  closed_ = true;
  IdleUpstream c;
  c.fd = stream_.release();
  c.session = std::move(session_);
  c.session->release_buffers();  // idle: its record buffers come back with the next bytes
  c.ktls = ktls_;
  c.address = address;
  return c;
}

void Leg::on_data(engine::Stream&, std::span<const uint8_t> bytes) {
  bytes_in_.add(bytes.size());
  if (parking_) {
    abandon_parking();  // not idle after all
    return;
  }
  events_.on_data(bytes);
}

void Leg::abandon_parking() {
  parking_ = false;
  stream_.close();
}

void Leg::on_eof(engine::Stream&) {
  if (parking_) {
    abandon_parking();
    return;
  }
  if (ktls_ && stream_.open() && !tls::ktls_at_eof(stream_.fd())) {
    context_.metrics.ktls_spurious_eofs.add();
    events_.on_wake();  // receiving resumes there
    return;
  }
  events_.on_eof();
}

void Leg::on_error(engine::Stream&, int error) {
  if (parking_) {
    abandon_parking();
    return;
  }
  if (error == EIO && ktls_ && stream_.receive_stopped()) {
    on_control_record();
    return;
  }
  events_.on_failed(error);
}

void Leg::on_sent(engine::Stream&) {
  outbox_.busy = false;
  events_.on_sent();
}

void Leg::on_closed(engine::Stream&) {
  closed_ = true;
  events_.on_closed();
}

// A kTLS receive stopped at a control record: read it with its type and act on it.
void Leg::on_control_record() {
  uint8_t record[16 * 1024 + 256];  // one record's plaintext at most
  tls::KtlsRead r = tls::ktls_recv(stream_.fd(), record);
  if (r.bytes == 0) {
    on_eof(stream_);
    return;
  }
  if (r.bytes < 0) {  // not a control record after all: the receive failed
    events_.on_failed(errno == EAGAIN ? EIO : errno);
    return;
  }
  std::span<const uint8_t> body(record, static_cast<size_t>(r.bytes));
  switch (tls::classify_control_record(r.record_type, body)) {
    case tls::ControlAction::kData: on_data(stream_, body); return;
    case tls::ControlAction::kDrop:  // a session ticket: resumption stays with user-space legs
      context_.metrics.ktls_control_records.add();
      events_.on_wake();  // receiving resumes there
      return;
    case tls::ControlAction::kClose: break;
  }
  context_.metrics.ktls_control_records.add();
  if (tls::is_close_notify(r.record_type, body)) {
    on_eof(stream_);
    return;
  }
  log::info("tunnel.ktls_control")
      .kv("worker", context_.worker.index())
      .kv("target", describe_target(context_.target))
      .kv("side", name())
      .kv("record_type", static_cast<int>(r.record_type))
      .kv("detail", r.record_type == 21 ? "alert" : "a handshake message the kernel cannot follow");
  events_.on_fatal_record();
}

// ---------------------------------------------------------------- the plain phase

ProxyHeaderStatus Leg::read_proxy_header(std::span<const uint8_t> bytes, ProxyHeader* header,
                                         std::string* rest) {
  // A header is at most kProxyHeaderBytesMax.
  size_t take = std::min(bytes.size(), kProxyHeaderBytesMax - head_.size());
  head_.append(reinterpret_cast<const char*>(bytes.data()), take);
  bytes = bytes.subspan(take);
  ProxyHeaderStatus st =
      parse_proxy_v2({reinterpret_cast<const uint8_t*>(head_.data()), head_.size()}, header);
  if (st == ProxyHeaderStatus::kNeedMore) {
    if (head_.size() < kProxyHeaderBytesMax) return st;
    st = ProxyHeaderStatus::kError;
    header->error = "PROXY protocol header too long";
  }
  if (st == ProxyHeaderStatus::kError) {
    log::info("tunnel.proxy_header_refused")
        .kv("worker", context_.worker.index())
        .kv("peer", context_.peer.to_string())
        .kv("detail", header->error);
    return st;
  }
  *rest = head_.substr(header->header_bytes);
  head_.clear();
  rest->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return st;
}

ConnectResult Leg::read_connect_head(std::span<const uint8_t> bytes, size_t limit) {
  // Never hold more than the limit plus one receive.
  size_t take = std::min(bytes.size(), limit + 1 - std::min(head_.size(), limit + 1));
  head_.append(reinterpret_cast<const char*>(bytes.data()), take);
  ConnectResult r = parse_connect(head_, limit);
  if (r.status == ConnectParse::kComplete) {
    if (head_.size() > r.head_bytes) {
      backlog_.append({reinterpret_cast<const uint8_t*>(head_.data()) + r.head_bytes,
                       head_.size() - r.head_bytes});
    }
    head_.clear();
  }
  return r;
}

bool Leg::hold_early(std::span<const uint8_t> bytes, size_t max) {
  if (backlog_.size() + bytes.size() > max) return false;
  backlog_.append(bytes);
  stream_.pause_receiving();
  return true;
}

void Leg::send_plain(std::string_view reply) {
  head_.assign(reply);
  stream_.send({reinterpret_cast<const uint8_t*>(head_.data()), head_.size()});
}

// ---------------------------------------------------------------- TLS

bool Leg::start_server(const tls::ServerContext& context, std::string_view expected_host) {
  auto s = tls::Session::server(context);
  if (!s.ok()) {
    log::error("tunnel.tls_setup_failed").kv("detail", std::string(s.status().message()));
    return false;
  }
  session_ = std::move(*s);
  session_->set_expected_host(expected_host);
  head_.clear();
  head_.shrink_to_fit();
  return true;
}

absl::Status Leg::start_client(tls::ClientContext& context, std::string_view host, uint16_t port) {
  auto s = tls::Session::client(context, host, port);
  if (!s.ok()) return s.status();
  session_ = std::move(*s);
  outbox_.commit(session_->start(outbox_.free_space()));
  stream_.start_receiving();
  flush();
  return absl::OkStatus();
}

Cause Leg::tls_cause() const {
  const bool client = side_ == Side::kClient;
  switch (session_->failure()) {
    case tls::Failure::kNoSni:
    case tls::Failure::kSniMismatch:
    case tls::Failure::kBadSni: return Cause::kSniMismatch;
    case tls::Failure::kUntrustedCertificate:
    case tls::Failure::kHostnameMismatch: return Cause::kUpstreamUntrusted;
    case tls::Failure::kUnexpectedEof: return client ? Cause::kClientReset : Cause::kUpstreamReset;
    default: return client ? Cause::kClientTlsFailed : Cause::kUpstreamTlsFailed;
  }
}

Cause Leg::tls_failed() const {
  Cause cause = tls_cause();
  logged(log::info("tunnel.tls_failed"))
      .kv("side", name())
      .kv("failure", tls::failure_name(session_->failure()))
      .kv("detail", session_->failure_detail())
      .kv("cause", cause_name(cause));
  return cause;
}

// ---------------------------------------------------------------- the data path

size_t Leg::decrypt(std::span<const uint8_t> bytes, Plain& into, size_t* added) {
  tls::Session* s = session_.get();
  if (s == nullptr) return 0;
  if (ktls_) {
    // The kernel decrypted these already.
    std::span<uint8_t> room = into.free_space();
    size_t n = std::min(room.size(), bytes.size());
    if (n == 0) return 0;
    std::memcpy(room.data(), bytes.data(), n);
    into.end += n;
    *added += n;
    return n;
  }
  size_t off = 0;
  for (int guard = 0; guard < 256; ++guard) {
    if (s->state() == tls::State::kError || s->state() == tls::State::kClosed) break;
    if (off == bytes.size() && !s->has_buffered_plaintext()) break;
    std::span<uint8_t> out = outbox_.free_space();
    std::span<uint8_t> room = into.free_space();
    if (out.size() < tls::Session::kReceiveOutputMin || room.empty()) break;
    tls::IoResult r = s->receive(bytes.subspan(off), room, out);
    off += r.cipher_consumed;
    into.end += r.plain_bytes;
    *added += r.plain_bytes;
    outbox_.commit(r.cipher_bytes);
    if (r.cipher_consumed == 0 && r.plain_bytes == 0 && r.cipher_bytes == 0) break;
  }
  return off;
}

size_t Leg::receive(std::span<const uint8_t> bytes, Plain& into) {
  size_t used = 0;
  size_t added = 0;
  if (backlog_.empty()) used = decrypt(bytes, into, &added);
  if (used < bytes.size()) {
    backlog_.append(bytes.subspan(used));
    stream_.pause_receiving();
  }
  return added;
}

size_t Leg::drain_backlog(Plain& into) {
  if (backlog_.empty() && (session_ == nullptr || !session_->has_buffered_plaintext())) return 0;
  size_t added = 0;
  backlog_.consume(decrypt(backlog_.data(), into, &added));
  deliver_eof_when_drained();
  return added;
}

void Leg::receive_eof() {
  if (session_ == nullptr) return;
  eof_pending_ = true;
  if (session_->state() != tls::State::kEstablished) {
    eof_pending_ = false;
    session_->receive_eof();
    return;
  }
  deliver_eof_when_drained();
}

void Leg::deliver_eof_when_drained() {
  if (!eof_pending_ || !backlog_.empty() || session_->has_buffered_plaintext()) return;
  eof_pending_ = false;
  session_->receive_eof();
}

tls::IoResult Leg::seal(std::span<const uint8_t> plain, std::span<uint8_t> out) {
  if (!ktls_) return session_->send(plain, out);
  tls::IoResult r;
  r.plain_bytes = std::min(plain.size(), out.size());
  r.cipher_bytes = r.plain_bytes;
  std::memcpy(out.data(), plain.data(), r.plain_bytes);
  return r;
}

void Leg::seal_from(SealSource& source, bool flush_when_empty) {
  tls::Session& session = *session_;
  for (int guard = 0; guard < 64; ++guard) {
    if (!flush_when_empty && source.next().empty()) return;
    std::span<uint8_t> out = outbox_.free_space();
    if (!ktls_ && session.has_pending_output()) {
      outbox_.commit(session.flush(out));
      if (session.has_pending_output()) return;
      out = outbox_.free_space();
    }
    if (out.size() <= (ktls_ ? 0 : tls::Session::kRecordOverheadMax)) return;
    std::span<const uint8_t> plain = source.next();
    if (plain.empty()) return;
    tls::IoResult r = seal(plain, out);
    outbox_.commit(r.cipher_bytes);
    source.took(r.plain_bytes);
    if (r.plain_bytes == 0) return;
  }
}

void Leg::flush() {
  Outbox& box = outbox_;
  if (box.busy || box.len[box.filling] == 0 || !stream_.open()) return;
  int sending = box.filling;
  box.filling = 1 - box.filling;
  box.len[box.filling] = 0;
  box.busy = true;
  stream_.send({box.buf[sending], box.len[sending]});
}

bool Leg::resume_receiving(const Plain& into, size_t below) {
  if (!stream_.receiving() && !offload_pending_ && backlog_.empty() && into.used() < below) {
    stream_.start_receiving();
  }
  return (!backlog_.empty() || session_->has_buffered_plaintext()) && into.has_room();
}

void Leg::send_close_notify() {
  if (!established()) return;
  if (ktls_) {
    tls::ktls_send_close_notify(stream_.fd());
  } else {
    outbox_.commit(session_->shutdown(outbox_.free_space()));
    flush();
  }
}

size_t Leg::discard_received() {
  const size_t dropped = backlog_.size();
  backlog_.consume(dropped);
  backlog_.release();
  stream_.start_receiving();
  return dropped;
}

bool Leg::quiet() const {
  return outbox_.empty() && backlog_.empty() && !session_->has_buffered_plaintext() &&
         !session_->has_pending_output();
}

void Leg::release_idle() {
  session_->release_buffers();
  backlog_.release();
}

bool Leg::idle_reusable() const {
  if (!stream_.open() || !outbox_.empty() || !backlog_.empty()) return false;
  return established() &&
         (ktls_ || (!session_->has_unread_input() && !session_->has_pending_output()));
}

// ---------------------------------------------------------------- kernel TLS

Leg::Offload Leg::settle() {
  if (!offload_pending_) return Offload::kNotPending;
  // Wait for the last receive to land (on_receive_stopped), the outbox to go (on_sent), and what
  // was read ahead (a client's first request, sent with its Finished) to be decrypted and taken:
  // the relay drains it as for any leg.
  if (!stream_.receive_stopped() || !outbox_.empty() || session_->has_pending_output() ||
      !backlog_.empty() || session_->has_buffered_plaintext()) {
    return Offload::kWaiting;
  }
  offload_pending_ = false;
  std::string why;
  if (session_->has_unread_input()) {
    why = "part of a record past the handshake was already read in user space";
  } else {
    tls::KtlsResult r = tls::ktls_offload(stream_.fd(), *session_);
    if (r.rx && !r.tx) {
      log::error("tunnel.ktls_failed")
          .kv("worker", context_.worker.index())
          .kv("leg", name())
          .kv("detail", r.detail);
      return Offload::kFailed;
    }
    ktls_ = r.tx;
    why = r.detail;
    if (r.connection_gone) return Offload::kGone;  // the peer left: nothing fell back
  }
  if (!ktls_) {
    context_.metrics.tls_ktls_fallbacks.add();
    logged(log::info("tunnel.ktls_fallback")).kv("leg", name()).kv("detail", why);
  }
  return Offload::kSettled;
}

void announce_relay(const Leg& client, const Leg& upstream,
                    const net::SocketAddress& upstream_address, bool upstream_reused,
                    bool legs_settled) {
  const TunnelContext& x = client.context();
  const bool kc = client.ktls();
  const bool ku = upstream.ktls();
  const char* path = kc && ku ? "ktls" : kc ? "ktls-client" : ku ? "ktls-upstream" : "userspace";
  if (kc || ku) {
    x.metrics.tls_ktls.add();
  } else {
    x.metrics.tls_userspace.add();
  }
  const tls::Session& c = *client.session();
  const tls::Session& u = *upstream.session();
  log::info("tunnel.established")
      .kv("worker", x.worker.index())
      .kv("client", x.peer.to_string())
      .kv("target", x.target.authority())
      .kv("upstream", upstream_address.to_string())
      .kv("client_tls", c.version_name())
      .kv("client_cipher", c.cipher_name())
      .kv("client_resumed", c.resumed())
      .kv("client_handshake", c.own_handshake() ? "pamproxy" : "openssl")
      .kv("upstream_tls", u.version_name())
      .kv("upstream_resumed", u.resumed())
      .kv("upstream_reused", upstream_reused)
      .kv("tls_path", path)
      .kv("client_records", kc                ? "kernel"
                            : c.own_records() ? "pamproxy"
                                              : "openssl")
      .kv("legs_settled", legs_settled);
}

}  // namespace pamproxy::proxy
