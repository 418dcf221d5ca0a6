#pragma once
// Signed aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): verifies each chunk
// signature with the client's (token) key and produces its replacement with the proxy's (record)
// key, chained from the re-signed seed. The body on the wire:
//
//   10000;chunk-signature=<64 hex>\r\n <65536 bytes> \r\n
//   400;chunk-signature=<64 hex>\r\n <1024 bytes> \r\n
//   0;chunk-signature=<64 hex>\r\n
//   [x-amz-checksum-crc32:...\r\n x-amz-trailer-signature:<64 hex>\r\n]   (-TRAILER only)
//   \r\n
//
// Chunk i signs "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<signature i-1>\n<sha256('')>\n
// <sha256(data i)>", the trailer "AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<last chunk
// signature>\n<sha256(trailer lines as 'name:value\n')>".
//
// The signer is fed the body as it arrives, in pieces of any size; it hashes chunk data as it
// passes and buffers nothing but the current header line (bounded). A chunk's signature sits in
// its header, before the data it covers, so the replacement is known only once the data has been
// seen: feed() then reports a patch, "write these 64 characters at body offset N", and the caller
// holds the bytes from that offset until it has applied the patch. Same length, so framing and
// Content-Length never change. No allocation, no I/O.

#include <cstdint>
#include <string_view>

#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/error.h"
#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

struct ChunkSignerSetup {
  HmacKey client_key;  // derived signing key of the secret the client signed with
  HmacKey proxy_key;   // derived signing key of the re-signing credentials
  std::string_view amz_date;
  Scope scope;
  std::string_view client_seed_signature;  // the request's signature (client)
  std::string_view proxy_seed_signature;   // the re-signed request's signature
  bool trailer = false;                    // -TRAILER variant
  uint64_t chunk_bytes_max = 16 * 1024 * 1024;
};

// The signature of one chunk (the client side of the chain: SDKs, load generators, tests).
// `prev_signature` is the seed or the previous chunk's signature; writes 64 hex chars to `out`.
void sign_chunk(const HmacKey& key, std::string_view amz_date, const Scope& scope,
                std::string_view prev_signature, std::string_view data, char* out);

class ChunkSigner {
 public:
  enum class Kind : uint8_t {
    kNeedMore,  // all of the input consumed; feed more
    kPatch,     // write `patch` at body offset `patch_offset`; keep feeding the rest
    kDone,      // the body is complete (bytes after it are not part of it)
    kError,     // `error` says why; the request must be aborted
  };
  struct Step {
    Kind kind = Kind::kNeedMore;
    size_t consumed = 0;
    uint64_t patch_offset = 0;
    char patch[kSignatureHexLength];
    Error error = Error::kOk;
    std::string_view patch_view() const { return {patch, kSignatureHexLength}; }
  };

  // False when the setup is unusable (seed signatures not 64 hex, scope too long).
  bool start(const ChunkSignerSetup& setup);
  // Consumes a prefix of `data` (the next bytes of the body) and says what happened.
  Step feed(std::string_view data);

  uint64_t offset() const { return offset_; }
  uint64_t chunks() const { return chunks_; }
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  enum class State : uint8_t {
    kSizeLine,
    kData,
    kDataEnd,
    kTrailerLine,
    kFinalCrlf,
    kDone,
    kFailed
  };
  Step fail(Step s, Error e);
  bool parse_size_line(Step& s);
  bool sign_chunk(const Digest& data_hash, Step& s);
  bool handle_trailer_line(Step& s);
  void emit(std::string_view prefix, std::string_view hash_hex, const HmacKey& key,
            const char* prev, char* out);

  ChunkSignerSetup setup_;
  char scope_line_[200];  // "<date>\n<scope>\n"
  size_t scope_line_size_ = 0;
  char client_prev_[kSignatureHexLength];
  char proxy_prev_[kSignatureHexLength];
  char client_sig_[kSignatureHexLength];  // of the chunk being received
  uint64_t sig_offset_ = 0;
  State state_ = State::kFailed;
  char line_[256];
  size_t line_size_ = 0;
  uint64_t line_offset_ = 0;
  uint64_t remaining_ = 0;
  bool final_chunk_ = false;
  Sha256 data_hash_;
  Sha256 trailer_hash_;
  uint64_t offset_ = 0;
  uint64_t chunks_ = 0;
  uint64_t data_bytes_ = 0;
};

}  // namespace pamproxy::sigv4
