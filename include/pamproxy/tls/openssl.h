#pragma once
// Owning handles for the OpenSSL objects the tls module passes around, and the one way errors
// from OpenSSL become text. Every OpenSSL object outside src/tls/ is held by one of these, so no
// caller frees anything by hand.

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pamproxy::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct SslSessionFree {
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;

// New owning references to objects OpenSSL reference-counts.
X509Ptr share(X509* cert);
EvpPkeyPtr share(EVP_PKEY* key);

// Drains this thread's OpenSSL error queue into "what: reason; reason" (just `what` when the
// queue is empty). Always leaves the queue empty, so one failure never leaks into the next call.
std::string openssl_error_text(std::string_view what);
absl::Status openssl_error(absl::StatusCode code, std::string_view what);

// A fresh ECDSA P-256 key (the CA key and the shared leaf key are both of this kind).
absl::StatusOr<EvpPkeyPtr> generate_p256_key();

// PEM encodings, for export and for files.
std::string cert_to_pem(X509* cert);
std::string key_to_pem(EVP_PKEY* key);  // PKCS#8, unencrypted: callers protect the file
absl::StatusOr<X509Ptr> cert_from_pem(std::string_view pem);

}  // namespace pamproxy::tls
