#include "pamproxy/proxy/zero_trust_stage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../policy/policy_fixture.h"
#include "absl/time/time.h"
#include "pamproxy/aws/endpoint.h"
#include "pamproxy/http/request_parser.h"
#include "pamproxy/proxy/replay_cache.h"
#include "pamproxy/proxy/settings.h"
#include "pamproxy/sigv4/auth.h"
#include "pamproxy/sigv4/canonical.h"
#include "pamproxy/sigv4/crypto.h"
#include "pamproxy/sigv4/signer.h"

namespace pamproxy::proxy {
namespace {

using policy::testing::fixture_data;
using policy::testing::fixture_now;
using Kind = StageDecision::Kind;

constexpr std::string_view kS3Host = "s3.eu-central-1.amazonaws.com";
constexpr std::string_view kUserAgent = "aws-cli/2.9.19 Python/3.11.2 command/s3.ls";
constexpr int kWorker = 7;

// A request as an AWS client sends it through the tunnel: signed with a token's secret, in the
// fixture's world (policy_fixture.h: token TALICE of alice, record "open" with keys AKIAr-open /
// secret-of-r-open and a session token).
struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query, as on the request line
  std::string host = std::string(kS3Host);
  std::string service = "s3";
  std::string region = "eu-central-1";
  std::string access_key = "TALICE#open";
  std::string secret = "tok-secret-TALICE";
  absl::Time signed_at = fixture_now();
  // Empty: no x-amz-content-sha256 field, and the signature covers the body's hash.
  std::string payload_hash = "UNSIGNED-PAYLOAD";
  std::string content_type;
  std::string body;
  // Unsigned fields after Authorization (a proxy setup's, say).
  std::vector<std::pair<std::string, std::string>> extra;

  std::string signature;  // filled by head()

  // The head bytes, signed the way the AWS CLI signs (an independent signing path: the canonical
  // request and key derivation of sigv4, driven here field by field).
  std::string head() {
    const std::string amz_date = absl::FormatTime("%Y%m%dT%H%M%SZ", signed_at, absl::UTCTimeZone());
    std::vector<std::pair<std::string, std::string>> fields = {{"Host", host},
                                                               {"X-Amz-Date", amz_date}};
    if (!payload_hash.empty()) fields.emplace_back("X-Amz-Content-SHA256", payload_hash);
    if (!content_type.empty()) fields.emplace_back("Content-Type", content_type);
    std::vector<std::string> names;
    std::vector<sigv4::Header> headers;
    for (const auto& [name, value] : fields) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      names.push_back(lower);
      headers.push_back({name, value});
    }
    std::sort(names.begin(), names.end());
    std::string signed_headers;
    for (const std::string& name : names) {
      if (!signed_headers.empty()) signed_headers += ';';
      signed_headers += name;
    }
    char body_hash[sigv4::kSignatureHexLength];
    sigv4::hex_encode(sigv4::sha256(body), body_hash);
    const size_t q = target.find('?');
    sigv4::CanonicalInput in;
    in.method = method;
    in.path = std::string_view(target).substr(0, q);
    in.query = q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
    in.headers = headers;
    in.signed_headers = signed_headers;
    in.payload_hash = payload_hash.empty() ? std::string_view(body_hash, sizeof body_hash)
                                           : std::string_view(payload_hash);
    in.normalize_path = !sigv4::is_s3_family(service);
    const std::string date = amz_date.substr(0, 8);
    const sigv4::Scope scope{date, region, service};
    char sig[sigv4::kSignatureHexLength];
    sigv4::Signer signer;
    EXPECT_TRUE(signer.sign(in, secret, scope, amz_date, sig).ok());
    signature.assign(sig, sizeof sig);
    std::string authorization;
    sigv4::format_authorization(authorization, access_key, scope, signed_headers, signature);

    std::string out = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : fields) out += name + ": " + value + "\r\n";
    out += "User-Agent: " + std::string(kUserAgent) + "\r\n";
    if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "Authorization: " + authorization + "\r\n";
    for (const auto& [name, value] : extra) out += name + ": " + value + "\r\n";
    out += "\r\n";
    return out;
  }
};

// Every text field of an event, for searching.
std::string event_text(const audit::Event& e) {
  std::string out;
  for (std::string_view field :
       {e.source_ip.view(), e.event_source.view(), e.event_name.view(), e.aws_region.view(),
        e.user_agent.view(), e.cli_command.view(), e.error_code.view(), e.aws_request_id.view(),
        e.request_id.view(), e.session_id.view(), e.user.view(), e.token_id.view(),
        e.record_id.view(), e.record_name.view(), e.target_host.view(), e.deny_reason.view(),
        e.detail.view()}) {
    out += field;
    out += '\n';
  }
  return out;
}

class ZeroTrustStageTest : public ::testing::Test {
 protected:
  ZeroTrustStageTest()
      : publisher_(policy::Snapshot::build(fixture_data(), 1)), stage_(publisher_, options()) {}

  ZeroTrustOptions options() {
    ZeroTrustOptions o;
    o.worker = kWorker;
    o.now_unix_ns = [this] { return now_ns_; };
    return o;
  }

