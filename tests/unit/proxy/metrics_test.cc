#include "pamproxy/proxy/metrics.h"

#include <gtest/gtest.h>

#include <vector>

namespace pamproxy::proxy {
namespace {

TEST(ProxyMetrics, RendersEveryWorkerAndCause) {
  ProxyMetrics a, b;
  a.tunnels_opened.add(3);
  b.count_close(Cause::kSniMismatch);
  std::vector<const ProxyMetrics*> all = {&a, &b};
  std::string text = render_prometheus(all);
  EXPECT_NE(text.find("pamproxy_tunnels_opened_total{worker=\"0\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pamproxy_tunnels_closed_total{worker=\"1\",cause=\"sni_mismatch\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("\npamproxy_tls_own_records_unproven_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("\npamproxy_tls_ktls_unproven_total 0\n"), std::string::npos);
  for (size_t c = 0; c < static_cast<size_t>(Cause::kCount); ++c) {
    EXPECT_NE(cause_name(static_cast<Cause>(c)), "unknown");
  }
}

}  // namespace
}  // namespace pamproxy::proxy
