#include "pamproxy/sigv4/chunk_signer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aws_examples.h"
#include "pamproxy/sigv4/key_cache.h"

namespace pamproxy::sigv4 {
namespace {

using testing::example_chunked_body;
using testing::kChunkSeedSignature;
using testing::kChunkSignatures;
using testing::kExampleDate;
using testing::kExampleSecret;

const Scope kScope{"20130524", "us-east-1", "s3"};

HmacKey key_for(std::string_view secret) {
  return HmacKey(as_view(derive_signing_key(secret, kScope)));
}

ChunkSignerSetup setup(std::string_view client_secret, std::string_view proxy_secret,
                       std::string_view client_seed, std::string_view proxy_seed,
                       bool trailer = false) {
  ChunkSignerSetup s;
  s.client_key = key_for(client_secret);
  s.proxy_key = key_for(proxy_secret);
  s.amz_date = kExampleDate;
  s.scope = kScope;
  s.client_seed_signature = client_seed;
  s.proxy_seed_signature = proxy_seed;
  s.trailer = trailer;
  return s;
}

struct RunResult {
  Error error = Error::kOk;
  bool done = false;
  std::vector<std::string> patches;
  size_t consumed = 0;
};

// Feeds `body` in pieces of `piece` bytes and applies each patch in place, as the proxy does.
RunResult run(ChunkSigner& signer, std::string& body, size_t piece) {
  RunResult r;
  size_t pos = 0;
  while (pos < body.size() && !r.done) {
    std::string_view in = std::string_view(body).substr(pos, piece);
    while (!in.empty()) {
      ChunkSigner::Step s = signer.feed(in);
      pos += s.consumed;
      in.remove_prefix(s.consumed);
      if (s.kind == ChunkSigner::Kind::kError) {
        r.error = s.error;
        r.consumed = pos;
        return r;
      }
      if (s.kind == ChunkSigner::Kind::kPatch) {
        body.replace(s.patch_offset, 64, s.patch_view());
        r.patches.emplace_back(s.patch_view());
      }
      if (s.kind == ChunkSigner::Kind::kDone) {
        r.done = true;
        break;
      }
    }
  }
  r.consumed = pos;
  return r;
}

TEST(ChunkSigner, AwsPublishedChunkSignatures) {
  // Re-signing with the same key and seed must reproduce AWS's published chunk signatures: each
  // is verified on the way in and recomputed on the way out.
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    ChunkSigner signer;
    ASSERT_TRUE(signer.start(
        setup(kExampleSecret, kExampleSecret, kChunkSeedSignature, kChunkSeedSignature)));
    std::string body = example_chunked_body();
    const std::string original = body;
    RunResult r = run(signer, body, piece);
    ASSERT_EQ(r.error, Error::kOk) << "piece " << piece << " at " << r.consumed;
    EXPECT_TRUE(r.done);
    ASSERT_EQ(r.patches.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(r.patches[i], kChunkSignatures[i]);
    EXPECT_EQ(body, original);
    EXPECT_EQ(r.consumed, 66824u);
    EXPECT_EQ(signer.data_bytes(), 66560u);
  }
}

TEST(ChunkSigner, RewriteChainsFromTheNewSeedAndVerifiesWithTheNewKey) {
  const std::string new_seed(64, '7');
  ChunkSigner signer;
  ASSERT_TRUE(signer.start(setup(kExampleSecret, "record-secret", kChunkSeedSignature, new_seed)));
  std::string body = example_chunked_body();
  const std::string original = body;
  RunResult r = run(signer, body, 1000);
  ASSERT_EQ(r.error, Error::kOk);
  ASSERT_TRUE(r.done);
  EXPECT_EQ(body.size(), original.size());
  EXPECT_NE(body, original);
  // The rewritten body is a valid signed body for the record key and the new seed.
  ChunkSigner check;
  ASSERT_TRUE(check.start(setup("record-secret", "record-secret", new_seed, new_seed)));
  std::string copy = body;
  RunResult again = run(check, copy, 333);
  EXPECT_EQ(again.error, Error::kOk);
  EXPECT_EQ(copy, body);
}

TEST(ChunkSigner, RejectsTamperingAndBrokenFraming) {
  struct Case {
    std::string name;
    std::string body;
    Error error;
  };
  std::string data_flip = example_chunked_body();
  data_flip[100] = 'b';
  std::string sig_flip = example_chunked_body();
  sig_flip[30] = sig_flip[30] == '0' ? '1' : '0';
  std::string no_crlf = example_chunked_body();
  no_crlf[88 + 65536] = 'x';
  std::string bad_size = "zz;chunk-signature=" + std::string(kChunkSignatures[0]) + "\r\n";
  std::string no_sig = "10000\r\n";
  std::string huge = "ffffffffff;chunk-signature=" + std::string(kChunkSignatures[0]) + "\r\n";
  std::string long_line = std::string(300, '1');
  std::string upper = example_chunked_body();
  upper[22] = 'A';
  const Case cases[] = {
      {"data", data_flip, Error::kChunkSignatureMismatch},
      {"signature", sig_flip, Error::kChunkSignatureMismatch},
      {"crlf", no_crlf, Error::kChunkMalformed},
      {"size", bad_size, Error::kChunkMalformed},
      {"no signature", no_sig, Error::kChunkMalformed},
      {"huge", huge, Error::kChunkMalformed},
      {"long line", long_line, Error::kChunkMalformed},
      {"uppercase hex", upper, Error::kChunkMalformed},
  };
  for (const Case& c : cases) {
    ChunkSigner signer;
    ASSERT_TRUE(signer.start(setup(kExampleSecret, "x", kChunkSeedSignature, kChunkSeedSignature)));
    std::string body = c.body;
    EXPECT_EQ(run(signer, body, 512).error, c.error) << c.name;
    // After an error the signer stays failed.
    EXPECT_EQ(signer.feed("0").kind, ChunkSigner::Kind::kError) << c.name;
  }
  ChunkSigner signer;
  EXPECT_FALSE(signer.start(setup(kExampleSecret, "x", "short", kChunkSeedSignature)));
}

std::string hex(const Digest& d) {
  char h[64];
  hex_encode(d, h);
  return std::string(h, 64);
}

// The chain written out from AWS's description of the string to sign, independently of the
// signer's own buffer handling.
std::string chain_sig(std::string_view secret, std::string_view kind, std::string_view prev,
                      std::string_view hashes) {
  const std::string sts = std::string(kind) +
                          "\n20130524T000000Z\n20130524/us-east-1/s3/"
                          "aws4_request\n" +
                          std::string(prev) + "\n" + std::string(hashes);
  return hex(hmac_sha256(as_view(derive_signing_key(secret, kScope)), sts));
}

struct TrailerSigs {
  std::string s0, s1, s2;
};

TrailerSigs trailer_sigs(std::string_view secret, std::string_view seed, std::string_view crc) {
  TrailerSigs t;
  const std::string empty(kEmptySha256);
  t.s0 = chain_sig(secret, "AWS4-HMAC-SHA256-PAYLOAD", seed, empty + "\n" + hex(sha256("hello")));
  t.s1 = chain_sig(secret, "AWS4-HMAC-SHA256-PAYLOAD", t.s0, empty + "\n" + empty);
  t.s2 = chain_sig(secret, "AWS4-HMAC-SHA256-TRAILER", t.s1,
                   hex(sha256("x-amz-checksum-crc32:" + std::string(crc) + "\n")));
  return t;
}

std::string trailer_body(const TrailerSigs& t, std::string_view crc) {
  return "5;chunk-signature=" + t.s0 + "\r\nhello\r\n0;chunk-signature=" + t.s1 + "\r\n" +
         "x-amz-checksum-crc32:" + std::string(crc) + "\r\nx-amz-trailer-signature:" + t.s2 +
         "\r\n\r\n";
}

TEST(ChunkSigner, TrailerSignatureIsVerifiedAndRewritten) {
  const std::string seed(64, 'a');
  const std::string new_seed(64, 'b');
  const TrailerSigs client = trailer_sigs("token", seed, "NhCmhg==");
  const TrailerSigs proxy = trailer_sigs("record", new_seed, "NhCmhg==");
  for (size_t piece : {size_t{1}, size_t{5}, size_t{1000}}) {
    ChunkSigner signer;
    ASSERT_TRUE(signer.start(setup("token", "record", seed, new_seed, true)));
    std::string body = trailer_body(client, "NhCmhg==");
    RunResult r = run(signer, body, piece);
    ASSERT_EQ(r.error, Error::kOk) << piece;
    EXPECT_TRUE(r.done);
    EXPECT_EQ(body, trailer_body(proxy, "NhCmhg=="));
    EXPECT_EQ(r.consumed, body.size());
  }
  // A trailer value changed after signing, a missing trailer signature: refused.
  ChunkSigner tampered;
  ASSERT_TRUE(tampered.start(setup("token", "record", seed, new_seed, true)));
  std::string body = trailer_body(client, "NhCmhg==");
  body.replace(body.find("NhCmhg=="), 8, "AAAAAA==");
  EXPECT_EQ(run(tampered, body, 64).error, Error::kChunkSignatureMismatch);
  ChunkSigner unsigned_trailer;
  ASSERT_TRUE(unsigned_trailer.start(setup("token", "record", seed, new_seed, true)));
  body = "0;chunk-signature=" + trailer_sigs("token", seed, "x").s1 + "\r\n\r\n";
  // s1 of that helper chains from s0; build the single final chunk's own signature instead.
  body = "0;chunk-signature=" +
         chain_sig("token", "AWS4-HMAC-SHA256-PAYLOAD", seed,
                   std::string(kEmptySha256) + "\n" + std::string(kEmptySha256)) +
         "\r\n\r\n";
  EXPECT_EQ(run(unsigned_trailer, body, 64).error, Error::kChunkMalformed);
}

TEST(ChunkSigner, BytesAfterTheBodyAreNotConsumed) {
  ChunkSigner signer;
  ASSERT_TRUE(signer.start(
      setup(kExampleSecret, kExampleSecret, kChunkSeedSignature, kChunkSeedSignature)));
  std::string body = example_chunked_body() + "GET / HTTP/1.1\r\n";
  RunResult r = run(signer, body, body.size());
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.consumed, 66824u);
}

}  // namespace
}  // namespace pamproxy::sigv4
