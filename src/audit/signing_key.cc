// Ed25519 through OpenSSL 3 EVP (one-shot EVP_DigestSign: Ed25519 hashes internally).

#include "pamproxy/audit/signing_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/check.h"

namespace pamproxy::audit {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const unsigned char* p, size_t n) {
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 0xf];
  }
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

PkeyPtr public_only(EVP_PKEY* any) {
  unsigned char raw[32];
  size_t n = sizeof(raw);
  PAMPROXY_CHECK(EVP_PKEY_get_raw_public_key(any, raw, &n) == 1 && n == 32);
  return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, n));
}

absl::StatusOr<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::Status(
        errno == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kPermissionDenied,
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() > 65536) break;  // no key file is this large
  }
  ::close(fd);
  return out;
}

}  // namespace

void PkeyDeleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

PublicKey::PublicKey(PkeyPtr key) : key_(std::move(key)) {
  unsigned char raw[32];
  size_t n = sizeof(raw);
  PAMPROXY_CHECK(EVP_PKEY_get_raw_public_key(key_.get(), raw, &n) == 1 && n == 32);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(raw, n, digest);
  key_id_ = hex(digest, 8);
}

absl::StatusOr<PublicKey> PublicKey::from_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) return absl::InvalidArgumentError("not a PEM public key");
  PkeyPtr key(k);
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("the public key is not an Ed25519 key");
  }
  return PublicKey(std::move(key));
}

bool PublicKey::verify_hex(std::string_view message, std::string_view signature_hex) const {
  if (signature_hex.size() != kSignatureHexBytes) return false;
  unsigned char sig[kSignatureHexBytes / 2];
  for (size_t i = 0; i < sizeof(sig); ++i) {
    int hi = hex_value(signature_hex[2 * i]);
    int lo = hex_value(signature_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    sig[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(ctx, sig, sizeof(sig),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string PublicKey::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PAMPROXY_CHECK(PEM_write_bio_PUBKEY(bio, key_.get()) == 1);
  std::string s = bio_string(bio);
  BIO_free(bio);
  return s;
}

SigningKey SigningKey::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  PAMPROXY_CHECK(k != nullptr);
  PkeyPtr priv(k);
  PublicKey pub(public_only(k));
  return SigningKey(std::move(priv), std::move(pub));
}

absl::StatusOr<SigningKey> SigningKey::load(const std::string& path) {
  auto text = read_small_file(path);
  if (!text.ok()) return text.status();
  BIO* bio = BIO_new_mem_buf(text->data(), static_cast<int>(text->size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k == nullptr) return absl::InvalidArgumentError(path + ": not a PEM private key");
  PkeyPtr priv(k);
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(path + ": not an Ed25519 key");
  }
  PublicKey pub(public_only(k));
  return SigningKey(std::move(priv), std::move(pub));
}

absl::StatusOr<SigningKey> SigningKey::load_or_create(const std::string& path) {
  auto existing = load(path);
  if (existing.ok() || existing.status().code() != absl::StatusCode::kNotFound) return existing;

  SigningKey fresh = generate();
  BIO* bio = BIO_new(BIO_s_mem());
  PAMPROXY_CHECK(PEM_write_bio_PrivateKey(bio, fresh.private_.get(), nullptr, nullptr, 0, nullptr,
                                          nullptr) == 1);
  std::string pem = bio_string(bio);
  BIO_free(bio);
  // O_EXCL: if another process created it meanwhile, use theirs rather than overwrite it.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return load(path);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create audit key ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < pem.size()) {
    ssize_t w = ::write(fd, pem.data() + done, pem.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return absl::InternalError(
          absl::StrCat("cannot write audit key ", path, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(w);
  }
  OPENSSL_cleanse(pem.data(), pem.size());
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot sync audit key ", path));
  }
  return fresh;
}

std::string SigningKey::sign_hex(std::string_view message) const {
  unsigned char sig[kSignatureHexBytes / 2];
  size_t n = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  PAMPROXY_CHECK(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, private_.get()) == 1);
  PAMPROXY_CHECK(EVP_DigestSign(ctx, sig, &n,
                                reinterpret_cast<const unsigned char*>(message.data()),
                                message.size()) == 1);
  EVP_MD_CTX_free(ctx);
  return hex(sig, n);
}

}  // namespace pamproxy::audit
