// The zero-trust stage (see zero_trust_stage.h). The order of the checks matters: nothing about a
// token, a record or a policy is revealed before the signature proves who is asking, except
// whether the token id exists (AWS answers InvalidClientTokenId the same way).

#include "pamproxy/proxy/zero_trust_stage.h"

#include <cstdio>

#include "absl/hash/hash.h"
#include "absl/time/clock.h"
#include "pamproxy/audit/event.h"
#include "pamproxy/aws/endpoint.h"
#include "pamproxy/aws/error_response.h"
#include "pamproxy/aws/operation.h"
#include "pamproxy/aws/resources.h"
#include "pamproxy/base/check.h"
#include "pamproxy/policy/decision.h"
#include "pamproxy/policy/resolve.h"
#include "pamproxy/proxy/settings.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/key_cache.h"
#include "pamproxy/sigv4/payload.h"

namespace pamproxy::proxy {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return sigv4::iequals(a, b);
}

std::string_view header_value(const http::RequestHead& h, std::string_view name) {
  std::optional<std::string_view> v = h.find(name);
  return v ? *v : std::string_view{};
}

// A denial for a request whose signer is not proven is a 403 for AWS's codes, 400 for framing.
int status_for(sigv4::Error e) {
  switch (e) {
    case sigv4::Error::kTooLarge: return 400;
    case sigv4::Error::kBadPercentEncoding: return 400;
    default: return 403;
  }
}

}  // namespace

ZeroTrustStage::ZeroTrustStage(const policy::SnapshotPublisher& snapshots, ZeroTrustOptions options)
    : reader_(snapshots), options_(std::move(options)), replay_(options_.replay_cache) {
  if (!replay_) {
    replay_ = std::make_shared<ReplayCache>(options_.replay_cache_entries, options_.clock_skew_s);
  }
  if (!options_.now_unix_ns) options_.now_unix_ns = [] { return absl::ToUnixNanos(absl::Now()); };
  started_s_ = static_cast<uint32_t>(options_.now_unix_ns() / 1000000000);
  headers_.reserve(128);
  head_out_.reserve(4096);
}

void ZeroTrustStage::follow(const ProxySettings& s) {
  options_.clock_skew_s = s.clock_skew_s;
  options_.presigned_expiry_max_s = s.presigned_expiry_max_s;
  options_.buffered_body_bytes_max = s.limits.buffered_body_bytes_max;
  replay_->set_window_s(s.clock_skew_s);
}

StageDecision ZeroTrustStage::on_request(const StageRequest& r) {
  Step<Request> request = read(r);
  if (request.stopped()) return std::move(request.decision());
  Step<Authenticated> who = authenticate(r, *request);
  if (who.stopped()) return std::move(who.decision());
  Step<Classified> what = classify(*request);
  if (what.stopped()) return std::move(what.decision());
  Step<Allowed> allowed = authorize(r, *request, *who, *what);
  if (allowed.stopped()) return std::move(allowed.decision());
  return resign(r, *request, *who, *allowed);
}

// 20 hex digits: start time, worker, counter. Unique per appliance run and across restarts (a
// restart takes at least a second), short enough for a user to read out.
void ZeroTrustStage::set_request_id(uint64_t number) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%08x%02x%010llx", started_s_,
                        static_cast<unsigned>(options_.worker & 0xff),
                        static_cast<unsigned long long>(number & 0xffffffffffull));
  request_number_ = number;
  request_id_.assign(buf, static_cast<size_t>(n));
}

StageDecision ZeroTrustStage::deny(int status, std::string_view code, std::string_view message) {
  // Before the request's operation is named, the denial answers in the protocol the CONNECT
  // host's service suggests; that guess is worked out here, off the path of allowed requests.
  if (!protocol_known_) {
    protocol_ = static_cast<int>(aws::classify(guess_facts_).protocol());
    protocol_known_ = true;
  }
  event_.type = audit::EventType::kRequestDenied;
  event_.status = status;
  event_.error_code.assign(code);
  event_.deny_reason.assign(message);
  StageDecision d;
  d.kind = StageDecision::Kind::kDeny;
  d.bytes = aws::http_error_response(static_cast<aws::Protocol>(protocol_), status, code, message,
                                     request_id_, /*close=*/true);
  d.event = &event_;
  return d;
}

// --- read: what the request says, before any secret or the snapshot is looked at ------------