  // The tunnel's view of one request: `head` parsed, from `client`, in a tunnel to `host`:443.
  const StageRequest& request(std::string head, std::string_view client = "10.1.2.3:50000",
                              std::string_view host = kS3Host) {
    bytes_ = std::move(head);
    parser_.reset();
    EXPECT_EQ(parser_.parse(bytes_), http::ParseStatus::kDone) << bytes_;
    request_ = StageRequest{};
    request_.connect_host = host;
    request_.connect_port = 443;
    request_.client = *net::SocketAddress::parse(client);
    request_.tunnel_id = 1;
    request_.head = &parser_.head();
    request_.head_bytes = std::string_view(bytes_).substr(0, parser_.head_bytes());
    return request_;
  }

  // The id of the stage's n-th request: start time, worker, counter.
  std::string request_id(unsigned n) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%02x%010x",
                  static_cast<unsigned>(absl::ToUnixSeconds(fixture_now())), kWorker, n);
    return buf;
  }

  int64_t now_ns_ = absl::ToUnixNanos(fixture_now());  // before stage_: it reads the clock
  policy::SnapshotPublisher publisher_;
  ZeroTrustStage stage_;
  std::string bytes_;
  http::RequestParser parser_{http::Limits{}};
  StageRequest request_;
};

// Runs read() and authenticate(), which must both go on.
#define AUTHENTICATED(r, request, who)                         \
  auto request = stage_.read(r);                               \
  ASSERT_FALSE(request.stopped()) << request.decision().bytes; \
  auto who = stage_.authenticate(r, *request);                 \
  ASSERT_FALSE(who.stopped()) << who.decision().bytes

void expect_denied(const StageDecision& d, int status, std::string_view code) {
  EXPECT_EQ(d.kind, Kind::kDeny);
  ASSERT_NE(d.event, nullptr);
  EXPECT_EQ(d.event->type, audit::EventType::kRequestDenied);
  EXPECT_EQ(d.event->status, status);
  EXPECT_EQ(d.event->error_code.view(), code);
  EXPECT_TRUE(d.bytes.starts_with("HTTP/1.1 " + std::to_string(status) + " ")) << d.bytes;
  EXPECT_NE(d.bytes.find("<Code>" + std::string(code) + "</Code>"), std::string::npos) << d.bytes;
  EXPECT_NE(d.bytes.find(d.event->request_id.view()), std::string::npos) << d.bytes;
  EXPECT_NE(d.bytes.find("Connection: close\r\n"), std::string::npos) << d.bytes;
}

// --- read ------------------------------------------------------------------------------------

TEST_F(ZeroTrustStageTest, ReadParsesTheAuthorizationWithoutTheSnapshot) {
  ClientRequest c;
  c.access_key = "TNOPE#open";  // read() does not look the token up
  const StageRequest& r = request(c.head());
  auto read = stage_.read(r);
  ASSERT_FALSE(read.stopped());
  EXPECT_EQ(read->auth->token_id, "TNOPE");
  EXPECT_EQ(read->auth->record, "open");
  EXPECT_EQ(read->auth->signature, c.signature);
  ASSERT_NE(read->endpoint, nullptr);
  EXPECT_EQ(read->endpoint->region, "eu-central-1");
  EXPECT_EQ(read->payload, sigv4::PayloadMode::kUnsigned);
  EXPECT_TRUE(read->body_sha256_hex.empty());
  EXPECT_EQ(read->operation.name(), "ListBuckets");
  EXPECT_EQ(read->now_unix_ns, now_ns_);
}

TEST_F(ZeroTrustStageTest, ReadRefusesAnAccessKeyWithoutARecord) {
  ClientRequest c;
  c.access_key = "TALICE";
  const StageRequest& r = request(c.head());
  auto read = stage_.read(r);
  ASSERT_TRUE(read.stopped());
  expect_denied(read.decision(), 403, "InvalidAccessKeyId");
}

// --- authenticate ----------------------------------------------------------------------------

TEST_F(ZeroTrustStageTest, AuthenticateFindsTheTokenThatSigned) {
  ClientRequest c;
  const StageRequest& r = request(c.head());
  AUTHENTICATED(r, read, who);
  EXPECT_EQ(who->token->token.id, "TALICE");
  EXPECT_EQ(who->snapshot->generation(), 1u);
}

TEST_F(ZeroTrustStageTest, AuthenticateRefusesAnUnknownTokenId) {
  ClientRequest c;
  c.access_key = "TNOPE#open";
  const StageRequest& r = request(c.head());
  auto read = stage_.read(r);
  ASSERT_FALSE(read.stopped());
  auto who = stage_.authenticate(r, *read);
  ASSERT_TRUE(who.stopped());
  const StageDecision& d = who.decision();
  expect_denied(d, 403, "InvalidClientTokenId");
  EXPECT_EQ(d.event->deny_reason.view(),
            "the REST API token id in AWS_ACCESS_KEY_ID (before '#') does not exist: create a "
            "token and use its id");
  EXPECT_EQ(d.event->token_id.view(), "TNOPE");
  EXPECT_TRUE(d.event->user.empty());
}

