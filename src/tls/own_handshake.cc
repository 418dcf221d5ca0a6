// pamproxy's own TLS 1.3 server handshake (see own_handshake.h). RFC 8446 sections 4 and 7.

#include "src/tls/own_handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "src/tls/secrets.h"

namespace pamproxy::tls {
namespace {

constexpr size_t kHash = 32;  // SHA-256: both suites this path takes

// Big-endian readers over a bounded span: every read checks what is left.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  bool u8(uint8_t* v) {
    if (data_.size() < 1) return false;
    *v = data_[0];
    data_ = data_.subspan(1);
    return true;
  }
  bool u16(uint16_t* v) {
    if (data_.size() < 2) return false;
    *v = static_cast<uint16_t>(data_[0] << 8 | data_[1]);
    data_ = data_.subspan(2);
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>* v) {
    if (data_.size() < n) return false;
    *v = data_.first(n);
    data_ = data_.subspan(n);
    return true;
  }
  // A vector with a 1- or 2-byte length prefix.
  bool vec8(std::span<const uint8_t>* v) {
    uint8_t n = 0;
    return u8(&n) && bytes(n, v);
  }
  bool vec16(std::span<const uint8_t>* v) {
    uint16_t n = 0;
    return u16(&n) && bytes(n, v);
  }
  bool empty() const { return data_.empty(); }

 private:
  std::span<const uint8_t> data_;
};

bool contains_u16(std::span<const uint8_t> list, uint16_t value) {
  for (size_t i = 0; i + 1 < list.size(); i += 2) {
    if ((list[i] << 8 | list[i + 1]) == value) return true;
  }
  return false;
}

constexpr uint16_t kExtServerName = 0x0000;
constexpr uint16_t kExtMaxFragmentLength = 0x0001;
constexpr uint16_t kExtSupportedGroups = 0x000a;
constexpr uint16_t kExtSignatureAlgorithms = 0x000d;
constexpr uint16_t kExtAlpn = 0x0010;
constexpr uint16_t kExtPreSharedKey = 0x0029;
constexpr uint16_t kExtEarlyData = 0x002a;
constexpr uint16_t kExtSupportedVersions = 0x002b;
constexpr uint16_t kExtCookie = 0x002c;
constexpr uint16_t kExtKeyShare = 0x0033;
constexpr uint16_t kExtQuicTransportParameters = 0x0039;
constexpr uint16_t kGroupX25519 = 0x001d;
constexpr uint16_t kSigEcdsaP256Sha256 = 0x0403;

// SHA-256 of nothing: the context of Derive-Secret(., "derived", "").
constexpr uint8_t kEmptyHash[kHash] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
constexpr uint8_t kZeros[kHash] = {};

}  // namespace

