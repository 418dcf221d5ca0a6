#include "pamproxy/sigv4/payload.h"

#include <gtest/gtest.h>

#include <string>

namespace pamproxy::sigv4 {
namespace {

TEST(Payload, ClassifiesEveryMode) {
  EXPECT_EQ(classify_payload("", false), PayloadMode::kAbsent);
  EXPECT_EQ(classify_payload(std::string(64, 'a'), true), PayloadMode::kHexHash);
  EXPECT_EQ(classify_payload(std::string(64, 'A'), true), PayloadMode::kHexHash);
  EXPECT_EQ(classify_payload("UNSIGNED-PAYLOAD", true), PayloadMode::kUnsigned);
  EXPECT_EQ(classify_payload("STREAMING-UNSIGNED-PAYLOAD-TRAILER", true),
            PayloadMode::kStreamingUnsignedTrailer);
  EXPECT_EQ(classify_payload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", true),
            PayloadMode::kStreamingSigned);
  EXPECT_EQ(classify_payload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", true),
            PayloadMode::kStreamingSignedTrailer);
  EXPECT_EQ(classify_payload("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", true),
            PayloadMode::kStreamingEcdsa);
  EXPECT_EQ(classify_payload("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER", true),
            PayloadMode::kStreamingEcdsa);
  for (std::string_view bad :
       {"", "unsigned-payload", "STREAMING-AWS4-HMAC-SHA256", "e3b0c442", "UNSIGNED-PAYLOAD "}) {
    EXPECT_EQ(classify_payload(bad, true), PayloadMode::kInvalid) << bad;
  }
  EXPECT_EQ(classify_payload(std::string(63, 'a') + "g", true), PayloadMode::kInvalid);
  EXPECT_TRUE(has_signed_chunks(PayloadMode::kStreamingSignedTrailer));
  EXPECT_FALSE(has_signed_chunks(PayloadMode::kStreamingUnsignedTrailer));
}

}  // namespace
}  // namespace pamproxy::sigv4
