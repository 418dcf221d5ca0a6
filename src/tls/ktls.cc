// kTLS detection, decision, key installation and control-record reads (see
// include/pamproxy/tls/ktls.h).

#include "pamproxy/tls/ktls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pamproxy/base/log.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace pamproxy::tls {
namespace {

constexpr char kAvailableUlpPath[] = "/proc/sys/net/ipv4/tcp_available_ulp";

// Hand-overs that failed because the transmit keys did not seal OpenSSL's probe record the same.
std::atomic<uint64_t> g_handoffs_unproven{0};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Tries the ULP on a real connected TCP socket: the only test that says the kernel will take it.
bool try_attach_loopback(std::string* detail) {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0 || client.get() < 0) {
    *detail = absl::StrCat("socket: ", std::strerror(errno));
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *detail = absl::StrCat("loopback socket pair: ", std::strerror(errno));
    return false;
  }
  Fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (::setsockopt(client.get(), SOL_TCP, TCP_ULP, "tls", 3) != 0) {
    int err = errno;
    *detail = absl::StrCat("setsockopt(TCP_ULP, \"tls\"): ", std::strerror(err),
                           err == ENOENT ? " (no tls module in this kernel)" : "");
    return false;
  }
  *detail = "setsockopt(TCP_ULP, \"tls\") succeeded on a loopback socket";
  return true;
}

template <typename Info>
void fill_common(Info* info, const TrafficKeys& keys, uint16_t cipher_type) {
  info->info.version = keys.version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION;
  info->info.cipher_type = cipher_type;
  for (int i = 0; i < 8; ++i) {
    info->rec_seq[i] = static_cast<unsigned char>(keys.sequence >> (56 - 8 * i));
  }
}

template <typename Info>
void fill_gcm(Info* info, const TrafficKeys& keys, uint16_t cipher_type) {
  fill_common(info, keys, cipher_type);
  std::memcpy(info->key, keys.key, sizeof(info->key));
  if (keys.version == TLS1_3_VERSION) {
    // nonce = static IV xor sequence: the kernel keeps salt = IV[0..4) and iv = IV[4..12).
    std::memcpy(info->salt, keys.iv, 4);
    std::memcpy(info->iv, keys.iv + 4, 8);
  } else {
    // TLS 1.2: salt = implicit IV; iv = the first explicit nonce, which only has to be unique
    // per key: the sequence number. (OpenSSL 3.0's own records start theirs at a random value
    // and count up, so the two meet only by a chance of about records^2 / 2^64.)
    std::memcpy(info->salt, keys.iv, 4);
    std::memcpy(info->iv, info->rec_seq, 8);
  }
}

}  // namespace

KtlsProbe probe_ktls() {
  return probe_ktls(kAvailableUlpPath);
}

KtlsProbe probe_ktls(const std::string& available_ulp_path) {
  KtlsProbe probe;
  std::ifstream in(available_ulp_path);
  std::string listed;
  if (in) {
    std::getline(in, listed);
    for (absl::string_view ulp : absl::StrSplit(listed, ' ', absl::SkipEmpty())) {
      if (ulp == "tls") probe.ulp_listed = true;
    }
  }
  std::string attach_detail;
  probe.ulp_attachable = try_attach_loopback(&attach_detail);
  probe.detail =
      absl::StrCat(available_ulp_path, ": \"", in ? listed : "unreadable", "\"; ", attach_detail);
  return probe;
}