ZeroTrustStage::Step<ZeroTrustStage::Request> ZeroTrustStage::read(const StageRequest& r) {
  const http::RequestHead& h = *r.head;
  Request out;
  out.now_unix_ns = options_.now_unix_ns();
  // A request is numbered on its first call; the call with its body carries that number back,
  // since other tunnels' requests may have been numbered in between.
  PAMPROXY_CHECK(!r.body_given || r.request_number != 0);
  set_request_id(r.body_given ? r.request_number : ++counter_);
  // A new request is classified anew. The call with a body the stage asked for follows its
  // tunnel's first call, but other tunnels' requests may come between: only a classification
  // made for this tunnel is kept.
  if (!r.body_given || classified_tunnel_ != r.tunnel_id) classified_ = false;
  tunnel_id_ = r.tunnel_id;
  aws::RequestFacts facts;
  read_head(r, out, facts);

  sigv4::Result parsed = sigv4::parse_auth(out.view, auth_, /*require_token=*/true);
  if (!parsed.ok()) {
    return deny(status_for(parsed.code), sigv4::aws_code(parsed.code), sigv4::describe(parsed));
  }
  out.auth = &auth_;
  event_.token_id.assign(auth_.token_id);
  event_.aws_region.assign(auth_.scope.region);
  std::string source(auth_.scope.service);
  source += ".amazonaws.com";
  event_.event_source.assign(source);
  facts.service = auth_.scope.service;

  std::optional<std::string_view> sha_header = h.find("x-amz-content-sha256");
  out.payload = sigv4::classify_payload(sha_header.value_or(""), sha_header.has_value());
  if (std::optional<StageDecision> refused = refuse_payload(h, out.payload)) {
    return std::move(*refused);
  }

  // A body whose hash the signature covers (no x-amz-content-sha256), whose form names the
  // operation, that lists the keys of an S3 DeleteObjects or that may hand a role to the service
  // is needed whole before anything can be decided.
  const bool form = facts.content_type.starts_with("application/x-www-form-urlencoded");
  const bool needs_hash = sigv4::Signer::needs_body_hash(out.view, auth_);
  const bool delete_objects = facts.service == "s3" && facts.method == "POST" &&
                              operation_of(facts).name() == "DeleteObjects";
  if (delete_objects && (sigv4::has_signed_chunks(out.payload) ||
                         out.payload == sigv4::PayloadMode::kStreamingUnsignedTrailer)) {
    return deny(400, "InvalidRequest",
                "this proxy reads the keys of a DeleteObjects body to check and record them; send "
                "it whole, not as aws-chunked (its checksum in a header)");
  }
  const bool role_call = (facts.service == "lambda" || facts.service == "ecs") &&
                         aws::may_pass_role(facts.service, operation_of(facts).name());
  if (std::optional<StageDecision> wait =
          wait_for_body(r, needs_hash, form, delete_objects || role_call)) {
    return std::move(*wait);
  }
  if (needs_hash) {
    sigv4::hex_encode(sigv4::sha256(r.body), body_sha256_hex_);
    out.body_sha256_hex = std::string_view(body_sha256_hex_, sizeof body_sha256_hex_);
  }
  if (form && r.body_given) {
    facts.form_body = r.body;  // it names the operation: classified with it
    classified_ = false;
  }
  out.operation = operation_of(facts);
  aws::ResourceRequest& rf = out.resource_facts;
  rf.service = facts.service;
  rf.region = auth_.scope.region;
  rf.method = facts.method;
  rf.path = facts.path;
  rf.query = facts.query;
  rf.host_bucket = facts.host_bucket;
  rf.copy_source = header_value(h, "x-amz-copy-source");
  if (r.body_given) rf.body = r.body;
  protocol_ = static_cast<int>(out.operation.protocol());
  protocol_known_ = true;
  event_.event_name.assign(out.operation.name());
  event_.read_only = out.operation.read_only() ? audit::ReadOnly::kTrue : audit::ReadOnly::kFalse;
  return out;
}

