// The chunk-size line tokenizer (see chunk_line.h).

#include "pamproxy/http/chunk_line.h"

#include <string_view>

#include "pamproxy/base/check.h"
#include "src/http/chars.h"

namespace pamproxy::http {
namespace {

constexpr uint64_t kChunkSizeMax = uint64_t{1} << 62;
constexpr std::string_view kSigLiteral = "chunk-signature=";

// qdtext and the characters of a quoted-pair (RFC 9110 section 5.6.4).
bool is_qdtext(char c) {
  const auto u = static_cast<uint8_t>(c);
  return c == '\t' || c == ' ' || c == 0x21 || (u >= 0x23 && u <= 0x5B) ||
         (u >= 0x5D && u <= 0x7E) || u >= 0x80;
}
bool is_quoted_pair_char(char c) {
  const auto u = static_cast<uint8_t>(c);
  return c == '\t' || c == ' ' || (u >= 0x21 && u != 0x7F);
}

}  // namespace

void ChunkLine::reset(ChunkLineSyntax syntax, uint32_t bytes_max) {
  syntax_ = syntax;
  part_ = Part::kSize;
  error_ = Error::kNone;
  bytes_max_ = bytes_max;
  bytes_ = 0;
  match_ = 0;
  size_ = 0;
}

ChunkLine::Result ChunkLine::fail(Error e) {
  error_ = e;
  part_ = Part::kError;
  return Result::kError;
}

ChunkLine::Result ChunkLine::feed(char c) {
  if (part_ == Part::kError) return Result::kError;
  if (part_ == Part::kLf) {
    if (c != '\n') return fail(Error::kBareCr);
    part_ = Part::kSize;
    bytes_ = 0;
    return Result::kEnd;
  }
  if (++bytes_ > bytes_max_) return fail(Error::kChunkLineTooLong);
  switch (part_) {
    case Part::kSize:
      if (chars::hex_value(c) < 0) return fail(Error::kBadChunkSize);
      size_ = static_cast<uint64_t>(chars::hex_value(c));
      part_ = Part::kSizeMore;
      return Result::kMore;
    case Part::kSizeMore:
      if (const int h = chars::hex_value(c); h >= 0) {
        if (size_ > (kChunkSizeMax >> 4)) return fail(Error::kChunkSizeOverflow);
        size_ = (size_ << 4) | static_cast<uint64_t>(h);
        return Result::kMore;
      }
      if (c == ';') {
        switch (syntax_) {
          case ChunkLineSyntax::kHttp: part_ = Part::kExtName; break;
          case ChunkLineSyntax::kAwsUnsigned: return fail(Error::kBadChunkExtension);
          case ChunkLineSyntax::kAwsSigned:
            match_ = 0;
            part_ = Part::kSigLiteral;
            break;
        }
        return Result::kSizeEnd;
      }
      if (c == '\r') {
        if (syntax_ == ChunkLineSyntax::kAwsSigned) return fail(Error::kMissingChunkSignature);
        part_ = Part::kLf;
        return Result::kSizeEnd;
      }
      return fail(c == '\n' ? Error::kBareLf : Error::kBadChunkSize);
    case Part::kSigLiteral:
      if (c != kSigLiteral[match_]) return fail(Error::kMissingChunkSignature);
      if (++match_ < kSigLiteral.size()) return Result::kMore;
      match_ = 0;
      part_ = Part::kSignature;
      return Result::kSignatureStart;
    case Part::kSignature:
      if (!is_signature_char(c)) return fail(Error::kBadChunkSignature);
      if (++match_ < kSignatureHexBytes) return Result::kMore;
      part_ = Part::kSigCr;
      return Result::kSignatureEnd;
    case Part::kSigCr:
      if (c != '\r') return fail(Error::kBadChunkSignature);
      part_ = Part::kLf;
      return Result::kMore;
    default: return extension(c);
  }
}

// An HTTP chunk extension, from the byte after a ';'.
ChunkLine::Result ChunkLine::extension(char c) {
  switch (part_) {
    case Part::kExtName:
      if (!chars::is_token(c)) return fail(Error::kBadChunkExtension);
      part_ = Part::kExtNameMore;
      break;
    case Part::kExtNameMore:
    case Part::kExtToken:
      if (chars::is_token(c)) break;
      if (c == ';') {
        part_ = Part::kExtName;
      } else if (c == '=' && part_ == Part::kExtNameMore) {
        part_ = Part::kExtValue;
      } else if (c == '\r') {
        part_ = Part::kLf;
      } else {
        return fail(c == '\n' ? Error::kBareLf : Error::kBadChunkExtension);
      }
      break;
    case Part::kExtValue:
      if (c == '"') {
        part_ = Part::kExtQuoted;
      } else if (chars::is_token(c)) {
        part_ = Part::kExtToken;
      } else {
        return fail(Error::kBadChunkExtension);
      }
      break;
    case Part::kExtQuoted:
      if (c == '"') {
        part_ = Part::kExtClosed;
      } else if (c == '\\') {
        part_ = Part::kExtEscape;
      } else if (!is_qdtext(c)) {
        return fail(Error::kBadChunkExtension);
      }
      break;
    case Part::kExtEscape:
      if (!is_quoted_pair_char(c)) return fail(Error::kBadChunkExtension);
      part_ = Part::kExtQuoted;
      break;
    case Part::kExtClosed:
      if (c == ';') {
        part_ = Part::kExtName;
      } else if (c == '\r') {
        part_ = Part::kLf;
      } else {
        return fail(Error::kBadChunkExtension);
      }
      break;
    default: PAMPROXY_CHECK(false);
  }
  return Result::kMore;
}

}  // namespace pamproxy::http
