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
#include <vector>

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
// Every certificate of a PEM bundle, in order (a certificate, then its issuers). Other PEM blocks
// are skipped. An error when there is none, one does not parse, or there are more than
// kMaxBundleCertificates.
inline constexpr size_t kMaxBundleCertificates = 10;
absl::StatusOr<std::vector<X509Ptr>> certs_from_pem(std::string_view pem);

// The issuers a server sends after its own certificate, bundle[0], from the rest of its bundle:
// checks that each issued (and signed) the certificate before it and is a CA, and leaves out
// self-signed ones (a root is the client's trust anchor, sent for nothing). The error names the
// position in the bundle ("certificate 2").
absl::StatusOr<std::vector<X509Ptr>> issuers_to_send(const std::vector<X509Ptr>& bundle);

// A PEM file (certificates, a key) read whole; at most kPemFileBytesMax bytes. Errors name
// `what` and the path ("CA key /etc/...: cannot read: Permission denied").
inline constexpr size_t kPemFileBytesMax = 64 * 1024;
absl::StatusOr<std::string> read_pem_file(const std::string& path, std::string_view what);

}  // namespace pamproxy::tls