// The request's SigV4 view, the event's first facts (it is filled as facts become known; a
// denial keeps what was known), the endpoint the tunnel goes to and what a denial before the
// operation is named guesses its protocol from.
void ZeroTrustStage::read_head(const StageRequest& r, Request& out, aws::RequestFacts& facts) {
  const http::RequestHead& h = *r.head;
  headers_.clear();
  for (size_t i = 0; i < h.header_count(); ++i) {
    http::HeaderField f = h.header(i);
    headers_.push_back({f.name, f.value});
  }
  std::string_view target = h.path_and_query();
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  out.view = sigv4::RequestView{h.method_text(), path, query, headers_};

  event_.clear();
  event_.time_unix_ns = out.now_unix_ns;
  event_.source_ip.assign(r.client.ip.to_string());
  event_.source_port = r.client.port;
  std::string target_host(r.connect_host);
  target_host += ':';
  target_host += std::to_string(r.connect_port);
  event_.target_host.assign(target_host);
  std::string_view user_agent = header_value(h, "user-agent");
  event_.user_agent.assign(user_agent);
  event_.cli_command.assign(audit::cli_command_of(user_agent));
  event_.request_id.assign(request_id_);

  endpoint_ = aws::parse_endpoint(r.connect_host);
  facts.method = h.method_text();
  facts.path = path;
  facts.query = query;
  facts.amz_target = header_value(h, "x-amz-target");
  facts.content_type = header_value(h, "content-type");
  facts.smithy_protocol = header_value(h, "smithy-protocol");
  facts.has_copy_source = h.find("x-amz-copy-source").has_value();
  if (endpoint_) {
    out.endpoint = &*endpoint_;
    facts.service = aws::signing_name_for(endpoint_->service);
    facts.host_bucket = endpoint_->bucket;
    event_.aws_region.assign(endpoint_->region);
  }
  guess_facts_ = facts;
  protocol_known_ = false;
}

// The operation, classified once per request: the first call that needs it classifies, the
// others (and the second on_request() of a request whose body was awaited) reuse it. Views in
// `facts` must be those of the request being read.
const aws::Operation& ZeroTrustStage::operation_of(const aws::RequestFacts& facts) {
  if (!classified_) {
    operation_found_ = aws::classify(facts);
    classified_ = true;
    classified_tunnel_ = tunnel_id_;
  }
  return operation_found_;
}

// Payload modes: SigV4a and unknown modes are refused; signed chunks are rewritten chunk by
// chunk, which needs the encoded length up front.
std::optional<StageDecision> ZeroTrustStage::refuse_payload(const http::RequestHead& h,
                                                            sigv4::PayloadMode mode) {
  if (mode == sigv4::PayloadMode::kStreamingEcdsa) {
    return deny(400, "InvalidRequest",
                "SigV4a (AWS4-ECDSA-P256-SHA256) signing is not supported by this proxy; sign "
                "with SigV4 (AWS4-HMAC-SHA256)");
  }
  if (mode == sigv4::PayloadMode::kInvalid) {
    return deny(400, "InvalidArgument",
                "x-amz-content-sha256 is neither a SHA-256 hex digest nor a known payload mode");
  }
  if (sigv4::has_signed_chunks(mode) && h.body_kind() != http::BodyKind::kContentLength) {
    return deny(411, "MissingContentLength",
                "a signed aws-chunked body (" + std::string(sigv4::payload_mode_name(mode)) +
                    ") must come with Content-Length (its encoded length), as AWS requires");
  }
  return std::nullopt;
}

// kNeedBody (or a denial) when the body must be read whole first and has not been given yet;
// nothing when the request can be decided as it is (no body at all: on the empty one).
std::optional<StageDecision> ZeroTrustStage::wait_for_body(const StageRequest& r, bool needs_hash,
                                                           bool form, bool names_resources) {
  const http::RequestHead& h = *r.head;
  const bool wanted =
      needs_hash || ((form || names_resources) && h.body_kind() != http::BodyKind::kNone);
  if (!wanted || r.body_given) {
    return std::nullopt;
  }
  if (h.body_kind() == http::BodyKind::kChunked) {
    return deny(411, "MissingContentLength",
                "a request signed without x-amz-content-sha256 must send its body with "
                "Content-Length (the proxy hashes it to verify the signature)");
  }
  if (h.body_kind() == http::BodyKind::kContentLength &&
      h.content_length() > options_.buffered_body_bytes_max) {
    return deny(413, "RequestEntityTooLarge",
                "the request body (" + std::to_string(h.content_length()) +
                    " bytes) is larger than the " +
                    std::to_string(options_.buffered_body_bytes_max) +
                    " bytes this proxy buffers to verify requests signed without "
                    "x-amz-content-sha256 ([proxy] buffered_body_bytes_max)");
  }
  if (h.body_kind() == http::BodyKind::kContentLength && h.content_length() > 0) {
    StageDecision d;
    d.kind = StageDecision::Kind::kNeedBody;
    d.body_bytes_max = options_.buffered_body_bytes_max;
    d.request_number = request_number_;
    return d;
  }
  return std::nullopt;
}

// --- authenticate: the token must exist, and the signature must be made with its secret ------

