#pragma once
// AWS's published Signature Version 4 examples for S3 ("Authenticating Requests: Using the
// Authorization Header", "Query String Authentication", and "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks"): the example keys, time and
// the signatures AWS prints. Independent expected values, not computed by this code.

#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4::testing {

inline constexpr std::string_view kExampleAccessKey = "AKIAIOSFODNN7EXAMPLE";
inline constexpr std::string_view kExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
inline constexpr std::string_view kExampleDate = "20130524T000000Z";
inline constexpr int64_t kExampleTime = 1369353600;  // 2013-05-24T00:00:00Z

// The chunked upload example: 65536 + 1024 bytes of 'a', 64 KiB chunks.
inline constexpr std::string_view kChunkSeedSignature =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
inline constexpr std::string_view kChunkSignatures[3] = {
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
};

inline std::string example_chunked_body() {
  std::string b;
  b += "10000;chunk-signature=" + std::string(kChunkSignatures[0]) + "\r\n";
  b += std::string(65536, 'a') + "\r\n";
  b += "400;chunk-signature=" + std::string(kChunkSignatures[1]) + "\r\n";
  b += std::string(1024, 'a') + "\r\n";
  b += "0;chunk-signature=" + std::string(kChunkSignatures[2]) + "\r\n\r\n";
  return b;
}

}  // namespace pamproxy::sigv4::testing
