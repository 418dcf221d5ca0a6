#pragma once
// Everything TLS that pamproxyd sets up once at start, from the configuration: the CA (created on
// first start), the shared leaf cache, the client-facing server context, the upstream client
// context, the admin API's context, and the kTLS decision. Workers share these read-only (the
// caches inside are thread-safe); nothing here is rebuilt on SIGHUP (the [tls] keys and
// engine.ktls need a restart).
//
//   auto probe = tls::probe_ktls();
//   auto runtime = tls::Runtime::create(config, paths, probe);   // a clear error, or ready
//   tls::Session::server(*runtime->proxy_server) ...            // per accepted tunnel
//   tls::Session::client(*runtime->upstream, host, port) ...    // per upstream connection

#include <memory>

#include "absl/status/statusor.h"
#include "pamproxy/config/config.h"
#include "pamproxy/tls/ca.h"
#include "pamproxy/tls/context.h"
#include "pamproxy/tls/ktls.h"
#include "pamproxy/tls/leaf_cache.h"

namespace pamproxy::tls {

// The admin API certificate's validity when minted (it is minted again at each start).
inline constexpr int64_t kAdminCertValidityDays = 397;

struct Runtime {
  std::shared_ptr<CertificateAuthority> ca;
  std::shared_ptr<LeafCache> leaves;
  std::unique_ptr<ServerContext> proxy_server;  // terminates clients' TLS inside CONNECT
  std::unique_ptr<ClientContext> upstream;      // to the real endpoints
  std::unique_ptr<ServerContext> admin_server;  // the admin API ([admin] cert_file or minted)
  KtlsDecision ktls;

  // Logs tls.ca_created / tls.ca_loaded and the kTLS decision. Errors name the file or key.
  static absl::StatusOr<std::unique_ptr<Runtime>> create(const config::Config& config,
                                                         const config::Paths& paths,
                                                         const KtlsProbe& probe);
};

// The admin API's context: [admin] cert_file/key_file when set (both or neither), else a
// certificate minted from `ca` for admin_cert_hosts([admin] listen).
absl::StatusOr<std::unique_ptr<ServerContext>> make_admin_context(const CertificateAuthority& ca,
                                                                  const config::AdminSection& admin,
                                                                  const ContextOptions& options);

}  // namespace pamproxy::tls
