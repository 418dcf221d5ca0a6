#pragma once
// Follows the responses a tunnel relays from the upstream, without changing or holding a byte,
// to report each forwarded request's outcome: AWS's status and request id, the body bytes, and
// when its last byte passed. Requests go upstream one after another and their responses come
// back in the same order (HTTP/1.1), so each one waits in a queue for its response.
//
//   ResponseObserver obs(limits);
//   obs.expect(key, http::Method::kPut);         // a request went upstream
//   obs.feed(upstream_plaintext, &outcomes);     // as it arrives: finished outcomes appended
//   obs.finish(&outcomes);                       // the upstream closed
//
// Pure: no I/O, no clock. Bounded: a head is kept only up to the head limit (the head is copied
// while incomplete, the body never). When the stream cannot be followed (a malformed or
// oversized head, a framing error: the client gets the bytes as they are and deals with them),
// observing stops for the rest of the tunnel and the waiting requests are reported as
// incomplete.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pamproxy/http/body.h"
#include "pamproxy/http/response_parser.h"

namespace pamproxy::proxy {

struct ResponseOutcome {
  uint64_t key = 0;       // what expect() was given
  int status = 0;         // the final status; 0 when no response head was seen
  std::string aws_request_id;  // x-amz-request-id, or x-amzn-RequestId
  std::string error_code;      // x-amz-error-code / x-amzn-ErrorType (before any ':')
  uint64_t body_bytes = 0;     // payload bytes (framing excluded)
  bool complete = false;       // the response ended as framed (false: cut short or unfollowable)
};

class ResponseObserver {
 public:
  explicit ResponseObserver(const http::Limits& limits);

  void expect(uint64_t key, http::Method request_method);
  // Upstream plaintext, in order. Returns false once the stream could not be followed.
  bool feed(std::string_view bytes, std::vector<ResponseOutcome>* done);
  // The upstream is gone: an until-close body ends well; anything else waiting is incomplete.
  void finish(std::vector<ResponseOutcome>* done);
  size_t waiting() const { return waiting_.size(); }
  bool following() const { return !lost_; }
  // Every response asked for has ended as framed, no byte of another has come, and none said
  // the connection ends (Connection: close, HTTP/1.0 without keep-alive, a body until close):
  // the connection may carry a next request (from another tunnel too).
  bool reusable() const {
    return !lost_ && keep_alive_ && waiting_.empty() && phase_ == Phase::kHead && head_.empty();
  }
  // Quiet: with no response awaited or begun, the head buffer and the parser's field table go
  // back (the next response's head takes them again).
  void release_idle();

 private:
  struct Waiting {
    uint64_t key;
    http::Method method;
  };
  enum class Phase : uint8_t { kHead, kBody };

  void start_head();
  void lose(std::vector<ResponseOutcome>* done);
  void complete(std::vector<ResponseOutcome>* done, bool ok);

  http::Limits limits_;
  http::ResponseParser parser_;
  http::BodyDecoder body_;
  std::vector<Waiting> waiting_;  // a few at most: requests are sent one after another
  std::string head_;  // the current head's bytes so far
  Phase phase_ = Phase::kHead;
  ResponseOutcome current_;
  bool lost_ = false;
  bool keep_alive_ = true;
};

}  // namespace pamproxy::proxy
