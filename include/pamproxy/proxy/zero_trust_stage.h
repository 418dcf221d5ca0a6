#pragma once
// The zero-trust stage: for each request in a tunnel, parse the SigV4 authorization (header or
// presigned query), split TOKENID#RECORD, find the token in the worker's snapshot, verify the
// signature with the token's secret (constant time) and the time window, refuse replays, check
// the credential scope against the CONNECT host, name the operation, run the access decision
// with the client's address, and on allow re-sign the head with the record's keys. On deny it
// answers in the client's protocol (S3 XML, query XML, JSON) with the AWS error code the CLI
// understands, a reason the user can act on and our request id.
//
// on_request() is four steps after reading the request, each public so a test can run it alone:
//
//   read          what the request says: SigV4 authorization, payload  -> Request
//                 mode, body hash, operation (no snapshot, no secret)
//   authenticate  the token exists and made the signature, in time,    -> Authenticated
//                 and the request is no replay
//   classify      the scope fits the CONNECT host; the operation to     -> Classified
//                 decide on ("s3:GetObject")
//   authorize     the resources it touches, as ARNs with the record's  -> Allowed
//                 AWS account; this user, this record, this
//                 operation, on these resources, from here, now
//   resign        the head with the record's keys                      -> StageDecision
//
// Each step returns a Step<T>: what it found, for the next step, or the decision that ends the
// request (a denial carrying its audit event, or kNeedBody). The steps run in this order on one
// request: read() starts the request's scratch (request id, event, parsed authorization), and the
// found values point into that scratch until the next read(). The order is the security
// argument: nothing about a token, a record or a policy is revealed before the signature proves
// who is asking, except whether the token id exists (AWS answers InvalidClientTokenId the same
// way). Each request is classified once (read() names its operation; a request whose body is
// awaited keeps it for the call with its body, unless that form body names it) and its resources
// extracted once: the ARNs' account field is the record's AWS account id, known only in
// authorize(), which extracts them once the record is resolved.
//
// One per worker (not thread-safe; the replay cache it checks is shared by all and is). The
// snapshot is read per request, so a revoked token, an approval or proxy.enabled = false applies to
// the next request, on open tunnels too. Every decision carries its audit event
// (StageDecision::event); no secret, token secret or signature is ever put into an event, a message
// or a log line.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "pamproxy/audit/event.h"
#include "pamproxy/aws/endpoint.h"
#include "pamproxy/aws/operation.h"
#include "pamproxy/aws/passed_roles.h"
#include "pamproxy/aws/resources.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/proxy/replay_cache.h"
#include "pamproxy/proxy/stage.h"
#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/payload.h"
#include "pamproxy/sigv4/signer.h"

namespace pamproxy::proxy {

struct ZeroTrustOptions {
  int64_t clock_skew_s = 900;
  int64_t presigned_expiry_max_s = 604800;
  uint64_t buffered_body_bytes_max = 8 << 20;
  // The process-wide replay memory every worker's stage shares (replay_cache.h); when null the
  // stage makes its own of `replay_cache_entries` (a stage alone, in tests).
  std::shared_ptr<ReplayCache> replay_cache;
  size_t replay_cache_entries = 65536;
  int worker = 0;
  // The wall clock (tests set it).
  std::function<int64_t()> now_unix_ns;
};

class ZeroTrustStage final : public Stage {
 public:
  // What a step found, or the decision that stops the request there. Implicit from either, so a
  // step returns `found` or `deny(...)` alike.
  template <typename T>
  class Step {
   public:
    Step(T found) : value_(std::move(found)) {}            // NOLINT(google-explicit-constructor)
    Step(StageDecision stop) : value_(std::move(stop)) {}  // NOLINT(google-explicit-constructor)
    bool stopped() const { return std::holds_alternative<StageDecision>(value_); }
    const T& operator*() const { return std::get<T>(value_); }
    const T* operator->() const { return &std::get<T>(value_); }
    StageDecision& decision() { return std::get<StageDecision>(value_); }

   private:
    std::variant<T, StageDecision> value_;
  };

