// Server and client SSL_CTX setup (see include/pamproxy/tls/context.h).

#include "pamproxy/tls/context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <iterator>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "src/tls/callbacks.h"

namespace pamproxy::tls {
namespace {

// TLS 1.2: forward secrecy and AEAD only (which is also what kTLS can take). ECDSA first: the
// minted leaves are P-256; upstreams mostly present RSA.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
// AES-128-GCM first: ~25% faster than AES-256 per byte on these CPUs, and equally safe here.
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kGroups[] = "X25519:P-256:P-384";
constexpr unsigned char kSessionIdContext[] = "pamproxy";

absl::StatusOr<SslCtxPtr> base_context(const SSL_METHOD* method, const ContextOptions& options) {
  prefetch_algorithms();
  SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr, method));
  if (!ctx) return openssl_error(absl::StatusCode::kInternal, "SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  int min = options.min_version == config::TlsVersion::k1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  bool ok = SSL_CTX_set_min_proto_version(c, min) == 1 &&
            SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1 &&
            SSL_CTX_set_cipher_list(c, kTls12Ciphers) == 1 &&
            SSL_CTX_set_ciphersuites(c, kTls13Suites) == 1 &&
            SSL_CTX_set1_groups_list(c, kGroups) == 1;
  if (!ok) return openssl_error(absl::StatusCode::kInternal, "configuring the TLS context");
  SSL_CTX_set_options(
      c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // One record per send() call is what Session expects; a moving buffer lets a retried record
  // be completed without the caller's original plaintext.
  SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(c, SSL_MODE_AUTO_RETRY);
  if (options.release_idle_buffers) SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (options.capture_secrets || options.own_records) {
    SSL_CTX_set_keylog_callback(c, detail::keylog_cb);
  }
  return ctx;
}

// ALPN wire form: length-prefixed protocol names.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// The prefetched algorithms, kept in a global so they stay referenced (and reachable for leak
// checkers) for the life of the process.
struct Prefetched {
  EVP_MD* digests[3];
  EVP_CIPHER* ciphers[3];
  EVP_KEYMGMT* keymgmt[4];
  EVP_SIGNATURE* signatures[2];
  EVP_KEYEXCH* keyexch[2];
  EVP_KDF* kdfs[3];
  EVP_MAC* macs[1];
} g_prefetched;

}  // namespace

void prefetch_algorithms() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Held for the life of the process on purpose: a referenced method stays in OpenSSL's
    // method store, so handshakes never construct it again.
    static const char* const kDigests[] = {"SHA256", "SHA384", "SHA1"};
    static const char* const kCiphers[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
    static const char* const kKeyMgmt[] = {"EC", "X25519", "RSA", "RSA-PSS"};
    static const char* const kSignatures[] = {"ECDSA", "RSA"};
    static const char* const kKeyExch[] = {"ECDH", "X25519"};
    static const char* const kKdfs[] = {"HKDF", "TLS13-KDF", "TLS1-PRF"};
    static const char* const kMacs[] = {"HMAC"};
    static_assert(std::size(kDigests) == std::size(Prefetched{}.digests) &&
                  std::size(kCiphers) == std::size(Prefetched{}.ciphers) &&
                  std::size(kKeyMgmt) == std::size(Prefetched{}.keymgmt) &&
                  std::size(kSignatures) == std::size(Prefetched{}.signatures) &&
                  std::size(kKeyExch) == std::size(Prefetched{}.keyexch) &&
                  std::size(kKdfs) == std::size(Prefetched{}.kdfs) &&
                  std::size(kMacs) == std::size(Prefetched{}.macs));
    for (size_t i = 0; i < std::size(kDigests); ++i) {
      g_prefetched.digests[i] = EVP_MD_fetch(nullptr, kDigests[i], nullptr);
    }
    for (size_t i = 0; i < std::size(kCiphers); ++i) {
      g_prefetched.ciphers[i] = EVP_CIPHER_fetch(nullptr, kCiphers[i], nullptr);
    }
    for (size_t i = 0; i < std::size(kKeyMgmt); ++i) {
      g_prefetched.keymgmt[i] = EVP_KEYMGMT_fetch(nullptr, kKeyMgmt[i], nullptr);
    }
    for (size_t i = 0; i < std::size(kSignatures); ++i) {
      g_prefetched.signatures[i] = EVP_SIGNATURE_fetch(nullptr, kSignatures[i], nullptr);
    }
    for (size_t i = 0; i < std::size(kKeyExch); ++i) {
      g_prefetched.keyexch[i] = EVP_KEYEXCH_fetch(nullptr, kKeyExch[i], nullptr);
    }
    for (size_t i = 0; i < std::size(kKdfs); ++i)
      g_prefetched.kdfs[i] = EVP_KDF_fetch(nullptr, kKdfs[i], nullptr);
    for (size_t i = 0; i < std::size(kMacs); ++i)
      g_prefetched.macs[i] = EVP_MAC_fetch(nullptr, kMacs[i], nullptr);
    ERR_clear_error();  // a provider without one of them is not an error here
  });
}

// ---------------------------------------------------------------- server

ServerContext::ServerContext(SslCtxPtr ctx, std::shared_ptr<LeafCache> leaves,
                             const ContextOptions& options)
    : ctx_(std::move(ctx)), leaves_(std::move(leaves)), options_(options) {}

