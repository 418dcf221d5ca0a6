// Fuzz target: pamproxy's own TLS 1.3 record layer (src/tls/own_path.cc, records.cc) and
// OpenSSL's, fed the same record stream under the same keys, must agree.
//
// Keyed alike: a client (OpenSSL, through Session) and a server Session with own_records finish
// a real handshake; the server then switches to our record layer with the traffic secret and
// record numbers it captured from OpenSSL (src/tls/secrets.cc), exactly as in production. The
// server's SSL object is left keyed where the handshake left it, so after our layer has taken
// the stream, the very same bytes go to that SSL object through memory BIOs and SSL_read: two
// record layers, one key, one sequence number, one wire.
//
// The wire is what the fuzzer input describes: records sealed here under the client's
// application key (any inner type, content, padding and length, including empty, over 2^14 and
// over the ciphertext limit), KeyUpdates after which the sender moves to its next key as a real
// peer would, records with a bit flipped (bad MAC, or a broken header), and raw bytes. It
// arrives in slices of a size the input picks, with a plaintext buffer of a size the input picks.
//
// Compared:
//   - the application bytes delivered, in order, byte for byte;
//   - the outcome: still open, closed by close_notify, or refused;
//   - whether a refusal was the peer's fatal alert, and otherwise the fatal alert each sends
//     (ours read back by the client's OpenSSL, OpenSSL's from its message callback).
// Except where the two part on purpose, each with its reason: `refusals_differ` (how many
// records that carry nothing each takes in a row; the legacy version field) and `alerts_differ`
// (three alerts where ours is the one RFC 8446 names) below.
// Deliberately not compared:
//   - how the bytes are cut: OpenSSL hands out one record per SSL_read and ours fills the
//     buffer across records; only the concatenation counts;
//   - when within the stream a refusal comes once both refuse (ours may refuse an impossible
//     length on the header, OpenSSL after more bytes), and what either sends besides its last
//     alert (ours answers an update_requested KeyUpdate under its own key, OpenSSL when it next
//     writes);
//   - the failure texts and Failure codes (Session's own vocabulary; session_test covers them).
//
// Input: byte 0 picks the slice size, byte 1 the suite and the plaintext room; then operations,
// each [op][length: 2 bytes][content]:
//   op & 0x80: the content as raw bytes on the wire;
//   op & 0x40: the content is one byte repeated `length` times (large records from small inputs);
//   else op & 0x07 picks a sealed record: 0-1 application data, 2 alert, 3 handshake, 4 a
//   KeyUpdate (content[0] & 1: update_requested), 5 the content as the whole inner plaintext
//   (its last non-zero byte is the type), 6 inner type content[0] and the rest as content, 7 a
//   bit of the last record flipped at content[0..1]; op >> 3 & 7 picks zero padding after the
//   type (none, 1, 2, 15, 255, 256, 4096, up to the ciphertext limit).

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/leaf_cache.h"
#include "pamproxy/tls/session.h"
#include "src/tls/secrets.h"

namespace {

using namespace pamproxy::tls;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "tls_record_differential: %s\n", what);
  std::abort();
}

constexpr size_t kMaxCiphertext = 16384 + 256;  // RFC 8446 5.2
constexpr size_t kTag = 16;

// ---------------------------------------------------------------- the suites and the secret

struct Suite {
  uint16_t id;
  const char* name;
  const char* digest;
  const char* cipher;
  size_t key_len;
  size_t secret_len;
};
constexpr Suite kSuites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", "SHA256", "AES-128-GCM", 16, 32},
    {0x1302, "TLS_AES_256_GCM_SHA384", "SHA384", "AES-256-GCM", 32, 48},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", "SHA256", "ChaCha20-Poly1305", 32, 32},
};

// The client's application traffic secret, from the client context's key log.
uint8_t g_client_secret[48];
size_t g_client_secret_len = 0;

