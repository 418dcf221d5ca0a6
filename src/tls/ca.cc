// The appliance CA: creation, loading, minting (see include/pamproxy/tls/ca.h).

#include "pamproxy/tls/ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pamproxy/base/log.h"
#include "pamproxy/base/net_address.h"

namespace pamproxy::tls {
namespace {

constexpr int64_t kCaValidityDays = 3650;
// Writes `data` to `path` atomically (temporary file, fsync, rename) with `mode`.
absl::Status write_file(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  }
  ::fchmod(fd, mode);  // whatever the umask said
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status make_parent_dirs(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return absl::OkStatus();
  std::error_code ec;
  bool made = std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", parent.string(), ": ", ec.message()));
  }
  if (made) ::chmod(parent.c_str(), 0700);
  return absl::OkStatus();
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and never shorter than 16 bytes' worth of entropy minus one bit
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  if (bn == nullptr) return false;
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool set_validity(X509* cert, int64_t backdate_s, int64_t days) {
  return X509_gmtime_adj(X509_getm_notBefore(cert), -backdate_s) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(cert), static_cast<int>(days), 0, nullptr) != nullptr;
}

// Adds the SAN extension naming `hosts` (each a DNS name or an IP literal, already validated).
bool add_san(X509* cert, const std::vector<std::string>& hosts) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  if (names == nullptr) return false;
  bool ok = true;
  for (const std::string& host : hosts) {
    GENERAL_NAME* name = nullptr;
    if (is_ip_literal(host)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
      name = ip != nullptr ? GENERAL_NAME_new() : nullptr;
      if (name != nullptr) {
        GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
      } else {
        ASN1_OCTET_STRING_free(ip);
      }
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns != nullptr && ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) == 1) {
        name = GENERAL_NAME_new();
      }
      if (name != nullptr) {
        GENERAL_NAME_set0_value(name, GEN_DNS, dns);
      } else {
        ASN1_IA5STRING_free(dns);
      }
    }
    if (name == nullptr || sk_GENERAL_NAME_push(names, name) == 0) {
      GENERAL_NAME_free(name);
      ok = false;
      break;
    }
  }
  ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  return ok;
}

absl::StatusOr<X509Ptr> self_sign(EVP_PKEY* key, std::string_view common_name) {
  X509Ptr cert(X509_new());
  if (!cert) return openssl_error(absl::StatusCode::kInternal, "X509_new");
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn(common_name.substr(0, 64));
  bool ok = X509_set_version(cert.get(), 2) == 1 && set_random_serial(cert.get()) &&
            set_validity(cert.get(), kLeafBackdateSeconds, kCaValidityDays) &&
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>("pamproxy"), -1, -1,
                                       0) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key) == 1 &&
            add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
            X509_sign(cert.get(), key, EVP_sha256()) > 0;
  if (!ok) return openssl_error(absl::StatusCode::kInternal, "creating the CA certificate");
  return cert;
}

std::string default_ca_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return "pamproxy appliance CA";
  }
  return absl::StrCat("pamproxy appliance CA (", host, ")");
}

}  // namespace

