#pragma once
// The seam between "request head parsed" and "head sent upstream", where the zero-trust step
// (verify SigV4 with the token, authorize, re-sign with the record's keys) plugs in. A Stage
// sees each request of a tunnel and forwards it (unchanged or rewritten), denies it with a
// complete response for the client, or first asks for the whole body (a request signed without
// x-amz-content-sha256 signs the body's hash, and query-protocol calls name their operation in
// it). One Stage per worker: it runs on the worker thread, keeps its own scratch state, and must
// not block.
//
// The pass-through stage forwards every head untouched; it is for engine tests and benchmarks
// ([proxy] mode = "pass-through", accepted only toward loopback destinations).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pamproxy/audit/event.h"
#include "pamproxy/base/net_address.h"
#include "pamproxy/http/head_fields.h"
#include "pamproxy/sigv4/chunk_signer.h"

namespace pamproxy::proxy {

struct ProxySettings;

struct StageRequest {
  std::string_view connect_host;  // the tunnel's CONNECT host (Host was checked against it)
  uint16_t connect_port = 0;
  net::SocketAddress client;
  uint64_t tunnel_id = 0;                   // unique per worker (replay detection)
  const http::RequestHead* head = nullptr;  // parsed; views into `head_bytes`
  std::string_view head_bytes;              // the whole head as received, CRLF CRLF included
  // Set on the second call, after the stage answered kNeedBody: the complete body, and the
  // request number that answer gave (other requests may be decided in between).
  std::string_view body;
  bool body_given = false;
  uint64_t request_number = 0;
};

struct StageDecision {
  enum class Kind { kForward, kDeny, kNeedBody };
  Kind kind = Kind::kForward;
  // kForward: the head to send upstream; empty = the received head unchanged.
  // kDeny: the complete response (status line, headers, body) to send the client.
  std::string bytes;
  // kNeedBody: only for a Content-Length body of at most this many bytes (the stage denies the
  // others itself).
  uint64_t body_bytes_max = 0;
  // kNeedBody: the stage's number for this request (its id is made from it), which the caller
  // keeps with the request and gives back with the body.
  uint64_t request_number = 0;
  // kForward of a signed aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): the
  // started signer that checks each chunk's signature with the client's key and gives its
  // replacement; the tunnel holds each chunk until its signature is patched.
  std::unique_ptr<sigv4::ChunkSigner> chunks;
  // kForward of an aws-chunked body with unsigned chunks (STREAMING-UNSIGNED-PAYLOAD-TRAILER): it
  // goes as it is, and its payload bytes are counted inside that coding.
  bool unsigned_chunks = false;
  // kForward and kDeny: the audit event describing this decision (request.forwarded or
  // request.denied), or null when the stage does not audit. It lives in the stage and stays valid
  // until the stage's next on_request(): the caller copies what it keeps.
  const audit::Event* event = nullptr;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual StageDecision on_request(const StageRequest& request) = 0;
  // The worker's settings changed (and once at start); applies from the next request.
  virtual void follow(const ProxySettings&) {}
};

class PassThroughStage final : public Stage {
 public:
  StageDecision on_request(const StageRequest&) override { return {}; }
};

}  // namespace pamproxy::proxy
