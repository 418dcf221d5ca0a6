// The body de-framer's state machine. Data moves in bulk (one step per contiguous run); framing
// is read a byte at a time, which costs nothing measurable since a chunk line is a few bytes per
// chunk of kilobytes.

#include <algorithm>

#include "pamproxy/base/check.h"
#include "pamproxy/http/body.h"
#include "src/http/chars.h"

namespace pamproxy::http {
namespace {

constexpr uint64_t kChunkSizeMax = uint64_t{1} << 62;

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

void BodyDecoder::reset(BodyKind kind, uint64_t content_length) {
  error_ = Error::kNone;
  remaining_ = 0;
  offset_ = 0;
  line_offset_ = 0;
  ext_offset_ = 0;
  line_bytes_ = 0;
  trailer_bytes_ = 0;
  trailer_count_ = 0;
  switch (kind) {
    case BodyKind::kNone: state_ = State::kDone; break;
    case BodyKind::kContentLength:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kLength;
      break;
    case BodyKind::kChunked: state_ = State::kSize; break;
    case BodyKind::kUntilClose: state_ = State::kUntilClose; break;
  }
}

Error BodyDecoder::finish_at_eof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return Error::kNone;
  }
  if (state_ == State::kDone) return Error::kNone;
  if (state_ == State::kError) return error_;
  error_ = Error::kTruncatedBody;
  state_ = State::kError;
  return error_;
}

BodyStep BodyDecoder::fail(Error e) {
  error_ = e;
  state_ = State::kError;
  return {BodyStep::kError, 0};
}

BodyStep BodyDecoder::next(std::string_view in) {
  switch (state_) {
    case State::kDone: return {BodyStep::kDone, 0};
    case State::kError: return {BodyStep::kError, 0};
    default: break;
  }
  if (in.empty()) return {BodyStep::kNeedMore, 0};
  switch (state_) {
    case State::kUntilClose: offset_ += in.size(); return {BodyStep::kData, in.size()};
    case State::kLength:
    case State::kData: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      remaining_ -= n;
      offset_ += n;
      if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataCr;
      return {BodyStep::kData, n};
    }
    default: return framing(in);
  }
}

BodyStep BodyDecoder::framing(std::string_view in) {
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    const uint64_t at = offset_ + i;
    ++i;
    if (state_ == State::kSize) {
      line_offset_ = at;
      line_bytes_ = 1;
      if (chars::hex_value(c) < 0) return fail(Error::kBadChunkSize);
      remaining_ = static_cast<uint64_t>(chars::hex_value(c));
      state_ = State::kSizeMore;
      continue;
    }
    if (state_ >= State::kSizeMore && state_ <= State::kExtClosed) {
      if (++line_bytes_ > limits_.chunk_line_bytes_max) return fail(Error::kChunkLineTooLong);
    } else if (state_ == State::kTrailerName || state_ == State::kTrailerValue) {
      ++line_bytes_;
    }
    switch (state_) {
      case State::kSizeMore:
        if (const int h = chars::hex_value(c); h >= 0) {
          if (remaining_ > (kChunkSizeMax >> 4)) return fail(Error::kChunkSizeOverflow);
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(h);
        } else if (c == ';') {
          ext_offset_ = at;
          state_ = State::kExtName;
        } else if (c == '\r') {
          ext_offset_ = at;
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          return fail(Error::kBareLf);
        } else {
          return fail(Error::kBadChunkSize);
        }
        break;
      case State::kExtName:
        if (!chars::is_token(c)) return fail(Error::kBadChunkExtension);
        state_ = State::kExtNameMore;
        break;
      case State::kExtNameMore:
      case State::kExtToken:
        if (chars::is_token(c)) break;
        if (c == ';') {
          state_ = State::kExtName;
        } else if (c == '=' && state_ == State::kExtNameMore) {
          state_ = State::kExtValue;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail(c == '\n' ? Error::kBareLf : Error::kBadChunkExtension);
        }
        break;
      case State::kExtValue:
        if (c == '"') {
          state_ = State::kExtQuoted;
        } else if (chars::is_token(c)) {
          state_ = State::kExtToken;
        } else {
          return fail(Error::kBadChunkExtension);
        }
        break;
      case State::kExtQuoted:
        if (c == '"') {
          state_ = State::kExtClosed;
        } else if (c == '\\') {
          state_ = State::kExtEscape;
        } else if (!is_qdtext(c)) {
          return fail(Error::kBadChunkExtension);
        }
        break;
      case State::kExtEscape:
        if (!is_quoted_pair_char(c)) return fail(Error::kBadChunkExtension);
        state_ = State::kExtQuoted;
        break;
      case State::kExtClosed:
        if (c == ';') {
          state_ = State::kExtName;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail(Error::kBadChunkExtension);
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return fail(Error::kBareCr);
        offset_ += i;
        if (remaining_ == 0) {
          state_ = State::kTrailerLine;
          line_bytes_ = 0;
        } else {
          state_ = State::kData;
        }
        return {BodyStep::kFraming, i, true, remaining_};
      case State::kDataCr:
        if (c != '\r') return fail(Error::kBadChunkTerminator);
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail(Error::kBadChunkTerminator);
        state_ = State::kSize;
        break;
      case State::kTrailerLine:
        if (c == '\r') {
          state_ = State::kEndLf;
          break;
        }
        if (++trailer_count_ > limits_.header_count_max) return fail(Error::kTrailerTooLarge);
        if (!chars::is_token(c)) {
          return fail(c == '\n' ? Error::kBareLf : Error::kBadTrailer);
        }
        line_bytes_ = 1;
        state_ = State::kTrailerName;
        break;
      case State::kTrailerName:
        if (c == ':') {
          state_ = State::kTrailerValue;
        } else if (!chars::is_token(c)) {
          return fail(Error::kBadTrailer);
        } else if (line_bytes_ > limits_.header_name_bytes_max) {
          return fail(Error::kTrailerTooLarge);
        }
        break;
      case State::kTrailerValue:
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (!chars::is(c, chars::kField)) {
          return fail(c == '\n' ? Error::kBareLf : Error::kBadTrailer);
        } else if (line_bytes_ >
                   limits_.header_name_bytes_max + limits_.header_value_bytes_max + 2) {
          return fail(Error::kTrailerTooLarge);
        }
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail(Error::kBareCr);
        state_ = State::kTrailerLine;
        break;
      case State::kEndLf:
        if (c != '\n') return fail(Error::kBareCr);
        offset_ += i;
        state_ = State::kDone;
        return {BodyStep::kDone, i};
      default: PAMPROXY_CHECK(false);
    }
    if (state_ >= State::kTrailerLine && state_ <= State::kEndLf &&
        ++trailer_bytes_ > limits_.head_bytes_max) {
      return fail(Error::kTrailerTooLarge);
    }
  }
  offset_ += i;
  return {BodyStep::kFraming, i};
}

}  // namespace pamproxy::http