namespace {
absl::StatusOr<SslCtxPtr> server_base(const ContextOptions& options) {
  auto ctx = base_context(TLS_server_method(), options);
  if (!ctx.ok()) return ctx.status();
  SSL_CTX* c = ctx->get();
  SSL_CTX_set_alpn_select_cb(c, detail::alpn_select_cb, nullptr);
  // Resumption through stateless tickets only (TLS 1.2 and 1.3): the internal session store
  // would be one more lock shared by every worker. (SSL_SESS_CACHE_OFF would refuse tickets too.)
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_set_num_tickets(c, 1);
  // The chain after the leaf is set once (add_chain); without this OpenSSL would look for one
  // in the context's store on every handshake.
  SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return openssl_error(absl::StatusCode::kInternal, "SSL_CTX_set_session_id_context");
  }
  return ctx;
}

// The certificates every handshake sends after the leaf (the context keeps its own references).
absl::Status add_chain(SSL_CTX* ctx, const std::vector<X509Ptr>& chain) {
  for (const X509Ptr& cert : chain) {
    X509Ptr ref = share(cert.get());
    if (SSL_CTX_add_extra_chain_cert(ctx, ref.get()) != 1) {
      return openssl_error(absl::StatusCode::kInternal, "adding a chain certificate");
    }
    (void)ref.release();  // owned by the context now
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<std::unique_ptr<ServerContext>> ServerContext::create(
    std::shared_ptr<LeafCache> leaves, const ContextOptions& options) {
  if (leaves == nullptr) return absl::InvalidArgumentError("no leaf cache");
  auto ctx = server_base(options);
  if (!ctx.ok()) return ctx.status();
  absl::Status chained = add_chain(ctx->get(), leaves->ca().chain());
  if (!chained.ok()) return chained;
  SSL_CTX_set_tlsext_servername_callback(ctx->get(), detail::servername_cb);
  std::unique_ptr<ServerContext> server(
      new ServerContext(std::move(*ctx), std::move(leaves), options));
  SSL_CTX_set_tlsext_servername_arg(server->ctx_.get(), server.get());
  return server;
}

absl::StatusOr<std::unique_ptr<ServerContext>> ServerContext::create_fixed(
    X509Ptr cert, EvpPkeyPtr key, const ContextOptions& options,
    const std::vector<X509Ptr>& chain) {
  auto ctx = server_base(options);
  if (!ctx.ok()) return ctx.status();
  absl::Status chained = add_chain(ctx->get(), chain);
  if (!chained.ok()) return chained;
  if (SSL_CTX_use_cert_and_key(ctx->get(), cert.get(), key.get(), nullptr, 1) != 1) {
    return openssl_error(absl::StatusCode::kInvalidArgument, "certificate and key");
  }
  return std::unique_ptr<ServerContext>(new ServerContext(std::move(*ctx), nullptr, options));
}

// ---------------------------------------------------------------- client

ClientContext::ClientContext(SslCtxPtr ctx, const ClientOptions& options)
    : ctx_(std::move(ctx)), options_(options) {}

absl::StatusOr<std::unique_ptr<ClientContext>> ClientContext::create(const ClientOptions& options) {
  auto ctx = base_context(TLS_client_method(), options.context);
  if (!ctx.ok()) return ctx.status();
  SSL_CTX* c = ctx->get();
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  // The trust store is loaded into memory once (a bundle file, not a hashed directory looked up
  // from disk during handshakes).
  std::string ca_file = options.ca_file;
  if (ca_file.empty()) {
    const char* env = std::getenv(X509_get_default_cert_file_env());
    ca_file = env != nullptr && *env != '\0' ? env : X509_get_default_cert_file();
  }
  if (SSL_CTX_load_verify_file(c, ca_file.c_str()) != 1) {
    return openssl_error(absl::StatusCode::kFailedPrecondition,
                         absl::StrCat("loading upstream CA file ", ca_file));
  }
  if (SSL_CTX_set_alpn_protos(c, kAlpnHttp11, sizeof(kAlpnHttp11)) != 0) {
    return openssl_error(absl::StatusCode::kInternal, "SSL_CTX_set_alpn_protos");
  }
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c, detail::new_session_cb);
  if (options.session_cache_entries == 0) {
    return absl::InvalidArgumentError("session_cache_entries must be >= 1");
  }
  return std::unique_ptr<ClientContext>(new ClientContext(std::move(*ctx), options));
}

SslSessionPtr ClientContext::take_session(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(absl::string_view(key.data(), key.size()));
  if (it == sessions_.end()) return nullptr;
  if (SSL_SESSION_is_resumable(it->second.session.get()) != 1) {
    order_.erase(it->second.position);
    sessions_.erase(it);
    return nullptr;
  }
  order_.splice(order_.begin(), order_, it->second.position);
  SSL_SESSION_up_ref(it->second.session.get());
  return SslSessionPtr(it->second.session.get());
}

void ClientContext::store_session(std::string_view key, SslSessionPtr session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(absl::string_view(key.data(), key.size()));
  if (it != sessions_.end()) {
    it->second.session = std::move(session);
    order_.splice(order_.begin(), order_, it->second.position);
    return;
  }
  if (sessions_.size() >= options_.session_cache_entries) {
    sessions_.erase(order_.back());
    order_.pop_back();
  }
  order_.emplace_front(key);
  sessions_.emplace(std::string(key), Entry{std::move(session), order_.begin()});
}

void ClientContext::forget_session(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(absl::string_view(key.data(), key.size()));
  if (it == sessions_.end()) return;
  order_.erase(it->second.position);
  sessions_.erase(it);
}

size_t ClientContext::cached_sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace pamproxy::tls