void keylog(const SSL*, const char* line) {
  static constexpr char kLabel[] = "CLIENT_TRAFFIC_SECRET_0 ";
  if (std::strncmp(line, kLabel, sizeof(kLabel) - 1) != 0) return;
  const char* hex = std::strchr(line + sizeof(kLabel) - 1, ' ');
  if (hex == nullptr) return;
  ++hex;
  const size_t n = std::strlen(hex) / 2;
  if (n > sizeof(g_client_secret)) return;
  for (size_t i = 0; i < n; ++i) {
    unsigned v = 0;
    check(std::sscanf(hex + 2 * i, "%2x", &v) == 1, "key log hex");
    g_client_secret[i] = static_cast<uint8_t>(v);
  }
  g_client_secret_len = n;
}

// The last alert a message callback saw in one direction (written or read): [level, desc].
struct AlertSeen {
  int write_p = -1;
  int level = -1;
  int description = -1;
};

void note_alert(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
  auto* seen = static_cast<AlertSeen*>(arg);
  if (content_type != SSL3_RT_ALERT || len != 2 || write_p != seen->write_p) return;
  seen->level = static_cast<const uint8_t*>(buf)[0];
  seen->description = static_cast<const uint8_t*>(buf)[1];
}

// ---------------------------------------------------------------- the peer's sealing

// Seals any inner plaintext as the client would, with its own cipher context (not ours), and
// follows its KeyUpdates.
class Sealer {
 public:
  Sealer() : ctx_(EVP_CIPHER_CTX_new()) { check(ctx_ != nullptr, "cipher context"); }
  ~Sealer() { EVP_CIPHER_CTX_free(ctx_); }

  void start(const Suite& suite, const uint8_t* secret, size_t secret_len) {
    suite_ = &suite;
    if (cipher_ == nullptr || std::strcmp(cipher_name_, suite.cipher) != 0) {
      EVP_CIPHER_free(cipher_);
      cipher_ = EVP_CIPHER_fetch(nullptr, suite.cipher, nullptr);
      cipher_name_ = suite.cipher;
      check(cipher_ != nullptr, "cipher fetch");
    }
    std::memcpy(secret_, secret, secret_len);
    keys();
    message_.clear();
  }

  // One record of `inner` (content || type || zeros) onto `wire`.
  void seal(const std::vector<uint8_t>& inner, std::vector<uint8_t>* wire) {
    const size_t body = inner.size() + kTag;
    check(body <= 0xffff, "record length");
    const size_t at = wire->size();
    wire->resize(at + 5 + body);
    uint8_t* r = wire->data() + at;
    r[0] = SSL3_RT_APPLICATION_DATA;
    r[1] = 3;
    r[2] = 3;
    r[3] = static_cast<uint8_t>(body >> 8);
    r[4] = static_cast<uint8_t>(body);
    uint8_t nonce[12];
    std::memcpy(nonce, iv_, sizeof(nonce));
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(sequence_ >> (8 * i));
    int n = 0;
    check(EVP_EncryptInit_ex(ctx_, cipher_, nullptr, key_, nonce) == 1 &&
              EVP_EncryptUpdate(ctx_, nullptr, &n, r, 5) == 1 &&
              (inner.empty() || EVP_EncryptUpdate(ctx_, r + 5, &n, inner.data(),
                                                  static_cast<int>(inner.size())) == 1) &&
              EVP_EncryptFinal_ex(ctx_, r + 5 + inner.size(), &n) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, kTag, r + 5 + inner.size()) == 1,
          "sealing");
    ++sequence_;
    follow(inner);
  }

 private:
  // A real peer moves to its next key after a record that ends with a whole KeyUpdate message
  // (RFC 8446 4.6.3); its handshake messages may be spread over records.
  void follow(const std::vector<uint8_t>& inner) {
    size_t end = inner.size();
    while (end > 0 && inner[end - 1] == 0) --end;
    if (end == 0) return;  // no type: the receivers refuse it
    const uint8_t type = inner[end - 1];
    if (type != SSL3_RT_HANDSHAKE) {
      if (type == SSL3_RT_APPLICATION_DATA && end > 1) message_.clear();
      return;
    }
    message_.insert(message_.end(), inner.begin(), inner.begin() + (end - 1));
    size_t at = 0;
    bool key_update_last = false;
    while (message_.size() - at >= 4) {
      const size_t len =
          size_t{message_[at + 1]} << 16 | size_t{message_[at + 2]} << 8 | message_[at + 3];
      if (message_.size() - at - 4 < len) break;
      key_update_last = message_[at] == SSL3_MT_KEY_UPDATE && len == 1;
      at += 4 + len;
    }
    const bool whole = at == message_.size();
    message_.erase(message_.begin(), message_.begin() + at);
    if (whole && key_update_last) {
      uint8_t next[48];
      check(hkdf_expand_label(suite_->digest, secret_, suite_->secret_len, "traffic upd", next,
                              suite_->secret_len),
            "traffic upd");
      std::memcpy(secret_, next, suite_->secret_len);
      keys();
    }
  }

  void keys() {
    check(
        hkdf_expand_label(suite_->digest, secret_, suite_->secret_len, "key", key_,
                          suite_->key_len) &&
            hkdf_expand_label(suite_->digest, secret_, suite_->secret_len, "iv", iv_, sizeof(iv_)),
        "traffic keys");
    sequence_ = 0;
  }

  EVP_CIPHER_CTX* ctx_;
  EVP_CIPHER* cipher_ = nullptr;
  const char* cipher_name_ = nullptr;
  const Suite* suite_ = nullptr;
  uint8_t secret_[48] = {};
  uint8_t key_[32] = {};
  uint8_t iv_[12] = {};
  uint64_t sequence_ = 0;
  std::vector<uint8_t> message_;  // handshake bytes of a message not yet whole
};