ZeroTrustStage::Step<ZeroTrustStage::Authenticated> ZeroTrustStage::authenticate(
    const StageRequest& r, const Request& request) {
  const int64_t now_s = request.now_unix_ns / 1000000000;
  const policy::Snapshot& snapshot = reader_.get();
  const policy::TokenEntry* token = snapshot.find_token(auth_.token_id);
  if (token == nullptr) {
    return deny(403, "InvalidClientTokenId",
                "the REST API token id in AWS_ACCESS_KEY_ID (before '#') does not exist: create a "
                "token and use its id");
  }
  event_.user.assign(snapshot.user(token->user_index).user.id);
  sigv4::VerifyOptions vo;
  vo.now_s = now_s;
  vo.clock_skew_s = options_.clock_skew_s;
  vo.presigned_expiry_max_s = options_.presigned_expiry_max_s;
  sigv4::Result verified = signer_.verify(request.view, auth_, token->token.secret.reveal(), vo,
                                          request.body_sha256_hex);
  if (!verified.ok()) {
    std::string message = sigv4::describe(verified);
    if (verified.code == sigv4::Error::kSignatureMismatch) {
      message += ": AWS_SECRET_ACCESS_KEY must be the secret of token " +
                 std::string(auth_.token_id) + " (pamctl sigv4 verify explains a mismatch)";
    }
    return deny(status_for(verified.code), sigv4::aws_code(verified.code), message);
  }
  // Presigned URLs too: one captured from a log or a shared screen is a replay from elsewhere.
  if (replay_->seen_elsewhere(auth_.signature, absl::HashOf(r.client.ip.family, r.client.ip.bytes),
                              now_s)) {
    if (auth_.form == sigv4::AuthForm::kPresigned) {
      return deny(403, "AccessDenied",
                  "this presigned URL was already used from another client address (a replay); "
                  "presign a new URL for each client");
    }
    return deny(403, "AccessDenied",
                "this exact signed request was already sent from another client address (a "
                "replay); sign each request anew");
  }
  return Authenticated{&snapshot, token};
}

// --- classify: the signature is for this endpoint only, and names one operation -------------

ZeroTrustStage::Step<ZeroTrustStage::Classified> ZeroTrustStage::classify(const Request& request) {
  // No carrying a signature to another service or region.
  if (request.endpoint != nullptr) {
    std::string why = aws::check_scope(*request.endpoint, auth_.scope.service, auth_.scope.region);
    if (!why.empty()) return deny(403, "AccessDenied", why);
  }
  operation_.assign(auth_.scope.service);
  operation_ += ':';
  operation_ += request.operation.name();
  return Classified{operation_};
}

absl::Status ZeroTrustStage::extract_resources(const Request& request, std::string_view account) {
  aws::ResourceRequest facts = request.resource_facts;
  facts.operation = request.operation.name();  // the name lives in the request itself
  facts.protocol = request.operation.protocol();
  facts.account = account;
  absl::Status s = aws::extract_resources(facts, &resources_);
  if (s.ok() && resources_.passes_role()) {
    aws::read_passed_roles(facts, &roles_);
  } else {
    roles_.clear();
  }
  event_.resources.clear();
  for (size_t i = 0; i < resources_.size(); ++i) event_.resources.add(resources_[i]);
  return s;
}

policy::ResourceView ZeroTrustStage::resource_view() const {
  policy::ResourceView v(resources_.text(), resources_.ends(), resources_.passes_role());
  v.with_roles(roles_.text(), roles_.ends(), roles_.unreadable());
  return v;
}

// --- authorize: may this user use this record for this operation, from here, now? -----------

ZeroTrustStage::Step<ZeroTrustStage::Allowed> ZeroTrustStage::authorize(
    const StageRequest& r, const Request& request, const Authenticated& who,
    const Classified& classified) {
  // What it touches, as ARNs: the audit trail names them, resource-scoped rules decide on them.
  // Their account field is the record's AWS account id: the record the decision will use is the
  // one this reference resolves to for this token's user (the same snapshot and inputs), so the
  // ARNs are extracted once, here, with its account (none when the reference does not resolve:
  // decide() refuses it with its reason). A request that names its resource ambiguously is
  // refused rather than recorded or decided on a guess.
  std::string_view account;
  policy::Resolution res =
      policy::resolve_record(*who.snapshot, who.token->user_index, auth_.record);
  if (res.error == policy::ResolveError::kNone) {
    account = who.snapshot->record(res.record_index).record.aws_account_id;
  }
  if (absl::Status s = extract_resources(request, account); !s.ok()) {
    return deny(400, "InvalidRequest", std::string(s.message()));
  }
  policy::Decision d =
      policy::decide(*who.snapshot, auth_.token_id, auth_.record, classified.operation, r.client.ip,
                     absl::FromUnixNanos(request.now_unix_ns), resource_view());
  if (d.record != nullptr) {
    event_.record_id.assign(d.record->record.id);
    event_.record_name.assign(d.record->record.name);
    event_.aws_account.assign(d.record->record.aws_account_id);
  }
  if (!d.allowed) {
    return deny(403, policy::aws_error_code_name(d.aws_code()), d.reason);
  }
  return Allowed{d.record, {d.access_key_id(), d.secret_access_key(), d.session_token()}};
}