TEST_F(ZeroTrustStageTest, AuthenticateRefusesASignatureMadeWithAnotherSecret) {
  ClientRequest c;
  c.secret = "tok-secret-TBOB";
  const StageRequest& r = request(c.head());
  auto read = stage_.read(r);
  ASSERT_FALSE(read.stopped());
  auto who = stage_.authenticate(r, *read);
  ASSERT_TRUE(who.stopped());
  const StageDecision& d = who.decision();
  expect_denied(d, 403, "SignatureDoesNotMatch");
  EXPECT_TRUE(d.event->deny_reason.view().ends_with(
      ": AWS_SECRET_ACCESS_KEY must be the secret of token TALICE (pamctl sigv4 verify explains "
      "a mismatch)"))
      << d.event->deny_reason.view();
  EXPECT_EQ(d.event->user.view(), "u-alice");
  EXPECT_TRUE(d.event->record_id.empty());  // nothing about the record before the proof
}

TEST_F(ZeroTrustStageTest, AuthenticateRefusesAStaleDate) {
  ClientRequest c;
  c.signed_at = fixture_now() - absl::Seconds(901);  // the default skew is 900 s
  const StageRequest& r = request(c.head());
  auto read = stage_.read(r);
  ASSERT_FALSE(read.stopped());
  auto who = stage_.authenticate(r, *read);
  ASSERT_TRUE(who.stopped());
  expect_denied(who.decision(), 403, "RequestTimeTooSkewed");

  c.signed_at = fixture_now() - absl::Seconds(900);
  const StageRequest& in_time = request(c.head());
  AUTHENTICATED(in_time, read2, who2);
}

// --- classify --------------------------------------------------------------------------------

TEST_F(ZeroTrustStageTest, ClassifyNamesTheOperationForAccessRules) {
  ClientRequest c;
  const StageRequest& r = request(c.head());
  AUTHENTICATED(r, read, who);
  auto what = stage_.classify(*read);
  ASSERT_FALSE(what.stopped());
  EXPECT_EQ(what->operation, "s3:ListBuckets");

  c.target = "/photos/cat.jpg?acl";
  const StageRequest& acl = request(c.head());
  AUTHENTICATED(acl, read2, who2);
  auto what2 = stage_.classify(*read2);
  ASSERT_FALSE(what2.stopped());
  EXPECT_EQ(what2->operation, "s3:GetObjectAcl");
}

TEST_F(ZeroTrustStageTest, ClassifyRefusesAScopeForAnotherRegion) {
  ClientRequest c;
  c.region = "us-west-2";  // signed for another region than the CONNECT host's
  const StageRequest& r = request(c.head());
  AUTHENTICATED(r, read, who);
  auto what = stage_.classify(*read);
  ASSERT_TRUE(what.stopped());
  const StageDecision& d = what.decision();
  expect_denied(d, 403, "AccessDenied");
  const std::string why = aws::check_scope(*aws::parse_endpoint(kS3Host), "s3", "us-west-2");
  ASSERT_FALSE(why.empty());
  EXPECT_EQ(d.event->deny_reason.view(), why);
  EXPECT_TRUE(d.event->record_id.empty());
}

TEST_F(ZeroTrustStageTest, ClassifyRefusesAScopeForAnotherService) {
  ClientRequest c;
  c.service = "ec2";
  const StageRequest& r = request(c.head());
  AUTHENTICATED(r, read, who);
  auto what = stage_.classify(*read);
  ASSERT_TRUE(what.stopped());
  expect_denied(what.decision(), 403, "AccessDenied");
}

// --- authorize -------------------------------------------------------------------------------

