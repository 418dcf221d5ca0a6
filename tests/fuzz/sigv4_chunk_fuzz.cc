// Fuzz target: the aws-chunked chunk signer. The first byte picks the piece size the body is fed
// in, and whether the -TRAILER variant is expected; the rest is the body. Invariants: no crash,
// consumption never exceeds the input, offsets only grow, each patch lies inside bytes already
// fed, and once failed the signer stays failed.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pamproxy/sigv4/chunk_signer.h"
#include "pamproxy/sigv4/key_cache.h"

using namespace pamproxy::sigv4;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + (data[0] & 0x3f);
  const bool trailer = (data[0] & 0x40) != 0;
  const Scope scope{"20130524", "us-east-1", "s3"};
  static const HmacKey key(as_view(derive_signing_key("k", scope)));
  ChunkSignerSetup setup;
  setup.client_key = key;
  setup.proxy_key = key;
  setup.amz_date = "20130524T000000Z";
  setup.scope = scope;
  setup.client_seed_signature = kEmptySha256;
  setup.proxy_seed_signature = kEmptySha256;
  setup.trailer = trailer;
  setup.chunk_bytes_max = 1 << 20;
  ChunkSigner signer;
  if (!signer.start(setup)) std::abort();
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t pos = 0;
  bool failed = false;
  while (pos < body.size()) {
    std::string_view in = body.substr(pos, piece);
    const uint64_t before = signer.offset();
    const ChunkSigner::Step s = signer.feed(in);
    if (s.consumed > in.size() || signer.offset() < before) std::abort();
    if (failed && s.kind != ChunkSigner::Kind::kError) std::abort();
    pos += s.consumed;
    if (s.kind == ChunkSigner::Kind::kError) {
      failed = true;
      if (s.consumed == 0 && pos < body.size()) {
        // A failed signer consumes nothing more; stop.
        break;
      }
      continue;
    }
    if (s.kind == ChunkSigner::Kind::kPatch &&
        (s.patch_offset + kSignatureHexLength > signer.offset() ||
         !is_lower_hex64(s.patch_view()))) {
      std::abort();
    }
    if (s.kind == ChunkSigner::Kind::kDone) break;
    if (s.consumed == 0 && s.kind == ChunkSigner::Kind::kNeedMore) std::abort();
  }
  return 0;
}
