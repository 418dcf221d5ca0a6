// Fuzz target: the chunked de-framer and the aws-chunked de-framer. The first byte picks the
// mode and the slice size. Whatever the slicing, the decoders must reach the same verdict, cover
// exactly the bytes they were given (no step beyond the input, no empty progress loop), and
// report the same payload.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pamproxy/http/aws_chunked.h"
#include "pamproxy/http/body.h"

using namespace pamproxy::http;

namespace {

struct Result {
  bool done = false;
  Error error = Error::kNone;
  size_t end = 0;
  std::string payload;
};

template <class Decoder, class Step>
Result run(Decoder& d, std::string_view in, size_t slice, Step data_kind, Step error_kind,
           Step need_more_kind) {
  Result r;
  size_t pos = 0, avail = 0;
  // Each step consumes at least one byte or asks for more: bounded by 2 * size + slices.
  for (size_t guard = 0; !d.done(); ++guard) {
    if (guard > 4 * in.size() + 16) std::abort();
    auto s = d.next(in.substr(pos, avail - pos));
    if (s.kind == error_kind) {
      r.error = d.error();
      if (r.error == Error::kNone) std::abort();
      return r;
    }
    if (s.kind == need_more_kind) {
      if (avail == in.size()) break;
      avail = std::min(in.size(), avail + slice);
      continue;
    }
    if (s.bytes > avail - pos) std::abort();
    if (s.kind == data_kind) r.payload.append(in.substr(pos, s.bytes));
    pos += s.bytes;
  }
  r.done = d.done();
  r.end = pos;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] & 3;
  const size_t slice = (data[0] >> 2) + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  limits.head_bytes_max = 1024;
  limits.chunk_line_bytes_max = 256;
  if (mode == 0) {
    BodyDecoder a(limits), b(limits);
    a.reset(BodyKind::kChunked, 0);
    b.reset(BodyKind::kChunked, 0);
    Result x = run(a, in, in.size() + 1, BodyStep::kData, BodyStep::kError, BodyStep::kNeedMore);
    Result y = run(b, in, slice, BodyStep::kData, BodyStep::kError, BodyStep::kNeedMore);
    if (x.done != y.done || x.error != y.error || x.end != y.end || x.payload != y.payload) {
      std::abort();
    }
    if (x.done && a.offset() != x.end) std::abort();
  } else {
    const bool signed_chunks = mode != 1;
    const bool trailer = mode != 2;
    AwsChunkedDecoder a(limits), b(limits);
    a.reset(signed_chunks, trailer);
    b.reset(signed_chunks, trailer);
    Result x = run(a, in, in.size() + 1, AwsChunkedStep::kData, AwsChunkedStep::kError,
                   AwsChunkedStep::kNeedMore);
    Result y =
        run(b, in, slice, AwsChunkedStep::kData, AwsChunkedStep::kError, AwsChunkedStep::kNeedMore);
    if (x.done != y.done || x.error != y.error || x.end != y.end || x.payload != y.payload) {
      std::abort();
    }
    if (x.done && a.decoded_bytes() != x.payload.size()) std::abort();
  }
  return 0;
}
