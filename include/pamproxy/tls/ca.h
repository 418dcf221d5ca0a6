#pragma once
// The appliance CA: an ECDSA P-256 key and a self-signed certificate that users trust
// (AWS_CA_BUNDLE), and the minting of leaf certificates for the hosts users reach through the
// proxy and for the admin API. A CA of the organisation's own PKI works too: its certificate
// file may list the CA, then its issuers up to the root, and the proxy sends the chain after
// each leaf so clients that trust only the root verify it.
//
// Owns: creating the CA on first start (key file 0600, its directory 0700), loading it on later
// starts, checking that the certificate and key belong together, minting.
// Never: writes a key anywhere but the configured path, logs key material, or mints a
// certificate for a name it has not validated (see `valid_host`).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pamproxy/tls/openssl.h"

namespace pamproxy::tls {

// Leaves are backdated by this much so a client whose clock runs a little behind still accepts
// a certificate minted a moment ago.
inline constexpr int64_t kLeafBackdateSeconds = 3600;

class CertificateAuthority {
 public:
  // Loads the CA from `cert_file` and `key_file`, or creates both when neither exists (the key
  // is written 0600, missing directories 0700). `cert_file` holds the CA certificate, optionally
  // followed by its issuers in order. Only one of the two present, an unreadable or unparsable
  // file, a certificate that is not a CA, a key that does not match the first certificate, or
  // an issuer that did not sign the certificate before it: an error naming the file and the
  // problem.
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> load_or_create(
      const std::string& cert_file, const std::string& key_file);

  // A CA that lives in memory only (tests, benchmarks).
  static absl::StatusOr<std::unique_ptr<CertificateAuthority>> generate(
      std::string_view common_name);

  // Mints a certificate for `host` (a DNS name or an IP literal; see `valid_host`) carrying
  // `public_key`, valid from now - kLeafBackdateSeconds for `validity_days`, with a random
  // serial, SAN = the host, EKU serverAuth. Thread-safe (the CA is immutable after creation).
  absl::StatusOr<X509Ptr> mint(std::string_view host, EVP_PKEY* public_key,
                               int64_t validity_days) const;

  // Mints one certificate naming several hosts (the admin API's listen names and addresses).
  absl::StatusOr<X509Ptr> mint_multi(const std::vector<std::string>& hosts, EVP_PKEY* public_key,
                                     int64_t validity_days) const;

  X509* cert() const { return cert_.get(); }
  // The certificates sent after every leaf: the CA's own and its issuers', self-signed ones left
  // out. Empty for the usual self-signed appliance CA (clients hold it as their trust anchor).
  const std::vector<X509Ptr>& chain() const { return chain_; }
  // The CA certificate and the issuers its file listed, as PEM: what /api/v1/ca.pem serves and
  // `pamctl ca export` writes (a bundle a client can trust as it is).
  const std::string& cert_pem() const { return cert_pem_; }
  // True when load_or_create made a new CA on this start (worth a log line: clients must trust
  // the new one).
  bool created() const { return created_; }

 private:
  CertificateAuthority(X509Ptr cert, std::vector<X509Ptr> chain, EvpPkeyPtr key,
                       std::string cert_pem, bool created);

  X509Ptr cert_;
  std::vector<X509Ptr> chain_;
  EvpPkeyPtr key_;
  std::string cert_pem_;
  bool created_;
};

// True when `host` is something a leaf may be minted for: an IPv4/IPv6 literal, or a DNS name of
// at most 253 bytes made of labels of 1..63 bytes of [A-Za-z0-9-_], not starting or ending with
// '-'. Wildcards and empty labels are refused.
bool valid_host(std::string_view host);
// True for an IPv4 or IPv6 literal (no brackets).
bool is_ip_literal(std::string_view host);

// The names the admin API's certificate should carry for its `[admin] listen` value
// ("127.0.0.1:8443", "[::1]:8443", "0.0.0.0:8443", "admin.example:8443"): the host itself,
// "localhost" and the loopback addresses for a loopback or wildcard address, and the machine's
// host name for a wildcard address.
std::vector<std::string> admin_cert_hosts(std::string_view listen);

}  // namespace pamproxy::tls
