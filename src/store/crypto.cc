#include "pamproxy/store/crypto.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "pamproxy/base/check.h"
#include "pamproxy/policy/strings.h"

namespace pamproxy::store {
namespace {

using policy::cat;

constexpr uint8_t kSealVersion = 1;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

void random_bytes(uint8_t* out, size_t n) {
  PAMPROXY_CHECK(RAND_bytes(out, static_cast<int>(n)) == 1);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Draws characters uniformly from `alphabet` (rejection sampling: no modulo bias).
std::string random_string(std::string_view alphabet, size_t chars) {
  std::string out;
  out.reserve(chars);
  const unsigned limit = 256 - 256 % static_cast<unsigned>(alphabet.size());
  while (out.size() < chars) {
    uint8_t buf[64];
    random_bytes(buf, sizeof(buf));
    for (uint8_t b : buf) {
      if (b >= limit || out.size() == chars) continue;
      out.push_back(alphabet[b % alphabet.size()]);
    }
  }
  return out;
}

}  // namespace

MasterKey MasterKey::from_bytes(const std::array<uint8_t, 32>& bytes) {
  MasterKey k;
  k.key_ = bytes;
  return k;
}

MasterKey::~MasterKey() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

absl::StatusOr<MasterKey> MasterKey::load(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) {
      return absl::NotFoundError(cat("master key file ", path, " does not exist"));
    }
    return absl::PermissionDeniedError(
        cat("cannot open master key file ", path, ": ", std::strerror(e)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(cat("master key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 0077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(
        cat("master key file ", path, " may be read or written by other users; chmod 600 it"));
  }
  char buf[80];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  MasterKey k;
  absl::Status bad = absl::FailedPreconditionError(
      cat("master key file ", path, " must hold 32 raw bytes or 64 hex digits"));
  if (n == 32) {
    std::memcpy(k.key_.data(), buf, 32);
  } else if (n == 64 || (n == 65 && buf[64] == '\n')) {
    for (size_t i = 0; i < 32; ++i) {
      int hi = hex_value(buf[2 * i]), lo = hex_value(buf[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return bad;
      }
      k.key_[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
  } else {
    OPENSSL_cleanse(buf, sizeof(buf));
    return bad;
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return k;
}

absl::StatusOr<MasterKey> MasterKey::create(const std::string& path) {
  MasterKey k;
  random_bytes(k.key_.data(), k.key_.size());
  static constexpr char kHex[] = "0123456789abcdef";
  char text[65];
  for (size_t i = 0; i < 32; ++i) {
    text[2 * i] = kHex[k.key_[i] >> 4];
    text[2 * i + 1] = kHex[k.key_[i] & 15];
  }
  text[64] = '\n';
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int e = errno;
    OPENSSL_cleanse(text, sizeof(text));
    return absl::FailedPreconditionError(
        cat("cannot create master key file ", path, ": ", std::strerror(e)));
  }
  bool ok = ::write(fd, text, sizeof(text)) == static_cast<ssize_t>(sizeof(text)) && fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text, sizeof(text));
  if (!ok) {
    ::unlink(path.c_str());
    return absl::FailedPreconditionError(cat("cannot write master key file ", path));
  }
  return k;
}

std::string MasterKey::seal(std::string_view plaintext, std::string_view aad) const {
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  p[0] = kSealVersion;
  random_bytes(p + 1, kNonceBytes);
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  PAMPROXY_CHECK(ctx != nullptr);
  int len = 0;
  PAMPROXY_CHECK(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), p + 1) ==
                 1);
  PAMPROXY_CHECK(EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                                   reinterpret_cast<const uint8_t*>(aad.data()),
                                   static_cast<int>(aad.size())) == 1);
  uint8_t* ct = p + 1 + kNonceBytes;
  PAMPROXY_CHECK(EVP_EncryptUpdate(ctx.get(), ct, &len,
                                   reinterpret_cast<const uint8_t*>(plaintext.data()),
                                   static_cast<int>(plaintext.size())) == 1);
  PAMPROXY_CHECK(EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1);
  PAMPROXY_CHECK(
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size()) == 1);
  return out;
}

absl::StatusOr<policy::Secret> MasterKey::open(std::string_view sealed,
                                               std::string_view aad) const {
  absl::Status fail = absl::DataLossError("sealed value does not open with the master key");
  if (sealed.size() < 1 + kNonceBytes + kTagBytes || sealed[0] != kSealVersion) return fail;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(sealed.data());
  size_t ct_len = sealed.size() - 1 - kNonceBytes - kTagBytes;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  PAMPROXY_CHECK(ctx != nullptr);
  std::string plain(ct_len, '\0');
  int len = 0;
  uint8_t tag[kTagBytes];
  std::memcpy(tag, p + 1 + kNonceBytes + ct_len, kTagBytes);
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), p + 1) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<uint8_t*>(plain.data()), &len,
                        p + 1 + kNonceBytes, static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<uint8_t*>(plain.data()) + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return fail;
  }
  return policy::Secret(std::move(plain));
}

std::string random_id(std::string_view prefix, size_t chars) {
  return cat(prefix, random_string("abcdefghijklmnopqrstuvwxyz234567", chars));
}

std::string random_token_id() {
  return cat("PAM", random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17));
}

std::string random_token_secret() {
  return random_string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40);
}

}  // namespace pamproxy::store