// ---------------------------------------------------------------- contexts, made once

struct Env {
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> server;
  std::unique_ptr<ClientContext> client;
};

Env* make_env() {
  auto* env = new Env;
  auto ca = CertificateAuthority::generate("fuzz CA");
  check(ca.ok(), "CA");
  X509Ptr ca_cert = share((*ca)->cert());
  auto leaves = LeafCache::create(std::move(*ca), 4, 1);
  check(leaves.ok(), "leaf cache");
  env->leaves = *leaves;
  ContextOptions own;
  own.own_records = true;
  auto server = ServerContext::create(env->leaves, own);
  check(server.ok(), "server context");
  env->server = std::move(*server);
  auto client = ClientContext::create(ClientOptions{});
  check(client.ok(), "client context");
  env->client = std::move(*client);
  check(X509_STORE_add_cert(SSL_CTX_get_cert_store(env->client->native()), ca_cert.get()) == 1,
        "trust the CA");
  SSL_CTX_set_keylog_callback(env->client->native(), keylog);
  return env;
}

// Moves bytes between the two sessions until both are established and the client has taken the
// server's ticket (so the next handshake of this suite resumes: a cheaper input).
bool handshake(Session& client, Session& server) {
  std::vector<uint8_t> to_server;
  std::vector<uint8_t> to_client;
  static uint8_t out[16384];
  static uint8_t plain[1024];
  to_server.assign(out, out + client.start(out));
  for (int round = 0; round < 20; ++round) {
    IoResult r = server.receive(to_server, plain, out);
    to_server.erase(to_server.begin(), to_server.begin() + r.cipher_consumed);
    to_client.insert(to_client.end(), out, out + r.cipher_bytes);
    r = client.receive(to_client, plain, out);
    to_client.erase(to_client.begin(), to_client.begin() + r.cipher_consumed);
    to_server.insert(to_server.end(), out, out + r.cipher_bytes);
    if (client.state() == State::kEstablished && server.state() == State::kEstablished &&
        to_server.empty() && to_client.empty()) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- the wire from the input

struct Wire {
  std::vector<uint8_t> bytes;
  size_t last_record = 0;  // where the last sealed record starts
  bool sealed_any = false;
};

size_t padding_of(uint8_t op, size_t inner_so_far) {
  static constexpr size_t kPads[] = {0, 1, 2, 15, 255, 256, 4096};
  const size_t pick = op >> 3 & 7;
  if (pick < 7) return kPads[pick];
  const size_t limit = kMaxCiphertext - kTag;
  return inner_so_far < limit ? limit - inner_so_far : 0;
}

void build_wire(const uint8_t* data, size_t size, Sealer& sealer, Wire* wire) {
  std::vector<uint8_t> content;
  std::vector<uint8_t> inner;
  while (size >= 3) {
    const uint8_t op = data[0];
    size_t length = (size_t{data[1]} << 8 | data[2]) % (kMaxCiphertext + 1);
    data += 3;
    size -= 3;
    if (op & 0x40) {
      const uint8_t fill = size > 0 ? data[0] : 0;
      content.assign(length, fill);
      if (size > 0) {
        ++data;
        --size;
      }
    } else {
      length = std::min(length, size);
      content.assign(data, data + length);
      data += length;
      size -= length;
    }
    if (op & 0x80) {
      wire->bytes.insert(wire->bytes.end(), content.begin(), content.end());
      continue;
    }
    const uint8_t kind = op & 7;
    if (kind == 7) {
      // A bit of the last record flipped: a bad MAC, or a broken header.
      if (!wire->sealed_any || content.size() < 2) continue;
      const size_t record = wire->bytes.size() - wire->last_record;
      const size_t at = (size_t{content[0]} << 8 | content[1]) % (record * 8);
      wire->bytes[wire->last_record + at / 8] ^= static_cast<uint8_t>(1u << (at % 8));
      continue;
    }
    inner.clear();
    switch (kind) {
      case 0:
      case 1:
        inner = content;
        inner.push_back(SSL3_RT_APPLICATION_DATA);
        break;
      case 2:
        inner = content;
        inner.push_back(SSL3_RT_ALERT);
        break;
      case 3:
        inner = content;
        inner.push_back(SSL3_RT_HANDSHAKE);
        break;
      case 4:
        inner = {SSL3_MT_KEY_UPDATE,
                 0,
                 0,
                 1,
                 static_cast<uint8_t>(!content.empty() && (content[0] & 1) != 0),
                 SSL3_RT_HANDSHAKE};
        break;
      case 5: inner = content; break;
      case 6:
        if (content.empty()) continue;
        inner.assign(content.begin() + 1, content.end());
        inner.push_back(content[0]);
        break;
    }
    inner.resize(std::min(inner.size() + padding_of(op, inner.size()), size_t{0xffff} - kTag));
    wire->last_record = wire->bytes.size();
    wire->sealed_any = true;
    sealer.seal(inner, &wire->bytes);
  }
}

// ---------------------------------------------------------------- the two receivers

enum class Outcome { kOpen, kClosed, kRefused };

struct Received {
  std::string plain;
  Outcome outcome = Outcome::kOpen;
  int alert = -1;           // the fatal alert sent, -1 for none
  int reason = 0;           // OpenSSL's: ERR_GET_REASON of its error
  bool peer_alert = false;  // refused because the peer sent a fatal alert
  std::string detail;       // ours: the failure text
};

// Ours: the server Session's own record layer, as the engine drives it.
Received ours(Session& server, Session& client, const Wire& wire, size_t slice, size_t room) {
  static uint8_t plain[64 * 1024];
  static uint8_t out[Session::kReceiveOutputMin * 2];
  Received got;
  std::vector<uint8_t> answer;
  size_t off = 0;
  for (int guard = 0; guard < 1 << 20 && server.state() == State::kEstablished; ++guard) {
    const size_t n = std::min(wire.bytes.size() - off, slice);
    if (n == 0 && !server.has_buffered_plaintext()) break;
    IoResult r = server.receive({wire.bytes.data() + off, n}, {plain, room}, out);
    check(r.cipher_consumed <= n && r.plain_bytes <= room, "receive bounds");
    got.plain.append(reinterpret_cast<const char*>(plain), r.plain_bytes);
    answer.insert(answer.end(), out, out + r.cipher_bytes);
    if (server.has_pending_output()) {
      const size_t m = server.flush(out);
      answer.insert(answer.end(), out, out + m);
    }
    off += r.cipher_consumed;
    check(r.cipher_consumed > 0 || r.plain_bytes > 0 || server.state() != State::kEstablished,
          "no progress");
  }
  got.outcome = server.state() == State::kEstablished ? Outcome::kOpen
                : server.state() == State::kClosed    ? Outcome::kClosed
                                                      : Outcome::kRefused;
  got.peer_alert = server.failure() == Failure::kPeerAlert;
  got.detail = server.failure_detail();
  // Our answer read by the client's OpenSSL: the alert is the last one it reads.
  AlertSeen seen;
  seen.write_p = 0;
  SSL_set_msg_callback(client.native(), note_alert);
  SSL_set_msg_callback_arg(client.native(), &seen);
  std::span<const uint8_t> in(answer);
  static uint8_t client_out[Session::kReceiveOutputMin * 2];
  for (int guard = 0; guard < 1000 && !in.empty() && client.state() == State::kEstablished;
       ++guard) {
    const size_t used = client.receive(in, {plain, sizeof(plain)}, client_out).cipher_consumed;
    if (used == 0) break;
    in = in.subspan(used);
  }
  SSL_set_msg_callback(client.native(), nullptr);
  if (seen.level == SSL3_AL_FATAL) got.alert = seen.description;
  return got;
}

// OpenSSL's: the server's SSL object, keyed where the handshake left it, through memory BIOs.
Received openssl(SSL* ssl, const Wire& wire, size_t slice, size_t room) {
  static uint8_t plain[64 * 1024];
  Received got;
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  check(rbio != nullptr && wbio != nullptr, "memory BIOs");
  SSL_set_bio(ssl, rbio, wbio);  // the span BIO goes; Session never calls OpenSSL's records now
  AlertSeen seen;
  seen.write_p = 1;
  SSL_set_msg_callback(ssl, note_alert);
  SSL_set_msg_callback_arg(ssl, &seen);
  ERR_clear_error();
  size_t off = 0;
  int calls_at_end = 0;
  for (int guard = 0; guard < 1 << 20 && got.outcome == Outcome::kOpen; ++guard) {
    size_t n = 0;
    const int r = SSL_read_ex(ssl, plain, room, &n);
    if (r == 1) {
      got.plain.append(reinterpret_cast<const char*>(plain), n);
      continue;
    }
    const int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN ||
        (err == SSL_ERROR_SYSCALL && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0)) {
      // A close_notify of a level neither warning nor fatal: OpenSSL 3.0 takes it as the
      // close_notify it is (as ours does) but says SSL_ERROR_SYSCALL, not ZERO_RETURN.
      got.outcome = Outcome::kClosed;
    } else if (err == SSL_ERROR_SSL) {
      got.outcome = Outcome::kRefused;
      got.reason = ERR_GET_REASON(ERR_peek_error());
      got.peer_alert = got.reason >= SSL_AD_REASON_OFFSET;
    } else if (err == SSL_ERROR_WANT_READ) {
      // Without SSL_MODE_AUTO_RETRY a control record ends the call: go on while bytes wait,
      // and a few times more once the wire is all in, for a handshake message OpenSSL has
      // taken but not yet judged.
      if (BIO_ctrl_pending(rbio) > 0) continue;
      if (off == wire.bytes.size()) {
        if (++calls_at_end < 8) continue;
        break;
      }
      const size_t m = std::min(wire.bytes.size() - off, slice);
      check(BIO_write(rbio, wire.bytes.data() + off, static_cast<int>(m)) == static_cast<int>(m),
            "BIO_write");
      off += m;
    } else {
      std::fprintf(stderr, "SSL_get_error %d, reason %d\n", err, ERR_GET_REASON(ERR_peek_error()));
      check(false, "unexpected SSL_get_error");
    }
  }
  SSL_set_msg_callback(ssl, nullptr);
  ERR_clear_error();
  if (seen.level == SSL3_AL_FATAL) got.alert = seen.description;
  return got;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Where the two part on purpose in when they refuse:
//   - bounds, which RFC 8446 does not name (ours are in own_path.h): OpenSSL refuses the fifth
//     warning alert in a row (user_cancelled), ours the 33rd; OpenSSL sets no bound on
//     KeyUpdates in a row, ours refuses the 33rd; OpenSSL counts empty records since the last
//     record of any kind with content, ours since the last application data with content (a
//     KeyUpdate or a warning alert between empty records does not reset ours). The stream is
//     compared up to the first refusal;
//   - a header whose legacy_record_version is not 0x0303: OpenSSL refuses it on the header,
//     ours ignores the field (RFC 8446 5.1: it "MUST be ignored for all purposes") and judges
//     the record once it is whole; the stream is compared up to the header, and if ours judged
//     the record, `alerts_differ` says what it answers.
bool refusals_differ(const Received& theirs, const Received& mine) {
  if (theirs.outcome == Outcome::kRefused && theirs.reason == SSL_R_TOO_MANY_WARN_ALERTS) {
    return starts_with(mine.plain, theirs.plain);
  }
  if (mine.outcome == Outcome::kRefused &&
      (mine.detail.find("too many KeyUpdates") != std::string::npos ||
       mine.detail.find("too many empty records") != std::string::npos)) {
    return starts_with(theirs.plain, mine.plain);
  }
  if (theirs.outcome == Outcome::kRefused && theirs.reason == SSL_R_WRONG_VERSION_NUMBER) {
    return mine.plain == theirs.plain && mine.outcome == Outcome::kOpen;
  }
  return false;
}

// Alerts (both refuse the same record) that differ where ours is the one RFC 8446 names:
//   - a header whose legacy_record_version is not 0x0303: OpenSSL answers protocol_version or
//     decode_error; ours ignores the field, so it answers for what else is wrong with the
//     record: its outer type (unexpected_message), its length (record_overflow), or, as the
//     header is the AEAD's additional data, its MAC (bad_record_mac);
//   - an alert record of 1 or 3+ bytes: OpenSSL unexpected_message, ours decode_error (section
//     6: "the length of the message was incorrect");
//   - a KeyUpdate longer than 1 byte: OpenSSL illegal_parameter (its message size bound), ours
//     decode_error, as for one shorter than 1 byte, where OpenSSL says decode_error too.
bool alerts_differ(const Received& theirs, const Received& mine) {
  switch (theirs.reason) {
    case SSL_R_WRONG_VERSION_NUMBER:
      return mine.alert == SSL_AD_BAD_RECORD_MAC || mine.alert == SSL_AD_UNEXPECTED_MESSAGE ||
             mine.alert == SSL_AD_RECORD_OVERFLOW;
    case SSL_R_INVALID_ALERT: return mine.alert == SSL_AD_DECODE_ERROR;
    case SSL_R_EXCESSIVE_MESSAGE_SIZE: return mine.alert == SSL_AD_DECODE_ERROR;
    default: return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = make_env();
  static Sealer* sealer = new Sealer;
  if (size < 2) return 0;
  const size_t slice = 1 + data[0] % 64 * (data[0] >= 128 ? 512 : 1);
  static constexpr size_t kRooms[] = {1, 7, 100, 16384, 64 * 1024};
  const Suite& suite = kSuites[data[1] % 3];
  const size_t room = kRooms[data[1] / 3 % 5];
  data += 2;
  size -= 2;

  // A suite per cache key, so each suite's next handshake resumes its last one.
  auto server = Session::server(*env->server);
  auto client = Session::client(*env->client, "s3.amazonaws.com", suite.id);
  check(server.ok() && client.ok(), "sessions");
  (*server)->set_expected_host("s3.amazonaws.com");
  check(SSL_set_ciphersuites((*client)->native(), suite.name) == 1, "client suite");
  g_client_secret_len = 0;
  check(handshake(**client, **server), "handshake");
  check((*server)->own_records(), "own records in force");
  check(g_client_secret_len == suite.secret_len, "client secret");

  Wire wire;
  sealer->start(suite, g_client_secret, g_client_secret_len);
  build_wire(data, size, *sealer, &wire);

  const Received mine = ours(**server, **client, wire, slice, room);
  const Received theirs = openssl((*server)->native(), wire, slice, room);

  if (refusals_differ(theirs, mine)) return 0;
  const bool same = mine.plain == theirs.plain && mine.outcome == theirs.outcome &&
                    mine.peer_alert == theirs.peer_alert &&
                    (mine.alert == theirs.alert || alerts_differ(theirs, mine));
  if (!same) {
    std::fprintf(stderr,
                 "differ: delivered %zu / %zu bytes (same prefix: %s), outcome %d / %d, alert "
                 "%d / %d (ours / OpenSSL; OpenSSL reason %d: %s)\n",
                 mine.plain.size(), theirs.plain.size(),
                 theirs.plain.compare(0, mine.plain.size(), mine.plain) == 0 ? "yes" : "no",
                 static_cast<int>(mine.outcome), static_cast<int>(theirs.outcome), mine.alert,
                 theirs.alert, theirs.reason,
                 ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, theirs.reason)));
    std::abort();
  }
  return 0;
}