  // read(): the request as SigV4 and the operation classifier see it. Views into the request and
  // the stage's scratch. The operation is named here, before authenticate(), because every
  // denial from then on answers in the operation's protocol and records its name.
  struct Request {
    int64_t now_unix_ns = 0;  // the clock, read once for every step
    sigv4::RequestView view;
    const sigv4::ParsedAuth* auth = nullptr;
    const aws::Endpoint* endpoint = nullptr;  // null: the CONNECT host is not an AWS name
    sigv4::PayloadMode payload = sigv4::PayloadMode::kUnsigned;
    std::string_view body_sha256_hex;  // set when the signature covers the body
    aws::Operation operation;
    // What names the request's resources (views into the request; the body when it was read);
    // classify() adds the operation.
    aws::ResourceRequest resource_facts;
  };
  // authenticate(): the token whose secret made the signature, in the snapshot read for this
  // request (authorize() decides on the same one).
  struct Authenticated {
    const policy::Snapshot* snapshot = nullptr;
    const policy::TokenEntry* token = nullptr;
  };
  // classify(): the operation as access rules name it ("s3:GetObject").
  struct Classified {
    std::string_view operation;
  };
  // authorize(): the record the request may use, and the keys to re-sign with.
  struct Allowed {
    const policy::RecordEntry* record = nullptr;
    sigv4::Credentials credentials;
  };

  ZeroTrustStage(const policy::SnapshotPublisher& snapshots, ZeroTrustOptions options);

  StageDecision on_request(const StageRequest& request) override;
  // Clock skew, presigned expiry and the buffered body cap from the worker's settings.
  void follow(const ProxySettings& settings) override;

  Step<Request> read(const StageRequest& r);
  Step<Authenticated> authenticate(const StageRequest& r, const Request& request);
  Step<Classified> classify(const Request& request);
  Step<Allowed> authorize(const StageRequest& r, const Request& request, const Authenticated& who,
                          const Classified& classified);
  StageDecision resign(const StageRequest& r, const Request& request, const Authenticated& who,
                       const Allowed& allowed);

 private:
  void read_head(const StageRequest& r, Request& out, aws::RequestFacts& facts);
  const aws::Operation& operation_of(const aws::RequestFacts& facts);
  // resources_, roles_ and the event's list from the request, with `account` in the ARNs (may be
  // empty).
  absl::Status extract_resources(const Request& request, std::string_view account);
  policy::ResourceView resource_view() const;
  std::optional<StageDecision> refuse_payload(const http::RequestHead& h, sigv4::PayloadMode mode);
  std::optional<StageDecision> wait_for_body(const StageRequest& r, bool needs_hash, bool form,
                                             bool names_resources);
  StageDecision deny(int status, std::string_view code, std::string_view message);
  void rewrite_head(const StageRequest& r, const sigv4::Resigned& resigned);
  // request_id_ for the stage's n-th request.
  void set_request_id(uint64_t number);

  policy::SnapshotReader reader_;
  ZeroTrustOptions options_;
  sigv4::Signer signer_;
  sigv4::ParsedAuth auth_;
  sigv4::Resigned resigned_;
  std::shared_ptr<ReplayCache> replay_;
  std::vector<sigv4::Header> headers_;
  std::optional<aws::Endpoint> endpoint_;
  char body_sha256_hex_[sigv4::kSignatureHexLength];
  audit::Event event_;
  uint64_t request_number_ = 0;  // of the request being read
  std::string request_id_;       // made from request_number_
  std::string operation_;
  aws::ResourceList resources_;
  aws::PassedRoles roles_;  // the roles a role-passing call hands over (policy's PassRole scope)
  std::string head_out_;
  int protocol_ = 0;  // aws::Protocol of the request being decided
  // False until the operation is named: a denial then guesses the protocol from guess_facts_
  // (the CONNECT host's service).
  bool protocol_known_ = false;
  aws::RequestFacts guess_facts_;
  aws::Operation operation_found_;  // the request's operation, once classified_
  bool classified_ = false;
  uint64_t classified_tunnel_ = 0;  // the tunnel of the request operation_found_ is for
  uint64_t tunnel_id_ = 0;          // of the request being read
  uint64_t counter_ = 0;            // the requests numbered so far
  uint32_t started_s_ = 0;
};

}  // namespace pamproxy::proxy
