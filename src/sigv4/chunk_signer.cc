#include "pamproxy/sigv4/chunk_signer.h"

#include <cstring>

namespace pamproxy::sigv4 {
namespace {

constexpr std::string_view kChunkPrefix = "AWS4-HMAC-SHA256-PAYLOAD\n";
constexpr std::string_view kTrailerPrefix = "AWS4-HMAC-SHA256-TRAILER\n";
constexpr std::string_view kSignatureExt = ";chunk-signature=";
constexpr std::string_view kTrailerSignature = "x-amz-trailer-signature:";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void sign_chunk(const HmacKey& key, std::string_view amz_date, const Scope& scope,
                std::string_view prev_signature, std::string_view data, char* out) {
  // The string to sign is short and bounded (scope fields are checked by callers).
  char buf[512];
  size_t n = 0;
  auto put = [&](std::string_view s) {
    const size_t k = s.size() < sizeof buf - n ? s.size() : sizeof buf - n;
    std::memcpy(buf + n, s.data(), k);
    n += k;
  };
  char data_hex[kSignatureHexLength];
  hex_encode(sha256(data), data_hex);
  put(kChunkPrefix);
  put(amz_date);
  put("\n");
  put(scope.date);
  put("/");
  put(scope.region);
  put("/");
  put(scope.service);
  put("/aws4_request\n");
  put(prev_signature);
  put("\n");
  put(kEmptySha256);
  put("\n");
  put(std::string_view(data_hex, sizeof data_hex));
  hex_encode(key.mac(std::string_view(buf, n)), out);
}

bool ChunkSigner::start(const ChunkSignerSetup& setup) {
  state_ = State::kFailed;
  if (!is_lower_hex64(setup.client_seed_signature) || !is_lower_hex64(setup.proxy_seed_signature) ||
      setup.amz_date.size() != kAmzDateLength || setup.scope.date.size() != 8 ||
      setup.scope.region.size() > 64 || setup.scope.service.size() > 64) {
    return false;
  }
  setup_ = setup;
  // The views in setup_ are not needed after this: copy what the chain uses.
  char* p = scope_line_;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  put(setup.amz_date);
  put("\n");
  put(setup.scope.date);
  put("/");
  put(setup.scope.region);
  put("/");
  put(setup.scope.service);
  put("/aws4_request\n");
  scope_line_size_ = static_cast<size_t>(p - scope_line_);
  setup_.amz_date = {};
  setup_.scope = {};
  setup_.client_seed_signature = setup_.proxy_seed_signature = {};
  std::memcpy(client_prev_, setup.client_seed_signature.data(), kSignatureHexLength);
  std::memcpy(proxy_prev_, setup.proxy_seed_signature.data(), kSignatureHexLength);
  state_ = State::kSizeLine;
  line_size_ = 0;
  line_offset_ = 0;
  offset_ = 0;
  chunks_ = 0;
  data_bytes_ = 0;
  final_chunk_ = false;
  return true;
}

ChunkSigner::Step ChunkSigner::fail(Step s, Error e) {
  state_ = State::kFailed;
  s.kind = Kind::kError;
  s.error = e;
  return s;
}

void ChunkSigner::emit(std::string_view prefix, std::string_view hash_hex, const HmacKey& key,
                       const char* prev, char* out) {
  // prefix + date\nscope\n + prev\n + hash_hex: at most 25 + 200 + 65 + 130 bytes.
  char sts[512];
  char* p = sts;
  std::memcpy(p, prefix.data(), prefix.size());
  p += prefix.size();
  std::memcpy(p, scope_line_, scope_line_size_);
  p += scope_line_size_;
  std::memcpy(p, prev, kSignatureHexLength);
  p += kSignatureHexLength;
  *p++ = '\n';
  std::memcpy(p, hash_hex.data(), hash_hex.size());
  p += hash_hex.size();
  hex_encode(key.mac(std::string_view(sts, static_cast<size_t>(p - sts))), out);
}

bool ChunkSigner::sign_chunk(const Digest& data_hash, Step& s) {
  char hashes[kEmptySha256.size() + 1 + kSignatureHexLength];
  std::memcpy(hashes, kEmptySha256.data(), kEmptySha256.size());
  hashes[kEmptySha256.size()] = '\n';
  hex_encode(data_hash, hashes + kEmptySha256.size() + 1);
  const std::string_view h(hashes, sizeof hashes);
  char expected[kSignatureHexLength];
  emit(kChunkPrefix, h, setup_.client_key, client_prev_, expected);
  if (!constant_time_equal(std::string_view(expected, sizeof expected),
                           std::string_view(client_sig_, sizeof client_sig_))) {
    return false;
  }
  emit(kChunkPrefix, h, setup_.proxy_key, proxy_prev_, s.patch);
  std::memcpy(client_prev_, client_sig_, kSignatureHexLength);
  std::memcpy(proxy_prev_, s.patch, kSignatureHexLength);
  s.kind = Kind::kPatch;
  s.patch_offset = sig_offset_;
  ++chunks_;
  return true;
}

// "<hex size>;chunk-signature=<64 hex>" (the CRLF already stripped).
bool ChunkSigner::parse_size_line(Step& s) {
  const std::string_view line(line_, line_size_);
  const size_t semi = line.find(';');
  if (semi == 0 || semi == std::string_view::npos || semi > 16) return false;
  uint64_t size = 0;
  for (size_t i = 0; i < semi; ++i) {
    const int d = hex_digit(line[i]);
    if (d < 0) return false;
    size = size * 16 + static_cast<uint64_t>(d);
  }
  if (size > setup_.chunk_bytes_max) return false;
  if (line.substr(semi, kSignatureExt.size()) != kSignatureExt) return false;
  const std::string_view sig = line.substr(semi + kSignatureExt.size());
  if (!is_lower_hex64(sig)) return false;
  std::memcpy(client_sig_, sig.data(), kSignatureHexLength);
  sig_offset_ = line_offset_ + semi + kSignatureExt.size();
  remaining_ = size;
  final_chunk_ = size == 0;
  data_hash_ = Sha256();
  (void)s;
  return true;
}

// A trailer line (CRLF stripped): "name:value", or the trailer signature that ends them.
bool ChunkSigner::handle_trailer_line(Step& s) {
  const std::string_view line(line_, line_size_);
  if (line.substr(0, kTrailerSignature.size()) == kTrailerSignature) {
    const std::string_view sig = line.substr(kTrailerSignature.size());
    if (!is_lower_hex64(sig)) return false;
    char hash_hex[kSignatureHexLength];
    hex_encode(trailer_hash_.finish(), hash_hex);
    const std::string_view h(hash_hex, sizeof hash_hex);
    char expected[kSignatureHexLength];
    emit(kTrailerPrefix, h, setup_.client_key, client_prev_, expected);
    if (!constant_time_equal(std::string_view(expected, sizeof expected), sig)) {
      s.error = Error::kChunkSignatureMismatch;
      return false;
    }
    emit(kTrailerPrefix, h, setup_.proxy_key, proxy_prev_, s.patch);
    s.kind = Kind::kPatch;
    s.patch_offset = line_offset_ + kTrailerSignature.size();
    state_ = State::kFinalCrlf;
    return true;
  }
  const size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  trailer_hash_.update(line);
  trailer_hash_.update("\n", 1);
  return true;
}

ChunkSigner::Step ChunkSigner::feed(std::string_view data) {
  Step s;
  while (s.consumed < data.size() && s.kind == Kind::kNeedMore) {
    const std::string_view in = data.substr(s.consumed);
    switch (state_) {
      case State::kFailed: return fail(s, Error::kChunkMalformed);
      case State::kDone: s.kind = Kind::kDone; return s;
      case State::kData: {
        const size_t n = in.size() < remaining_ ? in.size() : static_cast<size_t>(remaining_);
        data_hash_.update(in.data(), n);
        remaining_ -= n;
        data_bytes_ += n;
        s.consumed += n;
        offset_ += n;
        if (remaining_ == 0) {
          state_ = State::kDataEnd;
          line_size_ = 0;
          if (!sign_chunk(data_hash_.finish(), s)) return fail(s, Error::kChunkSignatureMismatch);
        }
        break;
      }
      case State::kDataEnd:
      case State::kFinalCrlf: {
        // Exactly "\r\n".
        const char want = line_size_ == 0 ? '\r' : '\n';
        if (in[0] != want) return fail(s, Error::kChunkMalformed);
        ++s.consumed;
        ++offset_;
        if (++line_size_ == 2) {
          line_size_ = 0;
          line_offset_ = offset_;
          if (state_ == State::kFinalCrlf) {
            state_ = State::kDone;
            s.kind = Kind::kDone;
          } else {
            state_ = State::kSizeLine;
          }
        }
        break;
      }
      case State::kSizeLine:
      case State::kTrailerLine: {
        const char c = in[0];
        ++s.consumed;
        ++offset_;
        if (c != '\n') {
          if (line_size_ == sizeof line_) return fail(s, Error::kChunkMalformed);
          line_[line_size_++] = c;
          break;
        }
        if (line_size_ == 0 || line_[line_size_ - 1] != '\r')
          return fail(s, Error::kChunkMalformed);
        --line_size_;
        if (state_ == State::kSizeLine) {
          if (!parse_size_line(s)) return fail(s, Error::kChunkMalformed);
          if (final_chunk_) {
            if (!sign_chunk(Sha256().finish(), s)) return fail(s, Error::kChunkSignatureMismatch);
            if (setup_.trailer) {
              state_ = State::kTrailerLine;
              trailer_hash_ = Sha256();
            } else {
              state_ = State::kFinalCrlf;
            }
          } else {
            state_ = State::kData;
          }
        } else {
          s.error = Error::kChunkMalformed;
          if (line_size_ == 0 || !handle_trailer_line(s)) return fail(s, s.error);
        }
        line_size_ = 0;
        line_offset_ = offset_;
        break;
      }
    }
  }
  if (state_ == State::kDone && s.kind == Kind::kNeedMore) s.kind = Kind::kDone;
  return s;
}

}  // namespace pamproxy::sigv4