const char* parse_client_hello(std::span<const uint8_t> in, ClientHello* out) {
  *out = ClientHello{};
  if (in.size() < 5) return "the ClientHello record is not complete";
  if (in[0] != SSL3_RT_HANDSHAKE || in[1] != 3) return "the first record is not a handshake";
  const size_t body_len = size_t{in[3]} << 8 | in[4];
  if (body_len > RecordProtection::kMaxPlain) return "the first record is too long";
  if (in.size() < 5 + body_len) return "the ClientHello record is not complete";
  std::span<const uint8_t> body = in.subspan(5, body_len);
  if (body.size() < 4 || body[0] != SSL3_MT_CLIENT_HELLO) return "not a ClientHello";
  const size_t message_len = size_t{body[1]} << 16 | size_t{body[2]} << 8 | body[3];
  if (4 + message_len != body.size()) return "the ClientHello is not alone in one record";

  Reader r(body.subspan(4));
  uint16_t legacy_version = 0;
  std::span<const uint8_t> random, session_id, suites, compression, extensions;
  if (!r.u16(&legacy_version) || !r.bytes(32, &random) || !r.vec8(&session_id) ||
      !r.vec16(&suites) || !r.vec8(&compression) || !r.vec16(&extensions) || !r.empty()) {
    return "a malformed ClientHello";
  }
  if (legacy_version != TLS1_2_VERSION || session_id.size() > 32 || suites.size() % 2 != 0 ||
      compression.size() != 1 || compression[0] != 0) {
    return "a ClientHello that is not TLS 1.3's";
  }
  // The server's preference (context.cc): AES-128-GCM, then AES-256-GCM (SHA-384: OpenSSL's),
  // then ChaCha20-Poly1305.
  if (contains_u16(suites, 0x1301)) {
    out->suite = 0x1301;
  } else if (contains_u16(suites, 0x1302)) {
    return "TLS_AES_256_GCM_SHA384 is preferred";
  } else if (contains_u16(suites, 0x1303)) {
    out->suite = 0x1303;
  } else {
    return "no TLS 1.3 suite in common";
  }

  bool tls13 = false, groups_x25519 = false, ecdsa_p256 = false;
  uint16_t seen[64];
  size_t seen_count = 0;
  Reader exts(extensions);
  while (!exts.empty()) {
    uint16_t type = 0;
    std::span<const uint8_t> data;
    if (!exts.u16(&type) || !exts.vec16(&data)) return "a malformed extension";
    if (seen_count == std::size(seen)) return "too many extensions";
    if (std::find(seen, seen + seen_count, type) != seen + seen_count) {
      return "a repeated extension";
    }
    seen[seen_count++] = type;
    Reader e(data);
    switch (type) {
      case kExtServerName: {
        // Exactly one host_name entry, as OpenSSL takes it.
        std::span<const uint8_t> list, name;
        uint8_t name_type = 0;
        if (!e.vec16(&list) || !e.empty()) return "a malformed server_name";
        Reader l(list);
        if (!l.u8(&name_type) || name_type != 0 || !l.vec16(&name) || !l.empty() || name.empty() ||
            std::find(name.begin(), name.end(), 0) != name.end()) {
          return "a server_name that is not one host name";
        }
        out->sni = std::string_view(reinterpret_cast<const char*>(name.data()), name.size());
        break;
      }
      case kExtSupportedVersions: {
        std::span<const uint8_t> versions;
        if (!e.vec8(&versions) || !e.empty() || versions.size() % 2 != 0) {
          return "a malformed supported_versions";
        }
        tls13 = contains_u16(versions, TLS1_3_VERSION);
        break;
      }
      case kExtSupportedGroups: {
        std::span<const uint8_t> groups;
        if (!e.vec16(&groups) || !e.empty() || groups.size() % 2 != 0) {
          return "a malformed supported_groups";
        }
        groups_x25519 = contains_u16(groups, kGroupX25519);
        break;
      }
      case kExtSignatureAlgorithms: {
        std::span<const uint8_t> algorithms;
        if (!e.vec16(&algorithms) || !e.empty() || algorithms.size() % 2 != 0) {
          return "a malformed signature_algorithms";
        }
        ecdsa_p256 = contains_u16(algorithms, kSigEcdsaP256Sha256);
        break;
      }
      case kExtKeyShare: {
        std::span<const uint8_t> shares;
        if (!e.vec16(&shares) || !e.empty()) return "a malformed key_share";
        Reader s(shares);
        while (!s.empty()) {
          uint16_t group = 0;
          std::span<const uint8_t> key;
          if (!s.u16(&group) || !s.vec16(&key) || key.empty()) return "a malformed key_share";
          if (group == kGroupX25519 && out->x25519.empty()) {
            if (key.size() != 32) return "an X25519 key share of the wrong size";
            out->x25519 = key;
          }
        }
        break;
      }
      case kExtAlpn: {
        std::span<const uint8_t> list;
        if (!e.vec16(&list) || !e.empty() || list.empty()) return "a malformed ALPN list";
        Reader l(list);
        while (!l.empty()) {
          std::span<const uint8_t> name;
          if (!l.vec8(&name) || name.empty()) return "a malformed ALPN list";
          if (std::string_view(reinterpret_cast<const char*>(name.data()), name.size()) ==
              "http/1.1") {
            out->alpn_http11 = true;
          }
        }
        break;
      }
      case kExtPreSharedKey: return "a PSK offer (resumption)";
      case kExtEarlyData: return "early data";
      case kExtCookie: return "a cookie";
      case kExtMaxFragmentLength: return "max_fragment_length";
      case kExtQuicTransportParameters: return "QUIC transport parameters";
      default: break;  // not ours to answer (GREASE, padding, status_request, ...)
    }
  }
  if (!tls13) return "TLS 1.3 not offered";
  if (out->x25519.empty() || !groups_x25519) return "no X25519 key share";
  if (!ecdsa_p256) return "ECDSA P-256 with SHA-256 not accepted";
  out->record_size = 5 + body_len;
  out->message = body;
  out->session_id = session_id;
  return nullptr;
}

