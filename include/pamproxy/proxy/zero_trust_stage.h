#pragma once
// The zero-trust stage (DESIGN.md section 2): for each request in a tunnel, parse the SigV4
// authorization (header or presigned query), split TOKENID#RECORD, find the token in the
// worker's snapshot, verify the signature with the token's secret (constant time) and the time
// window, refuse replays, check the credential scope against the CONNECT host, name the
// operation, run the access decision with the client's address, and on allow re-sign the head
// with the record's keys. On deny it answers in the client's protocol (S3 XML, query XML, JSON)
// with the AWS error code the CLI understands, a reason the user can act on and our request id.
//
// One per worker (not thread-safe). The snapshot is read per request, so a revoked token, an
// approval or proxy.enabled = false applies to the next request, on open tunnels too. Every
// decision carries its audit event (StageDecision::event); no secret, token secret or signature is ever put
// into an event, a message or a log line.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pamproxy/audit/event.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/proxy/replay_cache.h"
#include "pamproxy/proxy/stage.h"
#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/signer.h"

namespace pamproxy::proxy {

struct ZeroTrustOptions {
  int64_t clock_skew_s = 900;
  int64_t presigned_expiry_max_s = 604800;
  uint64_t buffered_body_bytes_max = 8 << 20;
  size_t replay_cache_entries = 65536;
  int worker = 0;
  // The wall clock (tests set it).
  std::function<int64_t()> now_unix_ns;
};

class ZeroTrustStage final : public Stage {
 public:
  ZeroTrustStage(const policy::SnapshotPublisher& snapshots, ZeroTrustOptions options);

  StageDecision on_request(const StageRequest& request) override;
  // Clock skew, presigned expiry and the buffered body cap from the worker's settings.
  void follow(const ProxySettings& settings) override;

 private:
  StageDecision deny(int status, std::string_view code, std::string_view message);
  void rewrite_head(const StageRequest& r, const sigv4::Resigned& resigned);
  std::string next_request_id();

  policy::SnapshotReader reader_;
  ZeroTrustOptions options_;
  sigv4::Signer signer_;
  sigv4::ParsedAuth auth_;
  sigv4::Resigned resigned_;
  ReplayCache replay_;
  std::vector<sigv4::Header> headers_;
  audit::Event event_;
  std::string request_id_;
  std::string head_out_;
  int protocol_ = 0;  // aws::Protocol of the request being decided
  uint64_t counter_ = 0;
  uint32_t started_s_ = 0;
};

}  // namespace pamproxy::proxy