absl::StatusOr<KtlsDecision> decide_ktls(config::Ktls mode, const KtlsProbe& probe) {
  KtlsDecision d;
  const char* mode_name = "auto";
  switch (mode) {
    case config::Ktls::kOff:
      mode_name = "off";
      d.reason = "off: engine.ktls = \"off\"; user-space TLS";
      break;
    case config::Ktls::kAuto:
      d.enabled = probe.available();
      d.reason = d.enabled ? "auto: tls ULP available; kTLS after each handshake"
                           : absl::StrCat("auto: tls ULP unavailable (", probe.detail,
                                          "); user-space TLS");
      break;
    case config::Ktls::kRequired:
      mode_name = "required";
      if (!probe.available()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "engine.ktls = \"required\" but this kernel offers no tls ULP (", probe.detail,
            "): load the module (modprobe tls; for a hardened service list it in "
            "/etc/modules-load.d/tls.conf) or set engine.ktls = \"auto\""));
      }
      d.enabled = true;
      d.reason = "required: tls ULP available; kTLS after each handshake";
      break;
  }
  log::info("tls.ktls")
      .kv("mode", mode_name)
      .kv("path", d.enabled ? "ktls" : "userspace")
      .kv("reason", d.reason);
  return d;
}

KtlsCryptoInfo::~KtlsCryptoInfo() {
  OPENSSL_cleanse(bytes, sizeof(bytes));
}

absl::StatusOr<KtlsCryptoInfo> to_crypto_info(const TrafficKeys& keys) {
  if (keys.version != TLS1_2_VERSION && keys.version != TLS1_3_VERSION) {
    return absl::InvalidArgumentError("kTLS takes TLS 1.2 or 1.3 only");
  }
  KtlsCryptoInfo out;
  bool chacha = keys.cipher_id == 0x1303 || keys.cipher_id == 0xCCA8 || keys.cipher_id == 0xCCA9;
  if (chacha) {
    tls12_crypto_info_chacha20_poly1305 info{};
    fill_common(&info, keys, TLS_CIPHER_CHACHA20_POLY1305);
    if (keys.key_len != 32 || keys.iv_len != 12) return absl::InternalError("bad ChaCha keys");
    std::memcpy(info.key, keys.key, 32);
    std::memcpy(info.iv, keys.iv, 12);
    static_assert(sizeof(info) <= sizeof(out.bytes));
    std::memcpy(out.bytes, &info, sizeof(info));
    out.size = sizeof(info);
    OPENSSL_cleanse(&info, sizeof(info));
  } else if (keys.key_len == 16) {
    tls12_crypto_info_aes_gcm_128 info{};
    fill_gcm(&info, keys, TLS_CIPHER_AES_GCM_128);
    static_assert(sizeof(info) <= sizeof(out.bytes));
    std::memcpy(out.bytes, &info, sizeof(info));
    out.size = sizeof(info);
    OPENSSL_cleanse(&info, sizeof(info));
  } else if (keys.key_len == 32) {
    tls12_crypto_info_aes_gcm_256 info{};
    fill_gcm(&info, keys, TLS_CIPHER_AES_GCM_256);
    static_assert(sizeof(info) <= sizeof(out.bytes));
    std::memcpy(out.bytes, &info, sizeof(info));
    out.size = sizeof(info);
    OPENSSL_cleanse(&info, sizeof(info));
  } else {
    return absl::InvalidArgumentError("no kTLS cipher for these keys");
  }
  return out;
}

