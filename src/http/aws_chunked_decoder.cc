// aws-chunked state machine. Bytes are classified by the state they are read in; a step ends
// where the class changes, where a line ends, or where the input ends, so each step is a run of
// one kind that the caller can forward, hash or overwrite as a whole.

#include <algorithm>

#include "pamproxy/base/check.h"
#include "pamproxy/http/aws_chunked.h"
#include "src/http/chars.h"

namespace pamproxy::http {
namespace {

constexpr std::string_view kTrailerSigName = "x-amz-trailer-signature";

}  // namespace

void AwsChunkedDecoder::reset(bool signed_chunks, bool trailer) {
  state_ = State::kLine;
  line_.reset(signed_chunks ? ChunkLineSyntax::kAwsSigned : ChunkLineSyntax::kAwsUnsigned,
              limits_.chunk_line_bytes_max);
  error_ = Error::kNone;
  signed_ = signed_chunks;
  trailer_ = trailer;
  trailer_sig_seen_ = false;
  name_matches_ = false;
  match_ = 0;
  trailer_bytes_ = 0;
  trailer_count_ = 0;
  size_ = 0;
  decoded_bytes_ = 0;
}

AwsChunkedStep AwsChunkedDecoder::fail(Error e) {
  error_ = e;
  state_ = State::kError;
  return {AwsChunkedStep::kError, 0};
}

AwsChunkedStep AwsChunkedDecoder::next(std::string_view in) {
  if (state_ == State::kDone) return {AwsChunkedStep::kDone, 0};
  if (state_ == State::kError) return {AwsChunkedStep::kError, 0};
  if (in.empty()) return {AwsChunkedStep::kNeedMore, 0};
  if (state_ == State::kData) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size_, in.size()));
    size_ -= n;
    decoded_bytes_ += n;
    if (size_ == 0) state_ = State::kDataCr;
    return {AwsChunkedStep::kData, n};
  }
  return framing(in);
}

AwsChunkedStep AwsChunkedDecoder::framing(std::string_view in) {
  using Step = AwsChunkedStep;
  auto class_of = [this](State s) {
    switch (s) {
      case State::kLine: return line_.in_signature() ? Step::kChunkSignature : Step::kFraming;
      case State::kTrailerSig: return Step::kTrailerSignature;
      case State::kTrailerName:
      case State::kTrailerValue: return Step::kTrailerField;
      default: return Step::kFraming;
    }
  };
  // A trailer line's first byte belongs to the field, the CR ending its value to the framing;
  // every other byte goes by its state.
  auto class_at = [&](State s, char c) {
    if (s == State::kTrailerLine && c != '\r') return Step::kTrailerField;
    if (s == State::kTrailerValue && c == '\r') return Step::kFraming;
    return class_of(s);
  };
  const Step::Kind kind = class_at(state_, in[0]);
  const uint32_t sig_offset = state_ == State::kLine ? line_.signature_bytes() : match_;
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (class_at(state_, c) != kind) return {kind, i, false, 0, sig_offset};
    ++i;
    if (state_ >= State::kTrailerLine && state_ <= State::kEndLf &&
        ++trailer_bytes_ > limits_.head_bytes_max) {
      return fail(Error::kTrailerTooLarge);
    }
    switch (state_) {
      case State::kLine:
        switch (line_.feed(c)) {
          case ChunkLine::Result::kError: return fail(line_.error());
          // The signature is a step of its own.
          case ChunkLine::Result::kSignatureStart:
          case ChunkLine::Result::kSignatureEnd: return {kind, i, false, 0, sig_offset};
          case ChunkLine::Result::kEnd:
            size_ = line_.size();
            state_ = size_ == 0 ? State::kTrailerLine : State::kData;
            return {kind, i, true, line_.size(), sig_offset};
          default: break;
        }
        break;
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
          if (trailer_ && signed_ && !trailer_sig_seen_) return fail(Error::kBadAwsTrailer);
          state_ = State::kEndLf;
          break;
        }
        if (!trailer_ || trailer_sig_seen_) return fail(Error::kBadAwsTrailer);
        if (++trailer_count_ > limits_.header_count_max) return fail(Error::kTrailerTooLarge);
        if (!chars::is_token(c)) return fail(c == '\n' ? Error::kBareLf : Error::kBadAwsTrailer);
        name_matches_ = chars::lower(c) == kTrailerSigName[0];
        match_ = 1;
        state_ = State::kTrailerName;
        break;
      case State::kTrailerName:
        if (c == ':') {
          if (name_matches_ && match_ == kTrailerSigName.size()) {
            if (!signed_) return fail(Error::kBadAwsTrailer);
            trailer_sig_seen_ = true;
            match_ = 0;
            state_ = State::kTrailerSig;
            // The colon is field syntax, not signature: end this step after it.
            return {kind, i, false, 0, sig_offset};
          }
          state_ = State::kTrailerValue;
        } else if (!chars::is_token(c) || match_ >= limits_.header_name_bytes_max) {
          return fail(Error::kBadAwsTrailer);
        } else {
          name_matches_ = name_matches_ && match_ < kTrailerSigName.size() &&
                          chars::lower(c) == kTrailerSigName[match_];
          ++match_;
        }
        break;
      case State::kTrailerValue:
        if (c == '\r') {
          state_ = State::kTrailerLf;
          break;
        }
        if (!chars::is(c, chars::kField)) {
          return fail(c == '\n' ? Error::kBareLf : Error::kBadAwsTrailer);
        }
        break;
      case State::kTrailerSig:
        if (!ChunkLine::is_signature_char(c)) return fail(Error::kBadChunkSignature);
        if (++match_ == kSignatureHexBytes) {
          state_ = State::kTrailerCr;
          return {kind, i, false, 0, sig_offset};
        }
        break;
      case State::kTrailerCr:
        if (c != '\r') return fail(Error::kBadChunkSignature);
        state_ = State::kTrailerLf;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail(Error::kBareCr);
        state_ = State::kTrailerLine;
        return {kind, i, true, 0, sig_offset};
      case State::kEndLf:
        if (c != '\n') return fail(Error::kBareCr);
        state_ = State::kDone;
        return {Step::kDone, i};
      default: PAMPROXY_CHECK(false);
    }
  }
  return {kind, i, false, 0, sig_offset};
}

}  // namespace pamproxy::http