ServerFlight::~ServerFlight() {
  OPENSSL_cleanse(client_finished, sizeof(client_finished));
  OPENSSL_cleanse(client_app_secret, sizeof(client_app_secret));
}

namespace {

// Per-thread OpenSSL objects kept across handshakes (each worker is one thread): building them
// per handshake is most of what OpenSSL 3.0 spends outside the cryptography.
struct PerThread {
  EVP_MD_CTX* transcript = EVP_MD_CTX_new();
  EVP_MD_CTX* snapshot = EVP_MD_CTX_new();
  EVP_PKEY_CTX* x25519_keygen = nullptr;
  EVP_PKEY* signer_key = nullptr;  // referenced by signer
  EVP_PKEY_CTX* signer = nullptr;
  std::vector<uint8_t> messages;  // the encrypted part of the flight, before sealing
  ~PerThread() {
    EVP_MD_CTX_free(transcript);
    EVP_MD_CTX_free(snapshot);
    EVP_PKEY_CTX_free(x25519_keygen);
    EVP_PKEY_CTX_free(signer);
  }
};

const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// The transcript hash so far (the running hash goes on).
bool transcript_hash(PerThread& t, uint8_t out[kHash]) {
  unsigned int n = 0;
  return EVP_MD_CTX_copy_ex(t.snapshot, t.transcript) == 1 &&
         EVP_DigestFinal_ex(t.snapshot, out, &n) == 1 && n == kHash;
}

bool add_to_transcript(PerThread& t, std::span<const uint8_t> message) {
  return EVP_DigestUpdate(t.transcript, message.data(), message.size()) == 1;
}

// A P-256 key's signing context, made once per thread and key.
EVP_PKEY_CTX* signer_for(PerThread& t, EVP_PKEY* key) {
  if (t.signer_key != key) {
    EVP_PKEY_CTX_free(t.signer);
    t.signer = nullptr;
    t.signer_key = nullptr;
    if (!EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256) return nullptr;
    char group[32];
    size_t group_len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &group_len) != 1 ||
        std::string_view(group, group_len) != "prime256v1") {
      return nullptr;
    }
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    if (ctx == nullptr || EVP_PKEY_sign_init(ctx) != 1) {
      EVP_PKEY_CTX_free(ctx);
      return nullptr;
    }
    t.signer = ctx;  // holds a reference to the key, so `key` cannot be another one later
    t.signer_key = key;
  }
  return t.signer;
}

