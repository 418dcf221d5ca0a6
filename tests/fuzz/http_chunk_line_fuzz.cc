// Fuzz target: the chunk-size line tokenizer against a whole-line reference written from the
// grammar in chunk_line.h. The first byte picks the syntax and the line bound; the rest is fed
// as consecutive lines. For each line the tokenizer must end exactly at the first LF when the
// reference accepts the line (with the same size) and refuse it by its LF otherwise; after a
// line it must be ready for the next; the signature's start and end must come 64 bytes apart.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "pamproxy/http/chunk_line.h"

using namespace pamproxy::http;

namespace {

constexpr uint64_t kSizeMax = uint64_t{1} << 62;
constexpr std::string_view kSigLiteral = ";chunk-signature=";

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool qdtext(char c) {
  const auto u = static_cast<uint8_t>(c);
  return c == '\t' || c == ' ' || c == '!' || (u >= 0x23 && u <= 0x5B) ||
         (u >= 0x5D && u <= 0x7E) || u >= 0x80;
}

bool quoted_pair(char c) {
  const auto u = static_cast<uint8_t>(c);
  return c == '\t' || c == ' ' || (u >= 0x21 && u != 0x7F);
}

size_t token(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && tchar(s[n])) ++n;
  return n;
}

// `rest` is everything after the size: zero or more `;name[=token|quoted-string]`.
bool http_extensions(std::string_view rest) {
  while (!rest.empty()) {
    if (rest[0] != ';') return false;
    rest.remove_prefix(1);
    const size_t name = token(rest);
    if (name == 0) return false;
    rest.remove_prefix(name);
    if (rest.empty() || rest[0] != '=') continue;
    rest.remove_prefix(1);
    if (!rest.empty() && rest[0] == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\') {
          if (++i == rest.size() || !quoted_pair(rest[i])) return false;
        } else if (!qdtext(rest[i])) {
          return false;
        }
      }
      if (i == rest.size()) return false;
      rest.remove_prefix(i + 1);
    } else {
      const size_t value = token(rest);
      if (value == 0) return false;
      rest.remove_prefix(value);
    }
  }
  return true;
}

// The size a whole line (up to and including its LF) announces, or nullopt when it is refused.
std::optional<uint64_t> reference(std::string_view line, ChunkLineSyntax syntax,
                                  uint32_t bytes_max) {
  if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") return std::nullopt;
  if (line.size() - 1 > bytes_max) return std::nullopt;
  std::string_view body = line.substr(0, line.size() - 2);
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < body.size() && hex(body[digits]) >= 0; ++digits) {
    if (size > (kSizeMax >> 4)) return std::nullopt;
    size = (size << 4) | static_cast<uint64_t>(hex(body[digits]));
  }
  if (digits == 0) return std::nullopt;
  std::string_view rest = body.substr(digits);
  switch (syntax) {
    case ChunkLineSyntax::kHttp:
      if (!http_extensions(rest)) return std::nullopt;
      break;
    case ChunkLineSyntax::kAwsUnsigned:
      if (!rest.empty()) return std::nullopt;
      break;
    case ChunkLineSyntax::kAwsSigned:
      if (rest.size() != kSigLiteral.size() + ChunkLine::kSignatureHexBytes ||
          !rest.starts_with(kSigLiteral)) {
        return std::nullopt;
      }
      for (char c : rest.substr(kSigLiteral.size())) {
        if (!ChunkLine::is_signature_char(c)) return std::nullopt;
      }
      break;
  }
  return size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto syntax = static_cast<ChunkLineSyntax>(data[0] % 3);
  const uint32_t bytes_max = (data[0] / 3) + 1;  // 1..86: short enough to reach the bound
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  ChunkLine t;
  t.reset(syntax, bytes_max);
  while (!in.empty()) {
    const size_t lf = in.find('\n');
    const std::string_view line = in.substr(0, lf == std::string_view::npos ? in.size() : lf + 1);
    const std::optional<uint64_t> want = reference(line, syntax, bytes_max);
    if (!t.at_start()) std::abort();
    size_t i = 0;
    std::optional<size_t> sig_start;
    ChunkLine::Result r = ChunkLine::Result::kMore;
    for (; i < line.size(); ++i) {
      r = t.feed(line[i]);
      if (r == ChunkLine::Result::kSignatureStart) {
        if (syntax != ChunkLineSyntax::kAwsSigned || sig_start) std::abort();
        sig_start = i;
      }
      if (r == ChunkLine::Result::kSignatureEnd &&
          (!sig_start || i - *sig_start != ChunkLine::kSignatureHexBytes)) {
        std::abort();
      }
      if (r == ChunkLine::Result::kEnd || r == ChunkLine::Result::kError) break;
    }
    if (want) {
      // Accepted: ends at the LF, with the reference's size.
      if (r != ChunkLine::Result::kEnd || i != line.size() - 1 || t.size() != *want) std::abort();
    } else if (r == ChunkLine::Result::kEnd) {
      std::abort();  // refused by the reference, accepted by the tokenizer
    } else if (r == ChunkLine::Result::kError) {
      if (t.error() == Error::kNone) std::abort();
      return 0;  // refused: nothing after an error is read
    } else if (line.back() == '\n') {
      std::abort();  // a whole line neither accepted nor refused
    }
    in.remove_prefix(line.size());
  }
  return 0;
}
