#pragma once
// The seam between "request head parsed" and "head sent upstream", where the zero-trust step
// (verify SigV4 with the token, authorize, re-sign with the record's keys) plugs in. A Stage
// sees each request head of a tunnel and either forwards it (unchanged or rewritten) or denies
// it with a complete response for the client. It runs on the worker thread and must not block.
//
// The pass-through stage forwards every head untouched: what the engine runs until the
// zero-trust stage exists.

#include <string>
#include <string_view>

#include "pamproxy/base/net_address.h"

namespace pamproxy::proxy {

struct StageRequest {
  std::string_view connect_host;  // the tunnel's CONNECT host (Host was checked against it)
  uint16_t connect_port = 0;
  net::IpAddress client;
  std::string_view method;
  std::string_view target;
  std::string_view head;  // the whole request head as received, CRLF CRLF included
};

struct StageDecision {
  enum class Kind { kForward, kDeny };
  Kind kind = Kind::kForward;
  // kForward: the head to send upstream; empty = the received head unchanged.
  // kDeny: the complete response (status line, headers, body) to send the client.
  std::string bytes;
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual StageDecision on_request_head(const StageRequest& request) = 0;
};

class PassThroughStage final : public Stage {
 public:
  StageDecision on_request_head(const StageRequest&) override { return {}; }
};

}  // namespace pamproxy::proxy
