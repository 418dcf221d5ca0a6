// Owning handles and OpenSSL error text (see include/pamproxy/tls/openssl.h).

#include "pamproxy/tls/openssl.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pamproxy::tls {

X509Ptr share(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return X509Ptr(cert);
}

EvpPkeyPtr share(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

std::string openssl_error_text(std::string_view what) {
  std::string text(what);
  bool first = true;
  // Bounded: the queue holds at most ERR_NUM_ERRORS (16) entries.
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    absl::StrAppend(&text, first ? ": " : "; ",
                    reason != nullptr ? reason : absl::StrCat("error ", e));
    first = false;
  }
  return text;
}

absl::Status openssl_error(absl::StatusCode code, std::string_view what) {
  return absl::Status(code, openssl_error_text(what));
}

absl::StatusOr<EvpPkeyPtr> generate_p256_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error(absl::StatusCode::kInternal, "generating a P-256 key");
  return key;
}

namespace {
std::string drain_bio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return out;
}
}  // namespace

std::string cert_to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert) != 1) {
    if (bio != nullptr) BIO_free(bio);
    return {};
  }
  return drain_bio(bio);
}

std::string key_to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    if (bio != nullptr) BIO_free(bio);
    return {};
  }
  return drain_bio(bio);
}

absl::StatusOr<X509Ptr> cert_from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return openssl_error(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!cert) return openssl_error(absl::StatusCode::kInvalidArgument, "not a PEM certificate");
  return cert;
}

absl::StatusOr<std::vector<X509Ptr>> certs_from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return openssl_error(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  std::vector<X509Ptr> certs;
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
    if (certs.size() > kMaxBundleCertificates) {
      BIO_free(bio);
      return absl::InvalidArgumentError(
          absl::StrCat("more than ", kMaxBundleCertificates, " certificates"));
    }
  }
  BIO_free(bio);
  // The loop ends at the end of the text (no further PEM start line) or at a block that does not
  // parse; only the first is the normal end.
  const unsigned long last = ERR_peek_last_error();
  const bool at_end =
      ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!at_end || certs.empty()) {
    if (at_end) ERR_clear_error();
    return openssl_error(absl::StatusCode::kInvalidArgument,
                         certs.empty() ? "not a PEM certificate"
                                       : absl::StrCat("certificate ", certs.size() + 1,
                                                      " is not a valid PEM certificate"));
  }
  ERR_clear_error();
  return certs;
}

absl::StatusOr<std::vector<X509Ptr>> issuers_to_send(const std::vector<X509Ptr>& bundle) {
  std::vector<X509Ptr> chain;
  for (size_t i = 1; i < bundle.size(); ++i) {
    X509* cert = bundle[i].get();
    X509* previous = bundle[i - 1].get();
    const size_t position = i + 1;  // as a person counts the bundle's certificates
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (X509_check_issued(cert, previous) != X509_V_OK || key == nullptr ||
        X509_verify(previous, key) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("certificate ", position,
                                                     " did not issue certificate ", position - 1,
                                                     ": list a certificate, then its issuers"));
    }
    if (X509_check_ca(cert) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", position, " is not a CA certificate (basicConstraints)"));
    }
    if (X509_self_signed(cert, 0) != 1) chain.push_back(share(cert));
  }
  ERR_clear_error();
  return chain;
}

absl::StatusOr<std::string> read_pem_file(const std::string& path, std::string_view what) {
  auto failed = [&](std::string_view problem) {
    return absl::FailedPreconditionError(
        absl::StrCat(std::string(what), " ", path, ": ", std::string(problem)));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(absl::StrCat("cannot read: ", std::strerror(errno)));
  std::string data;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return failed(absl::StrCat("cannot read: ", std::strerror(err)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kPemFileBytesMax) {
      ::close(fd);
      return failed(absl::StrCat("larger than ", kPemFileBytesMax, " bytes"));
    }
  }
  ::close(fd);
  return data;
}

}  // namespace pamproxy::tls