// The X25519 exchange: our public key into `public_key`, the shared secret into `shared`.
bool x25519(PerThread& t, std::span<const uint8_t> peer, uint8_t public_key[32],
            uint8_t shared[32]) {
  if (t.x25519_keygen == nullptr) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr);
    if (ctx == nullptr || EVP_PKEY_keygen_init(ctx) != 1) {
      EVP_PKEY_CTX_free(ctx);
      return false;
    }
    t.x25519_keygen = ctx;
  }
  EVP_PKEY* mine = nullptr;
  EVP_PKEY* theirs = nullptr;
  EVP_PKEY_CTX* derive = nullptr;
  size_t public_len = 32;
  size_t shared_len = 32;
  // OpenSSL refuses an all-zero shared secret (a small-order peer key), RFC 8446 7.4.2.
  bool ok = EVP_PKEY_keygen(t.x25519_keygen, &mine) == 1 &&
            EVP_PKEY_get_raw_public_key(mine, public_key, &public_len) == 1 && public_len == 32 &&
            (theirs = EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(),
                                                     peer.size())) != nullptr &&
            (derive = EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr)) != nullptr &&
            EVP_PKEY_derive_init(derive) == 1 && EVP_PKEY_derive_set_peer(derive, theirs) == 1 &&
            EVP_PKEY_derive(derive, shared, &shared_len) == 1 && shared_len == 32;
  EVP_PKEY_CTX_free(derive);
  EVP_PKEY_free(theirs);
  EVP_PKEY_free(mine);
  return ok;
}

void put16(std::vector<uint8_t>& v, size_t n) {
  v.push_back(static_cast<uint8_t>(n >> 8));
  v.push_back(static_cast<uint8_t>(n));
}
void put24(std::vector<uint8_t>& v, size_t n) {
  v.push_back(static_cast<uint8_t>(n >> 16));
  put16(v, n);
}
void put24_at(uint8_t* p, size_t n) {
  p[0] = static_cast<uint8_t>(n >> 16);
  p[1] = static_cast<uint8_t>(n >> 8);
  p[2] = static_cast<uint8_t>(n);
}

// Appends a certificate entry (RFC 8446 4.4.2: cert_data<1..2^24-1>, no extensions).
void put_certificate(std::vector<uint8_t>& v, std::span<const uint8_t> der) {
  put24(v, der.size());
  v.insert(v.end(), der.begin(), der.end());
  put16(v, 0);
}

bool put_certificate(std::vector<uint8_t>& v, X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  if (len <= 0) return false;
  const size_t at = v.size();
  v.resize(at + 3 + static_cast<size_t>(len));
  uint8_t* p = v.data() + at + 3;
  if (i2d_X509(cert, &p) != len) return false;
  put24_at(v.data() + at, static_cast<size_t>(len));
  put16(v, 0);
  return true;
}

struct Secret {
  uint8_t bytes[kHash] = {};
  ~Secret() { OPENSSL_cleanse(bytes, sizeof(bytes)); }
  std::span<const uint8_t> span() const { return {bytes, kHash}; }
};

bool expand(const Secret& secret, std::string_view label, std::span<const uint8_t> context,
            Secret* out) {
  return hkdf_expand_label("SHA256", secret.bytes, kHash, label, out->bytes, kHash, context);
}

// Derive-Secret(Early-Secret, "derived", "") with no PSK: the same for every handshake.
const uint8_t* derived_from_early() {
  static const auto* const secret = [] {
    auto* s = new Secret;
    Secret early;
    if (hmac("SHA256", kZeros, {kZeros}, early.bytes) != kHash ||
        !expand(early, "derived", kEmptyHash, s)) {
      delete s;
      return static_cast<Secret*>(nullptr);
    }
    return s;
  }();
  return secret != nullptr ? secret->bytes : nullptr;
}

}  // namespace