bool is_ip_literal(std::string_view host) {
  char buf[64];
  if (host.size() >= sizeof(buf)) return false;
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (is_ip_literal(host)) return true;
  size_t label = 0;
  char prev = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      if (!ok || (label == 0 && c == '-') || ++label > 63) return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

CertificateAuthority::CertificateAuthority(X509Ptr cert, std::vector<X509Ptr> chain, EvpPkeyPtr key,
                                           std::string cert_pem, bool created)
    : cert_(std::move(cert)),
      chain_(std::move(chain)),
      key_(std::move(key)),
      cert_pem_(std::move(cert_pem)),
      created_(created) {}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::generate(
    std::string_view common_name) {
  auto key = generate_p256_key();
  if (!key.ok()) return key.status();
  auto cert = self_sign(key->get(), common_name);
  if (!cert.ok()) return cert.status();
  std::string pem = cert_to_pem(cert->get());
  return std::unique_ptr<CertificateAuthority>(
      new CertificateAuthority(std::move(*cert), {}, std::move(*key), std::move(pem), true));
}

absl::StatusOr<std::unique_ptr<CertificateAuthority>> CertificateAuthority::load_or_create(
    const std::string& cert_file, const std::string& key_file) {
  struct stat st;
  bool have_cert = ::stat(cert_file.c_str(), &st) == 0;
  bool have_key = ::stat(key_file.c_str(), &st) == 0;
  if (have_cert != have_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CA ", have_cert ? "certificate " : "key ", have_cert ? cert_file : key_file,
        " exists but its ", have_cert ? "key " : "certificate ", have_cert ? key_file : cert_file,
        " does not: restore the missing file, or remove both to create a new CA (clients then "
        "need the new CA)"));
  }
  if (!have_cert) {
    auto ca = generate(default_ca_name());
    if (!ca.ok()) return ca.status();
    for (const std::string* path : {&key_file, &cert_file}) {
      absl::Status s = make_parent_dirs(*path);
      if (!s.ok()) return s;
    }
    std::string key_pem = key_to_pem((*ca)->key_.get());
    absl::Status s = write_file(key_file, key_pem, 0600);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!s.ok()) return s;
    s = write_file(cert_file, (*ca)->cert_pem_, 0644);
    if (!s.ok()) return s;
    return ca;
  }

  auto cert_pem = read_pem_file(cert_file, "CA certificate");
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = read_pem_file(key_file, "CA key");
  if (!key_pem.ok()) return key_pem.status();
  if ((st.st_mode & 077) != 0) {
    log::warn("tls.ca_key_permissions")
        .kv("file", key_file)
        .kv("mode", static_cast<int64_t>(st.st_mode & 0777))
        .kv("hint", "chmod 600");
  }
  auto certs = certs_from_pem(*cert_pem);
  if (!certs.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("CA certificate ", cert_file, ": ", certs.status().message()));
  }
  X509* cert = certs->front().get();
  BIO* bio = BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()));
  EvpPkeyPtr key(bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                                : nullptr);
  BIO_free(bio);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!key) {
    return openssl_error(absl::StatusCode::kFailedPrecondition,
                         absl::StrCat("CA key ", key_file, ": not a PEM private key"));
  }
  if (X509_check_ca(cert) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("CA certificate ", cert_file, ": not a CA certificate (basicConstraints)"));
  }
  if (X509_check_private_key(cert, key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("CA key ", key_file, " does not match the CA certificate ", cert_file));
  }
  auto issuers = issuers_to_send(*certs);
  if (!issuers.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("CA certificate ", cert_file, ": ", issuers.status().message()));
  }
  // An intermediate CA is sent after each leaf with its issuers; a self-signed one is not.
  std::vector<X509Ptr> chain;
  if (X509_self_signed(cert, 0) != 1) chain.push_back(share(cert));
  for (X509Ptr& c : *issuers) chain.push_back(std::move(c));
  std::string pem;  // the bundle as listed, re-encoded
  for (const X509Ptr& c : *certs) pem += cert_to_pem(c.get());
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(
      std::move(certs->front()), std::move(chain), std::move(key), std::move(pem), false));
}

absl::StatusOr<X509Ptr> CertificateAuthority::mint(std::string_view host, EVP_PKEY* public_key,
                                                   int64_t validity_days) const {
  return mint_multi({std::string(host)}, public_key, validity_days);
}

absl::StatusOr<X509Ptr> CertificateAuthority::mint_multi(const std::vector<std::string>& hosts,
                                                         EVP_PKEY* public_key,
                                                         int64_t validity_days) const {
  if (hosts.empty()) return absl::InvalidArgumentError("no host to mint a certificate for");
  for (const std::string& host : hosts) {
    if (!valid_host(host)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot mint a certificate for \"",
                                                     absl::CEscape(host.substr(0, 64)),
                                                     "\": not a host name or IP address"));
    }
  }
  if (validity_days < 1) return absl::InvalidArgumentError("validity_days must be >= 1");
  X509Ptr cert(X509_new());
  if (!cert) return openssl_error(absl::StatusCode::kInternal, "X509_new");
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), 2) == 1 && set_random_serial(cert.get()) &&
            set_validity(cert.get(), kLeafBackdateSeconds, validity_days) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) == 1 &&
            X509_set_pubkey(cert.get(), public_key) == 1;
  // The CN is informative only (clients check the SAN); it has a 64-byte limit.
  if (ok && hosts[0].size() <= 64) {
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(hosts[0].c_str()), -1,
                                    -1, 0) == 1;
  }
  ok = ok && add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       add_ext(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature") &&
       add_ext(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth") &&
       add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always") &&
       add_san(cert.get(), hosts) && X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0;
  if (!ok) return openssl_error(absl::StatusCode::kInternal, "minting a certificate");
  return cert;
}

std::vector<std::string> admin_cert_hosts(std::string_view listen) {
  std::vector<std::string> hosts;
  auto add = [&hosts](std::string h) {
    for (const std::string& have : hosts) {
      if (have == h) return;
    }
    if (valid_host(h)) hosts.push_back(std::move(h));
  };
  auto addr = net::SocketAddress::parse(listen, /*allow_port_zero=*/true);
  if (addr.has_value()) {
    std::string ip = addr->ip.to_string();
    bool wildcard = ip == "0.0.0.0" || ip == "::";
    if (!wildcard) add(ip);
    if (wildcard || addr->ip.is_loopback()) {
      add("localhost");
      add("127.0.0.1");
      add("::1");
    }
    if (wildcard) {
      char host[256] = {};
      if (::gethostname(host, sizeof(host) - 1) == 0) add(absl::AsciiStrToLower(host));
    }
  } else {
    size_t colon = listen.rfind(':');
    add(absl::AsciiStrToLower(std::string(listen.substr(0, colon))));
  }
  return hosts;
}

}  // namespace pamproxy::tls