// --- resign: the same request, signed with the record's keys -------------------------------

StageDecision ZeroTrustStage::resign(const StageRequest& r, const Request& request,
                                     const Authenticated& who, const Allowed& allowed) {
  // Same date, scope, signed headers and payload hash.
  sigv4::Result resigned =
      signer_.resign(request.view, auth_, allowed.credentials, resigned_, request.body_sha256_hex);
  if (!resigned.ok()) {
    return deny(400, sigv4::aws_code(resigned.code), sigv4::describe(resigned));
  }
  rewrite_head(r, resigned_);
  StageDecision out;
  if (sigv4::has_signed_chunks(request.payload)) {
    // Each chunk signature chains from the seed: the client's from its signature, ours from the
    // new one. A chunk is held whole until its replacement is known, so its size is bounded by
    // what the tunnel may hold.
    sigv4::ChunkSignerSetup cs;
    cs.client_key.set(
        sigv4::as_view(sigv4::derive_signing_key(who.token->token.secret.reveal(), auth_.scope)));
    cs.proxy_key.set(
        sigv4::as_view(sigv4::derive_signing_key(allowed.credentials.secret_key, auth_.scope)));
    cs.amz_date = auth_.amz_date;
    cs.scope = auth_.scope;
    cs.client_seed_signature = auth_.signature;
    cs.proxy_seed_signature = resigned_.signature_view();
    cs.trailer = request.payload == sigv4::PayloadMode::kStreamingSignedTrailer;
    cs.chunk_bytes_max = options_.buffered_body_bytes_max;
    out.chunks = std::make_unique<sigv4::ChunkSigner>();
    if (!out.chunks->start(cs)) {
      return deny(400, "InvalidRequest", "the request's signature cannot seed aws-chunked signing");
    }
  }
  out.unsigned_chunks = request.payload == sigv4::PayloadMode::kStreamingUnsignedTrailer;
  event_.type = audit::EventType::kRequestForwarded;
  out.kind = StageDecision::Kind::kForward;
  out.bytes = head_out_;
  out.event = &event_;
  return out;
}

// The client's head with the new signature: the same request line (presigned: the new query),
// the same fields in the same order, minus Authorization, the client's X-Amz-Security-Token and
// proxy-only fields; then the new Authorization and the record's session token.
void ZeroTrustStage::rewrite_head(const StageRequest& r, const sigv4::Resigned& rs) {
  const http::RequestHead& h = *r.head;
  head_out_.clear();
  head_out_ += h.method_text();
  head_out_ += ' ';
  std::string_view target = h.path_and_query();
  if (auth_.form == sigv4::AuthForm::kPresigned) {
    head_out_ += target.substr(0, target.find('?'));
    head_out_ += '?';
    head_out_ += rs.query;
  } else {
    head_out_ += target;
  }
  head_out_ += h.version_minor() == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  for (size_t i = 0; i < h.header_count(); ++i) {
    http::HeaderField f = h.header(i);
    if (f.id == http::HeaderId::kProxyAuthorization || f.id == http::HeaderId::kProxyConnection ||
        f.id == http::HeaderId::kProxyOther) {
      continue;
    }
    if (auth_.form == sigv4::AuthForm::kHeader && iequals(f.name, "authorization")) continue;
    if (rs.remove_security_token && iequals(f.name, "x-amz-security-token")) continue;
    head_out_ += f.name;
    head_out_ += ": ";
    head_out_ += f.value;
    head_out_ += "\r\n";
  }
  if (auth_.form == sigv4::AuthForm::kHeader) {
    head_out_ += "Authorization: ";
    head_out_ += rs.authorization;
    head_out_ += "\r\n";
    if (!rs.security_token.empty()) {
      head_out_ += "X-Amz-Security-Token: ";
      head_out_ += rs.security_token;
      head_out_ += "\r\n";
    }
  }
  head_out_ += "\r\n";
}

}  // namespace pamproxy::proxy