bool write_server_flight(const ClientHello& hello, std::span<const uint8_t> leaf_der,
                         const STACK_OF(X509) * chain, EVP_PKEY* key, std::span<uint8_t> out,
                         ServerFlight* flight) {
  thread_local PerThread t;
  EVP_PKEY_CTX* signer = signer_for(t, key);
  const uint8_t* derived_early = derived_from_early();
  if (signer == nullptr || derived_early == nullptr || t.transcript == nullptr ||
      t.snapshot == nullptr || EVP_DigestInit_ex2(t.transcript, sha256(), nullptr) != 1) {
    return false;
  }

  // ServerHello (4.1.3) as a plaintext record.
  uint8_t public_key[32];
  Secret shared;
  uint8_t random[32];
  if (!x25519(t, hello.x25519, public_key, shared.bytes) || RAND_bytes(random, 32) != 1) {
    return false;
  }
  std::vector<uint8_t>& m = t.messages;
  m.clear();
  m.insert(m.end(), {SSL3_RT_HANDSHAKE, 3, 3, 0, 0, SSL3_MT_SERVER_HELLO, 0, 0, 0, 3, 3});
  m.insert(m.end(), random, random + 32);
  m.push_back(static_cast<uint8_t>(hello.session_id.size()));
  m.insert(m.end(), hello.session_id.begin(), hello.session_id.end());
  put16(m, hello.suite);
  m.push_back(0);  // legacy_compression_method
  put16(m, 6 + 40);
  m.insert(m.end(), {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04});  // supported_versions: TLS 1.3
  m.insert(m.end(), {0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20});  // key_share: X25519
  m.insert(m.end(), public_key, public_key + 32);
  const size_t server_hello_len = m.size() - 5;
  m[3] = static_cast<uint8_t>(server_hello_len >> 8);
  m[4] = static_cast<uint8_t>(server_hello_len);
  put24_at(m.data() + 6, server_hello_len - 4);
  if (out.size() < m.size()) return false;
  size_t written = m.size();
  std::memcpy(out.data(), m.data(), m.size());
  if (!add_to_transcript(t, hello.message) ||
      !add_to_transcript(t, {out.data() + 5, server_hello_len})) {
    return false;
  }
  // Middlebox compatibility (D.4): a client that sent a session id gets a ChangeCipherSpec.
  if (!hello.session_id.empty()) {
    static constexpr uint8_t kChangeCipherSpec[6] = {SSL3_RT_CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1};
    if (out.size() - written < sizeof(kChangeCipherSpec)) return false;
    std::memcpy(out.data() + written, kChangeCipherSpec, sizeof(kChangeCipherSpec));
    written += sizeof(kChangeCipherSpec);
  }

  // Key schedule (7.1) up to the handshake traffic secrets.
  uint8_t hash[kHash];
  Secret handshake, client_hs, server_hs, derived, master;
  if (hmac("SHA256", {derived_early, kHash}, {shared.span()}, handshake.bytes) != kHash ||
      !transcript_hash(t, hash) || !expand(handshake, "c hs traffic", hash, &client_hs) ||
      !expand(handshake, "s hs traffic", hash, &server_hs) ||
      !expand(handshake, "derived", kEmptyHash, &derived) ||
      hmac("SHA256", derived.span(), {kZeros}, master.bytes) != kHash) {
    return false;
  }

  // EncryptedExtensions (4.3.1), Certificate (4.4.2), CertificateVerify (4.4.3), Finished
  // (4.4.4), each added to the transcript as it is complete.
  m.clear();
  m.insert(m.end(), {SSL3_MT_ENCRYPTED_EXTENSIONS, 0, 0, 0, 0, 0});
  if (!hello.sni.empty()) m.insert(m.end(), {0x00, 0x00, 0x00, 0x00});  // server_name used
  if (hello.alpn_http11) {
    m.insert(m.end(),
             {0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 8, 'h', 't', 't', 'p', '/', '1', '.', '1'});
  }
  put24_at(m.data() + 1, m.size() - 4);
  m[4] = static_cast<uint8_t>((m.size() - 6) >> 8);
  m[5] = static_cast<uint8_t>(m.size() - 6);
  size_t at = m.size();
  m.insert(m.end(), {SSL3_MT_CERTIFICATE, 0, 0, 0, 0, 0, 0, 0});  // empty request context
  if (leaf_der.empty() || leaf_der.size() >= 1 << 24) return false;
  put_certificate(m, leaf_der);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    if (!put_certificate(m, sk_X509_value(chain, i))) return false;
  }
  put24_at(m.data() + at + 1, m.size() - at - 4);
  put24_at(m.data() + at + 5, m.size() - at - 8);
  if (!add_to_transcript(t, m) || !transcript_hash(t, hash)) return false;

  // The signed content: 64 spaces, the context string, a zero byte, the transcript hash.
  static constexpr char kContext[] = "TLS 1.3, server CertificateVerify";
  uint8_t content[64 + sizeof(kContext) + kHash];
  std::memset(content, 0x20, 64);
  std::memcpy(content + 64, kContext, sizeof(kContext));  // with its terminating zero
  std::memcpy(content + 64 + sizeof(kContext), hash, kHash);
  uint8_t digest[kHash];
  unsigned int digest_len = 0;
  uint8_t signature[80];
  size_t signature_len = sizeof(signature);
  if (EVP_Digest(content, sizeof(content), digest, &digest_len, sha256(), nullptr) != 1 ||
      EVP_PKEY_sign(signer, signature, &signature_len, digest, kHash) != 1) {
    return false;
  }
  at = m.size();
  m.insert(m.end(), {SSL3_MT_CERTIFICATE_VERIFY, 0, 0, 0, 0x04, 0x03});
  put16(m, signature_len);
  m.insert(m.end(), signature, signature + signature_len);
  put24_at(m.data() + at + 1, m.size() - at - 4);
  if (!add_to_transcript(t, {m.data() + at, m.size() - at}) || !transcript_hash(t, hash)) {
    return false;
  }

  Secret finished_key;
  uint8_t verify_data[EVP_MAX_MD_SIZE];
  ScopedCleanse wipe_verify_data(verify_data, sizeof(verify_data));
  if (!expand(server_hs, "finished", {}, &finished_key) ||
      hmac("SHA256", finished_key.span(), {{hash, kHash}}, verify_data) != kHash) {
    return false;
  }
  at = m.size();
  m.insert(m.end(), {SSL3_MT_FINISHED, 0, 0, kHash});
  m.insert(m.end(), verify_data, verify_data + kHash);
  if (!add_to_transcript(t, {m.data() + at, m.size() - at}) || !transcript_hash(t, hash)) {
    return false;
  }

  // The application secrets and the client's Finished both hash the transcript to here.
  Secret client_app, server_app, client_finished_key;
  if (!expand(master, "c ap traffic", hash, &client_app) ||
      !expand(master, "s ap traffic", hash, &server_app) ||
      !expand(client_hs, "finished", {}, &client_finished_key) ||
      hmac("SHA256", client_finished_key.span(), {{hash, kHash}}, verify_data) != kHash) {
    return false;
  }

  // Seal the encrypted part under the server's handshake key, 2^14 bytes per record at most.
  RecordProtection handshake_tx;
  if (!handshake_tx.init(hello.suite, server_hs.bytes, kHash, 0, true)) return false;
  const size_t records = (m.size() + RecordProtection::kMaxPlain - 1) / RecordProtection::kMaxPlain;
  if (out.size() - written < m.size() + records * RecordProtection::kOverhead) return false;
  for (size_t done = 0; done < m.size();) {
    const size_t n = std::min(m.size() - done, RecordProtection::kMaxPlain);
    const size_t sealed =
        handshake_tx.seal(SSL3_RT_HANDSHAKE, {m.data() + done, n}, out.data() + written);
    if (sealed == 0) return false;
    written += sealed;
    done += n;
  }

  flight->tx = std::make_unique<RecordProtection>();
  flight->rx = std::make_unique<RecordProtection>();
  if (!flight->tx->init(hello.suite, server_app.bytes, kHash, 0, true) ||
      !flight->rx->init(hello.suite, client_hs.bytes, kHash, 0, false)) {
    return false;
  }
  std::memcpy(flight->client_finished, verify_data, kHash);
  std::memcpy(flight->client_app_secret, client_app.bytes, kHash);
  flight->written = written;
  return true;
}

}  // namespace pamproxy::tls