// read, authenticate and classify a request, then authorize it.
#define AUTHORIZE(r, allowed)                             \
  AUTHENTICATED(r, read_##allowed, who_##allowed);        \
  auto what_##allowed = stage_.classify(*read_##allowed); \
  ASSERT_FALSE(what_##allowed.stopped());                 \
  auto allowed = stage_.authorize(r, *read_##allowed, *who_##allowed, *what_##allowed)

TEST_F(ZeroTrustStageTest, AuthorizeGivesTheRecordsKeys) {
  ClientRequest c;
  const StageRequest& r = request(c.head());
  AUTHORIZE(r, allowed);
  ASSERT_FALSE(allowed.stopped());
  EXPECT_EQ(allowed->record->record.id, "r-open");
  EXPECT_EQ(allowed->credentials.access_key, "AKIAr-open");
  EXPECT_EQ(allowed->credentials.secret_key, "secret-of-r-open");
  EXPECT_EQ(allowed->credentials.session_token, "session-of-open");
}

TEST_F(ZeroTrustStageTest, AuthorizeDeniesARecordWithoutConnectPermission) {
  ClientRequest c;
  c.access_key = "TALICE#viewonly";
  const StageRequest& r = request(c.head());
  AUTHORIZE(r, allowed);
  ASSERT_TRUE(allowed.stopped());
  const StageDecision& d = allowed.decision();
  expect_denied(d, 403, "AccessDenied");
  EXPECT_NE(d.event->deny_reason.view().find("but have no Connect permission on it"),
            std::string_view::npos)
      << d.event->deny_reason.view();
}

TEST_F(ZeroTrustStageTest, AuthorizeDeniesByACommandRule) {
  ClientRequest c;
  c.access_key = "TALICE#readonly";
  c.target = "/photos/cat.jpg";
  const StageRequest& get = request(c.head());
  AUTHORIZE(get, allowed);
  ASSERT_FALSE(allowed.stopped());
  EXPECT_EQ(allowed->credentials.access_key, "AKIAr-cmd");

  c.target = "/photos/cat.jpg?acl";
  const StageRequest& acl = request(c.head());
  AUTHORIZE(acl, denied);
  ASSERT_TRUE(denied.stopped());
  const StageDecision& d = denied.decision();
  expect_denied(d, 403, "AccessDenied");
  EXPECT_EQ(d.event->deny_reason.view(),
            "s3:GetObjectAcl is denied on record 'readonly' by the rule 'deny s3:GetObjectAcl'");
  EXPECT_EQ(d.event->record_id.view(), "r-cmd");
  EXPECT_EQ(d.event->record_name.view(), "readonly");
  EXPECT_EQ(d.event->event_name.view(), "GetObjectAcl");
}

TEST_F(ZeroTrustStageTest, AuthorizeDeniesOutsideTheTimeWindow) {
  // Sunday 2026-11-22 10:00 in Berlin: outside "Mon-Fri 08:00-18:00".
  const absl::Time sunday = fixture_now() - absl::Hours(24);
  now_ns_ = absl::ToUnixNanos(sunday);
  ClientRequest c;
  c.access_key = "TALICE#hours";
  c.signed_at = sunday;
  const StageRequest& r = request(c.head());
  AUTHORIZE(r, denied);
  ASSERT_TRUE(denied.stopped());
  const StageDecision& d = denied.decision();
  expect_denied(d, 403, "AccessDenied");
  EXPECT_TRUE(d.event->deny_reason.view().starts_with("access to record 'hours' outside "))
      << d.event->deny_reason.view();
  EXPECT_TRUE(d.event->deny_reason.view().ends_with("(now Sun 10:00)"))
      << d.event->deny_reason.view();

  // Monday 10:00 in Berlin: inside.
  now_ns_ = absl::ToUnixNanos(fixture_now());
  c.signed_at = fixture_now();
  const StageRequest& monday = request(c.head());
  AUTHORIZE(monday, allowed);
  EXPECT_FALSE(allowed.stopped());
}

// A request whose body the stage awaited keeps its operation for the call with the body, even
// when other tunnels' requests were decided in between.
TEST_F(ZeroTrustStageTest, AnAwaitedBodyKeepsItsOwnOperationWhileOtherTunnelsGoOn) {
  constexpr std::string_view kDynamoHost = "dynamodb.eu-central-1.amazonaws.com";
  ClientRequest put;
  put.method = "POST";
  put.host = std::string(kDynamoHost);
  put.service = "dynamodb";
  put.payload_hash = "";
  put.content_type = "application/x-amz-json-1.0";
  put.body = R"({"TableName":"payments","Item":{}})";
  put.extra = {{"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
  const std::string put_head = put.head();
  StageRequest first = request(put_head, "10.1.2.3:50000", kDynamoHost);
  first.tunnel_id = 1;
  StageDecision waiting = stage_.on_request(first);
  EXPECT_EQ(waiting.kind, Kind::kNeedBody);
  // Another tunnel's request is decided meanwhile.
  ClientRequest list;
  StageRequest other = request(list.head());
  other.tunnel_id = 2;
  StageDecision listed = stage_.on_request(other);
  ASSERT_EQ(listed.kind, Kind::kForward) << listed.bytes;
  EXPECT_EQ(listed.event->event_name.view(), "ListBuckets");
  // Then the first tunnel's body comes.
  StageRequest with_body = request(put_head, "10.1.2.3:50000", kDynamoHost);
  with_body.tunnel_id = 1;
  with_body.body = put.body;
  with_body.body_given = true;
  with_body.request_number = waiting.request_number;
  StageDecision d = stage_.on_request(with_body);
  ASSERT_EQ(d.kind, Kind::kForward) << d.bytes;
  EXPECT_EQ(d.event->event_name.view(), "PutItem");
  EXPECT_EQ(d.event->event_source.view(), "dynamodb.amazonaws.com");
  std::vector<std::string> arns;
  d.event->resources.for_each([&](std::string_view arn) { arns.emplace_back(arn); });
  EXPECT_EQ(arns, std::vector<std::string>{"arn:aws:dynamodb:eu-central-1::table/payments"});
}

// A request whose body the stage awaited keeps its own id for the call with the body: another
// tunnel's request decided in between has its own, and each event names its request.
TEST_F(ZeroTrustStageTest, AnAwaitedBodyKeepsItsOwnRequestIdWhileOtherTunnelsGoOn) {
  constexpr std::string_view kDynamoHost = "dynamodb.eu-central-1.amazonaws.com";
  ClientRequest put;  // signed over its body's hash: the stage reads the body first
  put.method = "POST";
  put.host = std::string(kDynamoHost);
  put.service = "dynamodb";
  put.payload_hash = "";
  put.content_type = "application/x-amz-json-1.0";
  put.body = R"({"TableName":"payments","Item":{}})";
  put.extra = {{"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
  const std::string put_head = put.head();
  StageRequest first = request(put_head, "10.1.2.3:50000", kDynamoHost);
  first.tunnel_id = 1;
  StageDecision waiting = stage_.on_request(first);
  ASSERT_EQ(waiting.kind, Kind::kNeedBody) << waiting.bytes;
  // Another tunnel's request is decided meanwhile.
  ClientRequest list;
  StageRequest other = request(list.head());
  other.tunnel_id = 2;
  StageDecision listed = stage_.on_request(other);
  ASSERT_EQ(listed.kind, Kind::kForward) << listed.bytes;
  const std::string listed_id(listed.event->request_id.view());
  // Then the first tunnel's body comes.
  StageRequest with_body = request(put_head, "10.1.2.3:50000", kDynamoHost);
  with_body.tunnel_id = 1;
  with_body.body = put.body;
  with_body.body_given = true;
  with_body.request_number = waiting.request_number;
  StageDecision put_item = stage_.on_request(with_body);
  ASSERT_EQ(put_item.kind, Kind::kForward) << put_item.bytes;
  EXPECT_EQ(put_item.event->event_name.view(), "PutItem");
  EXPECT_EQ(put_item.event->request_id.view(), request_id(1));
  EXPECT_EQ(listed_id, request_id(2));
  EXPECT_NE(put_item.event->request_id.view(), listed_id);
}

// The ARNs carry the record's AWS account, known once the record is resolved: authorize()
// extracts them then, once, for the rules to match and the event to list.
TEST_F(ZeroTrustStageTest, AuthorizeDecidesOnArnsWithTheRecordsAccount) {
  policy::SnapshotData data = fixture_data();
  for (policy::Record& rec : data.records) {
    if (rec.id == "r-open") rec.aws_account_id = "123456789012";
  }
  policy::AccessPolicy scoped;
  scoped.record_id = "r-open";
  scoped.command_rules = {
      *policy::parse_command_rule("deny dynamodb:* arn:aws:dynamodb:*:123456789012:table/ledger")};
  data.policies.push_back(scoped);
  policy::SnapshotPublisher publisher(policy::Snapshot::build(std::move(data), 2));
  ZeroTrustStage stage(publisher, options());
  constexpr std::string_view kDynamoHost = "dynamodb.eu-central-1.amazonaws.com";

  auto put_item = [&](std::string_view table) {
    ClientRequest c;
    c.method = "POST";
    c.host = std::string(kDynamoHost);
    c.service = "dynamodb";
    c.payload_hash = "";
    c.content_type = "application/x-amz-json-1.0";
    c.body = "{\"TableName\":\"" + std::string(table) + "\",\"Item\":{}}";
    c.extra = {{"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
    StageDecision first = stage.on_request(request(c.head(), "10.1.2.3:50000", kDynamoHost));
    EXPECT_EQ(first.kind, Kind::kNeedBody) << first.bytes;
    request_.body = c.body;
    request_.body_given = true;
    request_.request_number = first.request_number;
    return stage.on_request(request_);
  };

  StageDecision payments = put_item("payments");
  ASSERT_EQ(payments.kind, Kind::kForward) << payments.bytes;
  ASSERT_EQ(payments.event->resources.total(), 1u);
  std::vector<std::string> listed;
  payments.event->resources.for_each([&](std::string_view arn) { listed.emplace_back(arn); });
  EXPECT_EQ(listed,
            std::vector<std::string>{"arn:aws:dynamodb:eu-central-1:123456789012:table/payments"});
  EXPECT_EQ(payments.event->aws_account.view(), "123456789012");

  StageDecision ledger = put_item("ledger");
  ASSERT_EQ(ledger.kind, Kind::kDeny);
  EXPECT_EQ(ledger.event->type, audit::EventType::kRequestDenied);
  EXPECT_EQ(ledger.event->error_code.view(), "AccessDenied");
  EXPECT_TRUE(ledger.bytes.starts_with("HTTP/1.1 403 ")) << ledger.bytes;
  EXPECT_EQ(ledger.event->deny_reason.view(),
            "dynamodb:PutItem on arn:aws:dynamodb:eu-central-1:123456789012:table/ledger is denied "
            "on record 'open' by the rule 'deny dynamodb:* "
            "arn:aws:dynamodb:*:123456789012:table/ledger'");
  EXPECT_EQ(ledger.event->aws_account.view(), "123456789012");
  listed.clear();
  ledger.event->resources.for_each([&](std::string_view arn) { listed.emplace_back(arn); });
  EXPECT_EQ(listed,
            std::vector<std::string>{"arn:aws:dynamodb:eu-central-1:123456789012:table/ledger"});

  // Without the account the rule's account field does not match: the same request to a record
  // without one goes through, its ARN with an empty account field.
  ZeroTrustStage plain(publisher_, options());
  ClientRequest c;
  c.method = "POST";
  c.host = std::string(kDynamoHost);
  c.service = "dynamodb";
  c.payload_hash = "";
  c.content_type = "application/x-amz-json-1.0";
  c.body = R"({"TableName":"ledger","Item":{}})";
  c.extra = {{"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
  StageDecision first = plain.on_request(request(c.head(), "10.1.2.3:50000", kDynamoHost));
  EXPECT_EQ(first.kind, Kind::kNeedBody) << first.bytes;
  request_.body = c.body;
  request_.body_given = true;
  request_.request_number = first.request_number;
  StageDecision open = plain.on_request(request_);
  ASSERT_EQ(open.kind, Kind::kForward) << open.bytes;
  listed.clear();
  open.event->resources.for_each([&](std::string_view arn) { listed.emplace_back(arn); });
  EXPECT_EQ(listed, std::vector<std::string>{"arn:aws:dynamodb:eu-central-1::table/ledger"});
  EXPECT_TRUE(open.event->aws_account.empty());
}

// --- resign ----------------------------------------------------------------------------------

TEST_F(ZeroTrustStageTest, ResignSignsWithTheRecordsKeysAndDropsTheClientsFields) {
  ClientRequest c;
  c.target = "/photos/cat.jpg";
  c.extra = {{"Proxy-Authorization", "Basic dXNlcjpwYXNz"}, {"Proxy-Connection", "keep-alive"}};
  const StageRequest& r = request(c.head());
  AUTHORIZE(r, allowed);
  ASSERT_FALSE(allowed.stopped());
  StageDecision d = stage_.resign(r, *read_allowed, *who_allowed, *allowed);
  ASSERT_EQ(d.kind, Kind::kForward) << d.bytes;
  EXPECT_EQ(d.chunks, nullptr);

  const std::string amz_date =
      absl::FormatTime("%Y%m%dT%H%M%SZ", fixture_now(), absl::UTCTimeZone());
  EXPECT_TRUE(d.bytes.starts_with("GET /photos/cat.jpg HTTP/1.1\r\nHost: " + std::string(kS3Host) +
                                  "\r\nX-Amz-Date: " + amz_date + "\r\n"))
      << d.bytes;
  EXPECT_EQ(d.bytes.find("Proxy-"), std::string::npos) << d.bytes;
  EXPECT_EQ(d.bytes.find("TALICE"), std::string::npos) << d.bytes;
  EXPECT_EQ(d.bytes.find(c.signature), std::string::npos) << d.bytes;
  EXPECT_TRUE(d.bytes.ends_with("\r\nX-Amz-Security-Token: session-of-open\r\n\r\n")) << d.bytes;

  // The upstream's view: one Authorization, made with the record's secret.
  http::RequestParser up_parser{http::Limits{}};
  ASSERT_EQ(up_parser.parse(d.bytes), http::ParseStatus::kDone);
  const http::RequestHead& up = up_parser.head();
  std::vector<sigv4::Header> headers;
  int authorizations = 0;
  for (size_t i = 0; i < up.header_count(); ++i) {
    headers.push_back({up.header(i).name, up.header(i).value});
    if (sigv4::iequals(up.header(i).name, "authorization")) ++authorizations;
  }
  EXPECT_EQ(authorizations, 1);
  const sigv4::RequestView view{up.method_text(), "/photos/cat.jpg", "", headers};
  sigv4::ParsedAuth auth;
  ASSERT_TRUE(sigv4::parse_auth(view, auth, /*require_token=*/false).ok());
  EXPECT_EQ(auth.access_key, "AKIAr-open");
  EXPECT_EQ(auth.scope.region, "eu-central-1");
  EXPECT_EQ(auth.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  sigv4::Signer verifier;
  sigv4::VerifyOptions vo;
  vo.now_s = absl::ToUnixSeconds(fixture_now());
  EXPECT_TRUE(verifier.verify(view, auth, "secret-of-r-open", vo).ok());
  EXPECT_EQ(verifier.verify(view, auth, "tok-secret-TALICE", vo).code,
            sigv4::Error::kSignatureMismatch);
}

// --- on_request ------------------------------------------------------------------------------

TEST_F(ZeroTrustStageTest, ForwardsWithARequestForwardedEvent) {
  ClientRequest c;
  const StageRequest& r = request(c.head());
  StageDecision d = stage_.on_request(r);
  ASSERT_EQ(d.kind, Kind::kForward) << d.bytes;
  ASSERT_NE(d.event, nullptr);
  const audit::Event& e = *d.event;
  EXPECT_EQ(e.type, audit::EventType::kRequestForwarded);
  EXPECT_EQ(e.time_unix_ns, now_ns_);
  EXPECT_EQ(e.status, 0);
  EXPECT_EQ(e.read_only, audit::ReadOnly::kTrue);
  EXPECT_EQ(e.source_ip.view(), "10.1.2.3");
  EXPECT_EQ(e.source_port, 50000);
  EXPECT_EQ(e.target_host.view(), "s3.eu-central-1.amazonaws.com:443");
  EXPECT_EQ(e.user_agent.view(), kUserAgent);
  EXPECT_EQ(e.cli_command.view(), "s3.ls");
  EXPECT_EQ(e.request_id.view(), request_id(1));
  EXPECT_EQ(e.token_id.view(), "TALICE");
  EXPECT_EQ(e.user.view(), "u-alice");
  EXPECT_EQ(e.record_id.view(), "r-open");
  EXPECT_EQ(e.record_name.view(), "open");
  EXPECT_EQ(e.event_source.view(), "s3.amazonaws.com");
  EXPECT_EQ(e.event_name.view(), "ListBuckets");
  EXPECT_EQ(e.aws_region.view(), "eu-central-1");
  EXPECT_TRUE(e.error_code.empty());
  EXPECT_TRUE(e.deny_reason.empty());
  EXPECT_TRUE(d.bytes.starts_with("GET / HTTP/1.1\r\n")) << d.bytes;

  // The next request gets the next id.
  ClientRequest again;
  again.signed_at = fixture_now() + absl::Seconds(1);
  StageDecision d2 = stage_.on_request(request(again.head()));
  ASSERT_EQ(d2.kind, Kind::kForward) << d2.bytes;
  EXPECT_EQ(d2.event->request_id.view(), request_id(2));
  EXPECT_EQ(request_id(2), "6b040090070000000002");  // 2026-11-23T09:00:00Z, worker 7
}

TEST_F(ZeroTrustStageTest, DeniesWithARequestDeniedEvent) {
  ClientRequest c;
  c.access_key = "TALICE#viewonly";
  StageDecision d = stage_.on_request(request(c.head()));
  expect_denied(d, 403, "AccessDenied");
  const audit::Event& e = *d.event;
  EXPECT_EQ(e.request_id.view(), request_id(1));
  EXPECT_EQ(e.user.view(), "u-alice");
  EXPECT_TRUE(e.record_id.empty());  // a record one may not connect to is not resolved
  EXPECT_EQ(e.event_name.view(), "ListBuckets");
  EXPECT_EQ(e.target_host.view(), "s3.eu-central-1.amazonaws.com:443");
  EXPECT_EQ(e.deny_reason.view(),
            "you may view record 'viewonly' (r-view) but have no Connect permission on it; ask an "
            "admin for a grant");
  EXPECT_TRUE(d.bytes.ends_with(
      "\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
      "<Message>you may view record &apos;viewonly&apos; (r-view) but have no Connect permission "
      "on it; ask an admin for a grant (request " +
      request_id(1) + ")</Message><RequestId>" + request_id(1) + "</RequestId></Error>"))
      << d.bytes;
}

TEST_F(ZeroTrustStageTest, RefusesTheSameSignedRequestFromAnotherAddress) {
  ClientRequest c;
  const std::string head = c.head();
  EXPECT_EQ(stage_.on_request(request(head, "10.1.2.3:50000")).kind, Kind::kForward);
  // The same client may send it again (a retry); another may not.
  EXPECT_EQ(stage_.on_request(request(head, "10.1.2.3:50001")).kind, Kind::kForward);
  StageDecision d = stage_.on_request(request(head, "10.9.9.9:40000"));
  expect_denied(d, 403, "AccessDenied");
  EXPECT_EQ(d.event->deny_reason.view(),
            "this exact signed request was already sent from another client address (a replay); "
            "sign each request anew");
  EXPECT_EQ(d.event->source_ip.view(), "10.9.9.9");
  EXPECT_TRUE(d.event->record_id.empty());
}

// A presigned GET of the fixture's bucket as `aws s3 presign` makes it with the token's keys.
std::string presigned_head(int64_t expires_s = 300) {
  const std::string amz_date =
      absl::FormatTime("%Y%m%dT%H%M%SZ", fixture_now(), absl::UTCTimeZone());
  const std::string date = amz_date.substr(0, 8);
  std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=TALICE%23open%2F" + date +
                      "%2Feu-central-1%2Fs3%2Faws4_request&X-Amz-Date=" + amz_date +
                      "&X-Amz-Expires=" + std::to_string(expires_s) + "&X-Amz-SignedHeaders=host";
  const std::vector<sigv4::Header> headers = {{"Host", kS3Host}};
  sigv4::CanonicalInput in;
  in.method = "GET";
  in.path = "/bucket/report.csv";
  in.query = query;
  in.headers = headers;
  in.signed_headers = "host";
  in.payload_hash = "UNSIGNED-PAYLOAD";
  in.normalize_path = false;
  char sig[sigv4::kSignatureHexLength];
  sigv4::Signer signer;
  EXPECT_TRUE(
      signer.sign(in, "tok-secret-TALICE", sigv4::Scope{date, "eu-central-1", "s3"}, amz_date, sig)
          .ok());
  query += "&X-Amz-Signature=" + std::string(sig, sizeof sig);
  return "GET /bucket/report.csv?" + query + " HTTP/1.1\r\nHost: " + std::string(kS3Host) +
         "\r\nUser-Agent: curl/7.88.1\r\n\r\n";
}

TEST_F(ZeroTrustStageTest, RefusesTheSamePresignedUrlFromAnotherAddress) {
  const std::string head = presigned_head();
  StageDecision first = stage_.on_request(request(head, "10.1.2.3:50000"));
  ASSERT_EQ(first.kind, Kind::kForward) << first.bytes;
  // The same client may fetch it again, later in the window too; another may not.
  now_ns_ += 60 * 1000000000LL;
  EXPECT_EQ(stage_.on_request(request(head, "10.1.2.3:50001")).kind, Kind::kForward);
  StageDecision d = stage_.on_request(request(head, "10.9.9.9:40000"));
  expect_denied(d, 403, "AccessDenied");
  EXPECT_EQ(d.event->deny_reason.view(),
            "this presigned URL was already used from another client address (a replay); presign "
            "a new URL for each client");
  EXPECT_EQ(d.event->source_ip.view(), "10.9.9.9");
}

TEST_F(ZeroTrustStageTest, StagesSharingAReplayCacheRefuseEachOthersReplays) {
  // Two workers' stages with the process's one cache: the replay reaches the other worker.
  auto cache = std::make_shared<ReplayCache>(1024, 900);
  ZeroTrustOptions o = options();
  o.replay_cache = cache;
  ZeroTrustStage first(publisher_, o);
  o.worker = kWorker + 1;
  ZeroTrustStage second(publisher_, o);
  ClientRequest c;
  const std::string head = c.head();
  EXPECT_EQ(first.on_request(request(head, "10.1.2.3:50000")).kind, Kind::kForward);
  EXPECT_EQ(second.on_request(request(head, "10.1.2.3:50001")).kind, Kind::kForward);
  expect_denied(second.on_request(request(head, "10.9.9.9:40000")), 403, "AccessDenied");
  const std::string presigned = presigned_head();
  EXPECT_EQ(second.on_request(request(presigned, "10.1.2.3:50002")).kind, Kind::kForward);
  expect_denied(first.on_request(request(presigned, "10.9.9.9:40001")), 403, "AccessDenied");
  EXPECT_EQ(cache->size(), 2u);
}

TEST_F(ZeroTrustStageTest, ANewClockSkewAppliesToTheReplayWindow) {
  // A presigned URL outlives the skew window (300 s here), so the replay window shows alone.
  const std::string head = presigned_head(300);
  EXPECT_EQ(stage_.on_request(request(head, "10.1.2.3:50000")).kind, Kind::kForward);
  ProxySettings settings;
  settings.clock_skew_s = 30;
  stage_.follow(settings);
  now_ns_ += 31 * 1000000000LL;
  // Remembered for 30 s only now: another address past them is a first use.
  StageDecision later = stage_.on_request(request(head, "10.9.9.9:40000"));
  EXPECT_EQ(later.kind, Kind::kForward) << later.bytes;
  settings.clock_skew_s = 900;
  stage_.follow(settings);
  now_ns_ += 60 * 1000000000LL;
  expect_denied(stage_.on_request(request(head, "10.1.2.3:50001")), 403, "AccessDenied");
}

TEST_F(ZeroTrustStageTest, AsksForTheBodyOfABodySignedQueryCall) {
  ClientRequest c;
  c.method = "POST";
  c.host = "sts.amazonaws.com";
  c.service = "sts";
  c.region = "us-east-1";
  c.payload_hash = "";  // botocore signs a query call's body hash without the field
  c.content_type = "application/x-www-form-urlencoded; charset=utf-8";
  c.body = "Action=GetCallerIdentity&Version=2011-06-15";
  const StageRequest& r = request(c.head(), "10.1.2.3:50000", "sts.amazonaws.com");
  StageDecision first = stage_.on_request(r);
  ASSERT_EQ(first.kind, Kind::kNeedBody) << first.bytes;
  EXPECT_EQ(first.body_bytes_max, 8u << 20);
  EXPECT_EQ(first.event, nullptr);
  EXPECT_TRUE(first.bytes.empty());

  request_.body = c.body;
  request_.body_given = true;
  request_.request_number = first.request_number;
  StageDecision d = stage_.on_request(request_);
  ASSERT_EQ(d.kind, Kind::kForward) << d.bytes;
  EXPECT_EQ(d.event->event_name.view(), "GetCallerIdentity");
  EXPECT_EQ(d.event->event_source.view(), "sts.amazonaws.com");
  EXPECT_EQ(d.event->aws_region.view(), "us-east-1");
  EXPECT_EQ(d.event->request_id.view(), request_id(1));  // one request, asked twice

  // A body larger than the stage buffers is refused before it is read.
  ZeroTrustOptions small = options();
  small.buffered_body_bytes_max = 16;
  ZeroTrustStage stage(publisher_, small);
  StageDecision too_large =
      stage.on_request(request(c.head(), "10.1.2.3:50000", "sts.amazonaws.com"));
  EXPECT_EQ(too_large.kind, Kind::kDeny);
  EXPECT_EQ(too_large.event->status, 413);
  EXPECT_EQ(too_large.event->error_code.view(), "RequestEntityTooLarge");
}

// No secret of the token or the record, and no signature (the client's or ours), is ever in an
// event or the bytes of a denial: whatever the outcome.
TEST_F(ZeroTrustStageTest, NoSecretInEventsOrDenials) {
  const std::vector<std::string> secrets = {"tok-secret-TALICE", "secret-of-r-open",
                                            "secret-of-r-cmd", "secret-of-r-view",
                                            "session-of-open"};
  std::vector<ClientRequest> cases(6);
  cases[1].secret = "tok-secret-TBOB";      // bad signature
  cases[2].access_key = "TALICE#viewonly";  // no Connect permission
  cases[3].access_key = "TALICE#readonly";  // command rule
  cases[3].target = "/photos/cat.jpg?acl";
  cases[4].region = "us-west-2";                        // scope
  cases[5].signed_at = fixture_now() - absl::Hours(1);  // stale
  std::string forwarded_signature;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    StageDecision d = stage_.on_request(request(cases[i].head()));
    EXPECT_EQ(d.kind, i == 0 ? Kind::kForward : Kind::kDeny);
    ASSERT_NE(d.event, nullptr);
    const std::string text = event_text(*d.event);
    const std::string denial = d.kind == Kind::kDeny ? d.bytes : std::string();
    std::vector<std::string> hidden = secrets;
    hidden.push_back(cases[i].signature);
    if (d.kind == Kind::kForward) {
      http::RequestParser p{http::Limits{}};
      ASSERT_EQ(p.parse(d.bytes), http::ParseStatus::kDone);
      std::optional<std::string_view> authz = p.head().find("authorization");
      ASSERT_TRUE(authz.has_value());
      forwarded_signature = std::string(authz->substr(authz->rfind('=') + 1));
      ASSERT_EQ(forwarded_signature.size(), 64u);
      hidden.push_back(forwarded_signature);
    }
    for (const std::string& s : hidden) {
      EXPECT_EQ(text.find(s), std::string::npos) << s << " in\n" << text;
      EXPECT_EQ(denial.find(s), std::string::npos) << s << " in\n" << denial;
    }
  }
}

}  // namespace
}  // namespace pamproxy::proxy
