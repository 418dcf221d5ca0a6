#pragma once
// The chunk-size line, read the same way by both chunked framings: HTTP/1.1 `chunked`
// (BodyDecoder) and S3's aws-chunked (AwsChunkedDecoder). One tokenizer, so a line is accepted
// or refused by the same rules wherever it appears:
//
//   kHttp:        1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] ) CRLF
//   kAwsUnsigned: 1*HEXDIG CRLF
//   kAwsSigned:   1*HEXDIG ";chunk-signature=" 64( lowercase hex ) CRLF
//
// No whitespace anywhere, no sign; a bare LF or a CR not followed by LF is refused. It is fed a
// byte at a time (the input may be split anywhere) and, once a line ends, is ready for the next.
// No allocation, no I/O.
//
// Bounds: a line has at most `bytes_max` bytes before its LF (size, extensions and CR); a size
// is at most 2^62.

#include <cstdint>

#include "pamproxy/http/error.h"

namespace pamproxy::http {

enum class ChunkLineSyntax : uint8_t { kHttp, kAwsUnsigned, kAwsSigned };

class ChunkLine {
 public:
  static constexpr uint32_t kSignatureHexBytes = 64;

  enum class Result : uint8_t {
    kMore,            // the byte belongs to the line; more follow
    kSizeEnd,         // the byte (';' or the CR) ended the hex size: extensions start here
    kSignatureStart,  // the byte completed ";chunk-signature=": the signature comes next
    kSignatureEnd,    // the byte was the signature's last
    kEnd,             // the byte was the LF ending the line: size() is the chunk's size
    kError,           // the line is refused: error() says why
  };

  // Starts over at the beginning of a line.
  void reset(ChunkLineSyntax syntax, uint32_t bytes_max);
  Result feed(char c);

  // No byte of the current line read yet.
  bool at_start() const { return part_ == Part::kSize; }
  // The next byte is one of the signature's 64.
  bool in_signature() const { return part_ == Part::kSignature; }
  // Signature bytes read so far (while in_signature()).
  uint32_t signature_bytes() const { return match_; }
  // The size announced: complete once feed() returned kEnd.
  uint64_t size() const { return size_; }
  Error error() const { return error_; }

  // The characters of a signature: lowercase hex digits.
  static bool is_signature_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

 private:
  enum class Part : uint8_t {
    kSize,         // first hex digit
    kSizeMore,     // more digits, ';' or CR
    kExtName,      // first character of an extension name
    kExtNameMore,  // name, '=', ';' or CR
    kExtValue,     // first character of a value: token or '"'
    kExtToken,     // token value, ';' or CR
    kExtQuoted,    // inside a quoted string
    kExtEscape,    // after '\' in a quoted string
    kExtClosed,    // after the closing '"': ';' or CR
    kSigLiteral,   // matching "chunk-signature="
    kSignature,    // the 64 hex digits
    kSigCr,        // CR after the signature
    kLf,           // LF ending the line
    kError,
  };
  Result fail(Error e);
  Result extension(char c);

  ChunkLineSyntax syntax_ = ChunkLineSyntax::kHttp;
  Part part_ = Part::kSize;
  Error error_ = Error::kNone;
  uint32_t bytes_max_ = 0;
  uint32_t bytes_ = 0;  // bytes of the line so far, LF excluded
  uint32_t match_ = 0;  // bytes matched of the literal, then of the signature
  uint64_t size_ = 0;
};

}  // namespace pamproxy::http
