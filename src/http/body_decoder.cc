// The body de-framer's state machine. Data moves in bulk (one step per contiguous run); framing
// is read a byte at a time, which costs nothing measurable since a chunk line is a few bytes per
// chunk of kilobytes.

#include <algorithm>

#include "pamproxy/base/check.h"
#include "pamproxy/http/body.h"
#include "src/http/chars.h"

namespace pamproxy::http {

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
    case BodyKind::kChunked:
      line_.reset(ChunkLineSyntax::kHttp, limits_.chunk_line_bytes_max);
      state_ = State::kLine;
      break;
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
    if (state_ == State::kLine) {
      if (line_.at_start()) line_offset_ = at;
      switch (line_.feed(c)) {
        case ChunkLine::Result::kError: return fail(line_.error());
        case ChunkLine::Result::kSizeEnd: ext_offset_ = at; continue;
        case ChunkLine::Result::kEnd: break;
        default: continue;
      }
      remaining_ = line_.size();
      offset_ += i;
      if (remaining_ == 0) {
        state_ = State::kTrailerLine;
        line_bytes_ = 0;
      } else {
        state_ = State::kData;
      }
      return {BodyStep::kFraming, i, true, remaining_};
    }
    if (state_ == State::kTrailerName || state_ == State::kTrailerValue) ++line_bytes_;
    switch (state_) {
      case State::kDataCr:
        if (c != '\r') return fail(Error::kBadChunkTerminator);
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail(Error::kBadChunkTerminator);
        state_ = State::kLine;
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