absl::Status ktls_attach(int fd) {
  if (::setsockopt(fd, SOL_TCP, TCP_ULP, "tls", 3) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("setsockopt(TCP_ULP, \"tls\"): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ktls_install(int fd, Direction direction, const KtlsCryptoInfo& info) {
  int opt = direction == Direction::kTransmit ? TLS_TX : TLS_RX;
  if (::setsockopt(fd, SOL_TLS, opt, info.bytes, static_cast<socklen_t>(info.size)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "setsockopt(SOL_TLS, ", direction == Direction::kTransmit ? "TLS_TX" : "TLS_RX",
        "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

KtlsResult ktls_offload(int fd, Session& session) {
  KtlsResult result;
  if (session.has_unread_input() || session.has_pending_output()) {
    result.detail = "the session still holds unsent or unread bytes";
    return result;
  }
  // Both directions' keys first: nothing touches the socket unless both can go to the kernel.
  absl::StatusOr<TrafficKeys> keys[2];
  absl::StatusOr<KtlsCryptoInfo> infos[2];
  const Direction directions[2] = {Direction::kReceive, Direction::kTransmit};
  for (int i = 0; i < 2; ++i) {
    keys[i] = session.traffic_keys(directions[i]);
    infos[i] =
        keys[i].ok() ? to_crypto_info(*keys[i]) : absl::StatusOr<KtlsCryptoInfo>(keys[i].status());
    if (!infos[i].ok()) {
      result.detail = std::string(infos[i].status().message());
      return result;
    }
  }
  // The ULP alone changes nothing (the socket passes bytes through until keys are installed).
  // RX goes first: if it is refused, the connection is still wholly in user space.
  absl::Status s = ktls_attach(fd);
  if (!s.ok() && errno == ENOTCONN) result.connection_gone = true;
  if (s.ok()) s = ktls_install(fd, Direction::kReceive, *infos[0]);
  if (!s.ok()) {
    result.detail = std::string(s.message());
    return result;
  }
  result.rx = true;
  // The transmit record number is proven only now that the kernel has taken RX: the probe puts
  // OpenSSL a record ahead, so a connection that stays in user space must not have seen it.
  if (!session.transmit_keys_proven(*keys[1])) {
    g_handoffs_unproven.fetch_add(1, std::memory_order_relaxed);
    result.detail = absl::StrCat(
        "the transmit keys counted for the kernel (next record ", keys[1]->sequence,
        ") did not seal OpenSSL's probe record the same: the connection is closed rather than "
        "risk two records under one nonce");
    return result;
  }
  s = ktls_install(fd, Direction::kTransmit, *infos[1]);
  if (!s.ok()) {
    result.detail = std::string(s.message());
    return result;
  }
  result.tx = true;
  return result;
}

uint64_t ktls_handoffs_unproven() {
  return g_handoffs_unproven.load(std::memory_order_relaxed);
}

bool ktls_at_eof(int fd) {
  uint8_t byte;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(unsigned char))];
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT);
  // Data or a control record (> 0), or nothing yet (EAGAIN): still open.
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return false;
  // 0 (or an error) again: the end only if TCP says the peer is gone (its FIN came, or the
  // connection is reset); an established connection has more to come.
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return true;
  return info.tcpi_state != TCP_ESTABLISHED;
}

bool ktls_send_close_notify(int fd) {
  // An alert record (type 21): level warning (1), description close_notify (0).
  uint8_t body[2] = {1, 0};
  iovec iov{body, sizeof(body)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(unsigned char))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_TLS;
  c->cmsg_type = TLS_SET_RECORD_TYPE;
  c->cmsg_len = CMSG_LEN(sizeof(unsigned char));
  *CMSG_DATA(c) = 21;
  return ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(body));
}

KtlsRead ktls_recv(int fd, std::span<uint8_t> buffer) {
  KtlsRead out;
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(unsigned char))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  out.bytes = ::recvmsg(fd, &msg, 0);
  if (out.bytes <= 0) return out;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE) {
      out.record_type = *reinterpret_cast<unsigned char*>(CMSG_DATA(c));
    }
  }
  return out;
}

bool is_close_notify(uint8_t record_type, std::span<const uint8_t> body) {
  return record_type == 21 && body.size() == 2 && body[1] == 0;
}

ControlAction classify_control_record(uint8_t record_type, std::span<const uint8_t> body) {
  constexpr uint8_t kApplicationData = 23;
  constexpr uint8_t kHandshake = 22;
  constexpr uint8_t kNewSessionTicket = 4;
  if (record_type == kApplicationData) return ControlAction::kData;
  // A record may carry several handshake messages; drop it only when every one is a ticket
  // (type 1 byte, length 3 bytes, body).
  if (record_type != kHandshake || body.empty()) return ControlAction::kClose;
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 4 || body[at] != kNewSessionTicket) return ControlAction::kClose;
    size_t len = size_t{body[at + 1]} << 16 | size_t{body[at + 2]} << 8 | body[at + 3];
    if (len > body.size() - at - 4) return ControlAction::kClose;
    at += 4 + len;
  }
  return ControlAction::kDrop;
}

}  // namespace pamproxy::tls
