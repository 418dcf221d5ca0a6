// Start-time assembly of the TLS pieces (see include/pamproxy/tls/runtime.h).

#include "pamproxy/tls/runtime.h"

#include <openssl/pem.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pamproxy/base/log.h"

namespace pamproxy::tls {
namespace {

absl::StatusOr<EvpPkeyPtr> read_key_file(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    return openssl_error(absl::StatusCode::kFailedPrecondition,
                         absl::StrCat("admin.key_file ", path, ": cannot read"));
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!key) {
    return openssl_error(absl::StatusCode::kFailedPrecondition,
                         absl::StrCat("admin.key_file ", path, ": not a PEM private key"));
  }
  return key;
}

// admin.cert_file: the certificate, optionally followed by its issuers.
absl::StatusOr<std::vector<X509Ptr>> read_cert_file(const std::string& path) {
  auto pem = read_pem_file(path, "admin.cert_file");
  if (!pem.ok()) return pem.status();
  auto certs = certs_from_pem(*pem);
  if (!certs.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin.cert_file ", path, ": ", certs.status().message()));
  }
  return certs;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerContext>> make_admin_context(const CertificateAuthority& ca,
                                                                  const config::AdminSection& admin,
                                                                  const ContextOptions& options) {
  if (admin.cert_file.empty() != admin.key_file.empty()) {
    return absl::InvalidArgumentError(
        "admin.cert_file and admin.key_file must be set together (or both left empty to mint "
        "the admin certificate from the appliance CA)");
  }
  if (!admin.cert_file.empty()) {
    auto certs = read_cert_file(admin.cert_file);
    if (!certs.ok()) return certs.status();
    auto key = read_key_file(admin.key_file);
    if (!key.ok()) return key.status();
    auto chain = issuers_to_send(*certs);
    if (!chain.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("admin.cert_file ", admin.cert_file, ": ", chain.status().message()));
    }
    auto ctx =
        ServerContext::create_fixed(std::move(certs->front()), std::move(*key), options, *chain);
    if (!ctx.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("admin.cert_file ", admin.cert_file,
                                                        " and admin.key_file ", admin.key_file,
                                                        ": ", ctx.status().message()));
    }
    return ctx;
  }
  std::vector<std::string> hosts = admin_cert_hosts(admin.listen);
  if (hosts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin.listen ", admin.listen, ": no host name or address to certify"));
  }
  auto key = generate_p256_key();
  if (!key.ok()) return key.status();
  auto cert = ca.mint_multi(hosts, key->get(), kAdminCertValidityDays);
  if (!cert.ok()) return cert.status();
  return ServerContext::create_fixed(std::move(*cert), std::move(*key), options, ca.chain());
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::create(const config::Config& config,
                                                         const config::Paths& paths,
                                                         const KtlsProbe& probe) {
  auto rt = std::make_unique<Runtime>();
  auto decision = decide_ktls(config.engine.ktls, probe);
  if (!decision.ok()) return decision.status();
  rt->ktls = *decision;

  auto ca = CertificateAuthority::load_or_create(paths.ca_cert_file, paths.ca_key_file);
  if (!ca.ok()) return ca.status();
  rt->ca = std::move(*ca);
  log::info(rt->ca->created() ? "tls.ca_created" : "tls.ca_loaded")
      .kv("cert", paths.ca_cert_file)
      .kv("key", paths.ca_key_file);

  auto leaves = LeafCache::create(rt->ca, static_cast<size_t>(config.tls.leaf_cache_entries),
                                  config.tls.leaf_validity_days);
  if (!leaves.ok()) return leaves.status();
  rt->leaves = *leaves;

  ContextOptions options;
  options.min_version = config.tls.min_version;
  options.capture_secrets = rt->ktls.enabled;
  options.own_records = config.tls.own_records && !rt->ktls.enabled;
  // Our handshake leaves the records to our record layer, or to the kernel once it takes them.
  options.own_handshake = config.tls.own_handshake && (options.own_records || rt->ktls.enabled);
  auto server = ServerContext::create(rt->leaves, options);
  if (!server.ok()) return server.status();
  rt->proxy_server = std::move(*server);

  ClientOptions client_options;
  client_options.context = options;
  // Upstream legs the pool keeps stay in user space even where the kernel has kTLS (see
  // Tunnel's upstream handshake): their records are ours then.
  client_options.context.own_records = config.tls.own_records;
  client_options.ca_file = config.tls.upstream_ca_file;
  auto upstream = ClientContext::create(client_options);
  if (!upstream.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls.upstream_ca_file: ", upstream.status().message()));
  }
  rt->upstream = std::move(*upstream);

  ContextOptions admin_options;  // the admin API never uses kTLS
  admin_options.min_version = config.tls.min_version;
  auto admin = make_admin_context(*rt->ca, config.admin, admin_options);
  if (!admin.ok()) return admin.status();
  rt->admin_server = std::move(*admin);
  return rt;
}

}  // namespace pamproxy::tls
