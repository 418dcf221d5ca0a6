#include "pamproxy/audit/session.h"

#include <gtest/gtest.h>

#include "audit_test_util.h"
#include "pamproxy/base/check.h"

namespace pamproxy::audit {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = 1795000000 * kSec;

Event request(int64_t t, const char* user, const char* record, const char* ip) {
  Event e = testing::sample_event(1);
  e.time_unix_ns = t;
  e.user.assign(user);
  e.record_id.assign(record);
  e.source_ip.assign(ip);
  return e;
}

TEST(Sessions, GroupByUserRecordAndAddressUntilIdle) {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  std::string a = agg.add(request(kT0, "alice", "rec-1", "192.0.2.1"), 10, &closed);
  EXPECT_EQ(a, "s-10");
  EXPECT_EQ(agg.add(request(kT0 + 60 * kSec, "alice", "rec-1", "192.0.2.1"), 11, &closed), a);
  EXPECT_NE(agg.add(request(kT0 + 61 * kSec, "alice", "rec-2", "192.0.2.1"), 12, &closed), a);
  EXPECT_NE(agg.add(request(kT0 + 62 * kSec, "alice", "rec-1", "192.0.2.9"), 13, &closed), a);
  EXPECT_NE(agg.add(request(kT0 + 63 * kSec, "bob", "rec-1", "192.0.2.1"), 14, &closed), a);
  EXPECT_TRUE(closed.empty());
  EXPECT_EQ(agg.open_count(), 4u);
  // After more than the idle timeout, the same key starts a new session and closes the old one.
  std::string again =
      agg.add(request(kT0 + 2000 * kSec, "alice", "rec-1", "192.0.2.1"), 20, &closed);
  EXPECT_EQ(again, "s-20");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].id, "s-10");
  EXPECT_EQ(closed[0].requests, 2u);
  EXPECT_EQ(closed[0].commands.size(), 2u);
}

TEST(Sessions, EventsWithoutUserOrRecordBelongToNone) {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  Event tunnel;
  tunnel.type = EventType::kTunnelOpened;
  EXPECT_EQ(agg.add(tunnel, 1, &closed), "");
  EXPECT_EQ(agg.add(request(kT0, "", "rec-1", "192.0.2.1"), 2, &closed), "");
  EXPECT_EQ(agg.open_count(), 0u);
}

TEST(Sessions, ExpireClosesOnlyIdleSessions) {
  SessionAggregator agg(60);
  std::vector<Session> closed;
  agg.add(request(kT0, "alice", "rec-1", "192.0.2.1"), 1, &closed);
  agg.add(request(kT0 + 50 * kSec, "bob", "rec-1", "192.0.2.1"), 2, &closed);
  auto expired = agg.expire(kT0 + 100 * kSec);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].user, "alice");
  EXPECT_EQ(agg.open_count(), 1u);
  EXPECT_NE(agg.find_open("s-2"), nullptr);
  EXPECT_EQ(agg.close_all().size(), 1u);
  EXPECT_EQ(agg.open_count(), 0u);
}

TEST(Sessions, BoundsAreKeptAndReported) {
  SessionAggregator agg(900, /*commands_max=*/2, /*open_max=*/2);
  std::vector<Session> closed;
  for (int i = 0; i < 5; ++i)
    agg.add(request(kT0 + i, "alice", "rec-1", "192.0.2.1"), i + 1, &closed);
  agg.add(request(kT0 + 10, "bob", "rec-1", "192.0.2.1"), 10, &closed);
  agg.add(request(kT0 + 20, "carol", "rec-1", "192.0.2.1"), 11, &closed);  // evicts alice
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].user, "alice");
  EXPECT_EQ(closed[0].requests, 5u);
  EXPECT_EQ(closed[0].commands.size(), 2u);
  EXPECT_EQ(closed[0].commands_dropped, 3u);
  EXPECT_NE(session_report_text(closed[0]).find("and 3 more request(s) not listed"),
            std::string::npos);
}

TEST(Sessions, ReportsListEveryCommand) {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  agg.add(request(kT0, "alice", "rec-1", "192.0.2.1"), 5, &closed);
  Event denied = request(kT0 + 65 * kSec, "alice", "rec-1", "192.0.2.1");
  denied.type = EventType::kRequestDenied;
  denied.status = 403;
  denied.cli_command.assign("s3.rm");
  denied.event_name.assign("DeleteObject");
  denied.error_code.assign("AccessDenied");
  denied.deny_reason.assign("outside the record's time window");
  agg.add(denied, 6, &closed);
  auto sessions = agg.close_all();
  ASSERT_EQ(sessions.size(), 1u);
  const Session& s = sessions[0];
  EXPECT_EQ(s.denied, 1u);

  std::string json = session_report_json(s);
  EXPECT_EQ(json.rfind("{\"sessionId\":\"s-5\",\"user\":\"alice\"", 0), 0u) << json;
  EXPECT_NE(json.find("\"cliCommand\":\"s3.cp\""), std::string::npos);
  EXPECT_NE(json.find("\"outcome\":\"denied\",\"status\":403,\"errorCode\":\"AccessDenied\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"startTime\":\"2026-11-18T11:06:40.000000Z\""), std::string::npos);

  std::string text = session_report_text(s);
  EXPECT_NE(text.find("Session s-5"), std::string::npos);
  EXPECT_NE(text.find("user:     alice (token tok1)"), std::string::npos) << text;
  EXPECT_NE(text.find("(1m05s)"), std::string::npos) << text;
  EXPECT_NE(text.find("  11:07:45  aws s3 rm\n"), std::string::npos) << text;
  EXPECT_NE(text.find("DeleteObject  DENIED  outside the record's time window"), std::string::npos)
      << text;
}

TEST(Sessions, CompletedEventFillsInTheOutcomeAndTheUploadedBytes) {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  Event forwarded = request(kT0, "alice", "rec-1", "192.0.2.1");
  forwarded.event_name.assign("PutObject");
  forwarded.status = 0;
  forwarded.bytes_in = 0;  // a streamed body: not counted yet when forwarded
  forwarded.bytes_out = 0;
  forwarded.aws_request_id.clear();
  const std::string id = agg.add(forwarded, 7, &closed);
  Event completed = forwarded;
  completed.type = EventType::kRequestCompleted;
  completed.time_unix_ns = kT0 + kSec;
  completed.status = 200;
  completed.bytes_in = 1 << 20;
  completed.bytes_out = 300;
  completed.aws_request_id.assign("AWSREQ-PUT");
  EXPECT_EQ(agg.add(completed, 8, &closed), id);
  // Merged twice (a replayed line) changes nothing.
  agg.add(completed, 8, &closed);

  auto sessions = agg.close_all();
  ASSERT_EQ(sessions.size(), 1u);
  const Session& s = sessions[0];
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.bytes_in, 1u << 20);
  EXPECT_EQ(s.bytes_out, 300u);
  ASSERT_EQ(s.commands.size(), 1u);
  EXPECT_TRUE(s.commands[0].completed);
  EXPECT_EQ(s.commands[0].status, 200);
  EXPECT_EQ(s.commands[0].bytes_in, 1u << 20);
  EXPECT_EQ(s.commands[0].aws_request_id, "AWSREQ-PUT");
  EXPECT_NE(session_report_text(s).find("bytes in 1048576, out 300"), std::string::npos)
      << session_report_text(s);
}

TEST(Sessions, OpenUntilClosedAndKeepsItsFirstSeq) {
  SessionAggregator agg(60);
  std::vector<Session> closed;
  const std::string id = agg.add(request(kT0, "alice", "rec-1", "192.0.2.1"), 42, &closed);
  const Session* open = agg.find_open(id);
  ASSERT_NE(open, nullptr);
  EXPECT_TRUE(open->open);
  EXPECT_EQ(open->first_seq, 42u);
  auto expired = agg.expire(kT0 + 100 * kSec);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_FALSE(expired[0].open);
  EXPECT_EQ(expired[0].first_seq, 42u);
}

TEST(Sessions, StoredReportCarriesBothRenderings) {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  agg.add(request(kT0, "alice", "rec-1", "192.0.2.1"), 5, &closed);
  auto sessions = agg.close_all();
  ASSERT_EQ(sessions.size(), 1u);
  SessionReport r = stored_report(sessions[0]);
  EXPECT_EQ(r.id, "s-5");
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.report_json, session_report_json(sessions[0]));
  EXPECT_EQ(r.report_text, session_report_text(sessions[0]));
}

SessionReport summary() {
  SessionReport r;
  r.id = "s-7";
  r.first_seq = 7;
  r.user = "u-1";
  r.token_id = "TOK1";
  r.record_id = "rec-1";
  r.record_name = "prod";
  r.source_ip = "192.0.2.1";
  r.started_unix_ns = kT0;
  r.last_unix_ns = kT0 + kSec;
  r.requests = 3;
  r.denied = 1;
  r.bytes_in = 10;
  r.bytes_out = 20;
  r.open = true;
  return r;
}

constexpr char kSummaryTail[] =
    R"("token_id":"TOK1","record_id":"rec-1","record_name":"prod","source_ip":"192.0.2.1",)"
    R"("started":"2026-11-18T11:06:40.000000Z","last_activity":"2026-11-18T11:06:41.000000Z",)"
    R"("requests":3,"denied":1,"bytes_in":10,"bytes_out":20,"open":true)";

TEST(Sessions, SessionJsonWithoutUserName) {
  JsonWriter w;
  write_session_json(w, summary(), std::nullopt, false);
  EXPECT_EQ(w.str(), std::string(R"({"id":"s-7","user":"u-1",)") + kSummaryTail + "}");
}

TEST(Sessions, SessionJsonWithUserNameAndReport) {
  SessionReport r = summary();
  JsonWriter w;
  write_session_json(w, r, "alice", true);
  EXPECT_EQ(w.str(), std::string(R"({"id":"s-7","user":"u-1","user_name":"alice",)") +
                         kSummaryTail + R"(,"report":null})");
  r.report_json = R"({"sessionId":"s-7"})";
  JsonWriter with;
  write_session_json(with, r, "", true);
  EXPECT_EQ(with.str(), std::string(R"({"id":"s-7","user":"u-1","user_name":"",)") + kSummaryTail +
                            R"(,"report":{"sessionId":"s-7"}})");
}

// A command as the aggregator keeps it: t seconds (and ms) after kT0, lasting duration_ms.
SessionCommand command(const char* cli, const char* op, int64_t t_ms, uint64_t duration_ms = 0,
                       std::vector<std::string> resources = {}) {
  SessionCommand c;
  c.time_unix_ns = kT0 + t_ms * 1000000;
  c.cli_command = cli;
  c.event_source = "s3.amazonaws.com";
  c.event_name = op;
  c.status = 200;
  c.duration_us = duration_ms * 1000;
  c.resources_total = static_cast<uint32_t>(resources.size());
  c.resources = std::move(resources);
  return c;
}

std::vector<std::string> names_of(const std::vector<Invocation>& invocations) {
  std::vector<std::string> out;
  for (const Invocation& inv : invocations) {
    out.push_back(invocation_name(inv) + " " + std::to_string(inv.command_count));
  }
  return out;
}

TEST(Sessions, CursorCarriesThePositionAndRefusesAnythingElse) {
  SessionReport last;
  last.id = "s-12-node-b";
  last.started_unix_ns = 1765000000123456789;
  std::string cursor = session_cursor(last);
  // Safe in a query string as it is.
  EXPECT_EQ(
      cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << cursor;
  std::optional<SessionPosition> p = parse_session_cursor(cursor);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->started_unix_ns, last.started_unix_ns);
  EXPECT_EQ(p->id, last.id);
  for (std::string_view bad : {"", "12", "!!!", "MTIz" /* "123": no id */,
                               "OjE" /* ":1": no time */, "eDpzLTE" /* "x:s-1" */}) {
    EXPECT_FALSE(parse_session_cursor(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_session_cursor(std::string(600, 'A')).has_value());
}

TEST(Invocations, AMultipartCopyIsOneInvocationWithItsOperationsFolded) {
  const std::string arn = "arn:aws:s3:::billing/2026/11/report.csv";
  std::vector<SessionCommand> cs = {
      command("s3.cp", "CreateMultipartUpload", 0, 20, {arn}),
      // Parts that take longer than the gap each: the next one starts as one ends.
      command("s3.cp", "UploadPart", 30, 5000, {arn}),
      command("s3.cp", "UploadPart", 40, 5000, {arn}),
      command("s3.cp", "UploadPart", 5040, 3000, {arn}),
      command("s3.cp", "CompleteMultipartUpload", 8100, 50, {arn}),
  };
  for (SessionCommand& c : cs) c.bytes_in = c.event_name == "UploadPart" ? 8u << 20 : 0;
  std::vector<Invocation> invs = group_invocations(cs);
  ASSERT_EQ(invs.size(), 1u);
  const Invocation& inv = invs[0];
  EXPECT_EQ(invocation_name(inv), "aws s3 cp");
  EXPECT_EQ(inv.first_command, 0u);
  EXPECT_EQ(inv.command_count, 5u);
  EXPECT_EQ(inv.resources, std::vector<std::string>{arn});
  EXPECT_EQ(inv.resources_total, 1u);
  ASSERT_EQ(inv.operations.size(), 3u);
  EXPECT_EQ(inv.operations[0].event_name, "CreateMultipartUpload");
  EXPECT_EQ(inv.operations[1].event_name, "UploadPart");
  EXPECT_EQ(inv.operations[1].count, 3u);
  EXPECT_EQ(inv.operations[1].bytes_in, 24u << 20);
  EXPECT_EQ(inv.operations[2].event_name, "CompleteMultipartUpload");
}

TEST(Invocations, TheGapIsMeasuredFromTheLatestEndAndItsEdgeJoins) {
  // The first ends at 1,500 ms: a start at 2,500 ms (the gap exactly) joins, 1 ns later not.
  std::vector<SessionCommand> cs = {command("s3.ls", "ListObjectsV2", 0, 1500),
                                    command("s3.ls", "ListObjectsV2", 2500)};
  EXPECT_EQ(names_of(group_invocations(cs)), std::vector<std::string>{"aws s3 ls 2"});
  cs[1].time_unix_ns += 1;
  EXPECT_EQ(names_of(group_invocations(cs)),
            (std::vector<std::string>{"aws s3 ls 1", "aws s3 ls 1"}));
  // A short request after a long one that is still running joins: the latest end counts.
  cs = {command("s3.cp", "UploadPart", 0, 9000), command("s3.cp", "UploadPart", 100, 100),
        command("s3.cp", "CompleteMultipartUpload", 9500)};
  EXPECT_EQ(names_of(group_invocations(cs)), std::vector<std::string>{"aws s3 cp 3"});
}

TEST(Invocations, AnotherCommandInBetweenOrNoCliCommandStartsANewLine) {
  std::vector<SessionCommand> cs = {command("s3.cp", "PutObject", 0),
                                    command("s3.ls", "ListObjectsV2", 100),
                                    command("s3.cp", "PutObject", 200),
                                    command("s3.rm", "DeleteObject", 300),
                                    command("", "GetObject", 400),
                                    command("", "GetObject", 500),
                                    command("s3api.get-object", "GetObject", 600)};
  EXPECT_EQ(
      names_of(group_invocations(cs)),
      (std::vector<std::string>{"aws s3 cp 1", "aws s3 ls 1", "aws s3 cp 1", "aws s3 rm 1",
                                "s3:GetObject 1", "s3:GetObject 1", "aws s3api get-object 1"}));
  EXPECT_TRUE(group_invocations({}).empty());
}

TEST(Invocations, OperationsFoldOnlyWhenIdentical) {
  std::vector<SessionCommand> cs = {command("s3.rm", "DeleteObject", 0),
                                    command("s3.rm", "DeleteObject", 10),
                                    command("s3.rm", "DeleteObject", 20)};
  cs[1].status = 204;
  cs[2].denied = true;
  cs[2].status = 403;
  cs[2].deny_reason = "s3:DeleteObject is denied";
  std::vector<Invocation> invs = group_invocations(cs);
  ASSERT_EQ(invs.size(), 1u);
  ASSERT_EQ(invs[0].operations.size(), 3u);
  EXPECT_EQ(invs[0].operations[1].status, 204);
  EXPECT_TRUE(invs[0].operations[2].denied);
}

TEST(Invocations, ResourcesAreDistinctBoundedAndCounted) {
  std::vector<SessionCommand> cs;
  for (int i = 0; i < 20; ++i) {
    cs.push_back(
        command("s3.rm", "DeleteObject", i, 0, {"arn:aws:s3:::b/k" + std::to_string(i % 18)}));
  }
  // A DeleteObjects whose event could list 2 of its 1,000 keys.
  cs.push_back(command("s3.rm", "DeleteObjects", 30, 0, {"arn:aws:s3:::b/k0", "arn:aws:s3:::b/x"}));
  cs.back().resources_total = 1000;
  std::vector<Invocation> invs = group_invocations(cs);
  ASSERT_EQ(invs.size(), 1u);
  EXPECT_EQ(invs[0].resources.size(), kInvocationResourcesMax);
  EXPECT_EQ(invs[0].resources[0], "arn:aws:s3:::b/k0");
  // 18 keys, then "x" new, and the 998 the event could not list.
  EXPECT_EQ(invs[0].resources_total, 18u + 1u + 998u);
}

TEST(Invocations, ResourceText) {
  EXPECT_EQ(resource_text("arn:aws:s3:::billing"), "s3://billing");
  EXPECT_EQ(resource_text("arn:aws:s3:::billing/2026/11/a b.csv"), "s3://billing/2026/11/a b.csv");
  EXPECT_EQ(resource_text("arn:aws-cn:s3:::billing/k"), "s3://billing/k");
  EXPECT_EQ(resource_text("arn:aws:s3:us-east-1:123456789012:accesspoint/ap"),
            "arn:aws:s3:us-east-1:123456789012:accesspoint/ap");
  EXPECT_EQ(resource_text("arn:aws:dynamodb:us-east-1:123456789012:table/payments"),
            "arn:aws:dynamodb:us-east-1:123456789012:table/payments");
  EXPECT_EQ(resource_text("arn:aws:s3:::"), "arn:aws:s3:::");
  EXPECT_EQ(resource_text("*"), "*");
}

// A scripted session through the aggregator: the events the proxy writes for `aws s3 mb`, a
// multipart `aws s3 cp`, `aws s3 ls`, a boto3 GetObject, a DeleteObjects of 1,000 keys and a
// denied `aws s3 rb`.
Session scripted_session() {
  SessionAggregator agg(900);
  std::vector<Session> closed;
  uint64_t seq = 100;
  int64_t at_ms = 0;
  auto add = [&](const char* cli, const char* op, int32_t status, uint64_t bytes_in,
                 uint64_t bytes_out, std::vector<std::string> arns, int64_t after_ms) {
    at_ms += after_ms;
    Event e = request(kT0 + at_ms * 1000000, "u-1", "rec-1", "192.0.2.1");
    e.cli_command.assign(cli);
    e.event_name.assign(op);
    e.status = status;
    e.bytes_in = bytes_in;
    e.bytes_out = bytes_out;
    e.duration_us = 20000;
    e.request_id.assign("req-" + std::to_string(seq));
    for (const std::string& arn : arns) e.resources.add(arn);
    agg.add(e, seq++, &closed);
    return e;
  };
  const std::string key = "arn:aws:s3:::billing/2026/11/report.csv";
  add("s3.mb", "CreateBucket", 200, 0, 0, {"arn:aws:s3:::billing"}, 0);
  add("s3.cp", "CreateMultipartUpload", 200, 0, 300, {key}, 5000);
  for (int i = 0; i < 2; ++i) add("s3.cp", "UploadPart", 200, 8u << 20, 0, {key}, 30);
  add("s3.cp", "CompleteMultipartUpload", 200, 0, 320, {key}, 30);
  add("s3.ls", "ListObjectsV2", 200, 0, 1536, {"arn:aws:s3:::billing"}, 4000);
  add("", "GetObject", 200, 0, 16u << 20, {key}, 3000);
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back("arn:aws:s3:::billing/old/" + std::to_string(i));
  add("s3.rm", "DeleteObjects", 200, 0, 0, keys, 2000);
  Event denied = request(kT0 + (at_ms + 3000) * 1000000, "u-1", "rec-1", "192.0.2.1");
  denied.type = EventType::kRequestDenied;
  denied.cli_command.assign("s3.rb");
  denied.event_name.assign("DeleteBucket");
  denied.status = 403;
  denied.bytes_in = denied.bytes_out = 0;
  denied.error_code.assign("AccessDenied");
  denied.deny_reason.assign(
      "s3:DeleteBucket is denied on record 'prod' by the rule 'deny s3:DeleteBucket'");
  denied.resources.add("arn:aws:s3:::billing");
  agg.add(denied, seq++, &closed);
  std::vector<Session> sessions = agg.close_all();
  PAMPROXY_CHECK(sessions.size() == 1);
  // The batch listed five keys of its 1,000.
  Session s = std::move(sessions[0]);
  s.commands[7].resources_total = 1000;
  return s;
}

TEST(SessionText, ReadsLikeTheCommandsTyped) {
  const Session s = scripted_session();
  const std::string expected =
      "Session s-100\n"
      "  user:     alice (u-1, token tok1)\n"
      "  record:   prod-billing (rec-1)\n"
      "  from:     192.0.2.1\n"
      "  time:     2026-11-18T11:06:40.000000Z .. 2026-11-18T11:06:57.090000Z (17s)\n"
      "  requests: 9 (1 denied), bytes in 16777216, out 16779372\n"
      "\n"
      "  11:06:40  aws s3 mb -> s3://billing\n"
      "              CreateBucket  200\n"
      "  11:06:45  aws s3 cp -> s3://billing/2026/11/report.csv\n"
      "              CreateMultipartUpload    200      out 300 B\n"
      "              UploadPart               200  x2  in 16.0 MiB\n"
      "              CompleteMultipartUpload  200      out 320 B\n"
      "  11:06:49  aws s3 ls -> s3://billing\n"
      "              ListObjectsV2  200  out 1.5 KiB\n"
      "  11:06:52  s3:GetObject -> s3://billing/2026/11/report.csv\n"
      "              GetObject  200  out 16.0 MiB\n"
      "  11:06:54  aws s3 rm -> s3://billing/old/0, s3://billing/old/1, s3://billing/old/2 +997 "
      "more\n"
      "              DeleteObjects  200\n"
      "  11:06:57  aws s3 rb -> s3://billing\n"
      "              DeleteBucket  DENIED  s3:DeleteBucket is denied on record 'prod' by the rule "
      "'deny s3:DeleteBucket'\n";
  EXPECT_EQ(session_report_text(s, ReportNames{"alice", "prod-billing"}), expected);
  // Without current names: the ids, and the record's name as the session saw it.
  const std::string text = session_report_text(s);
  EXPECT_NE(text.find("  user:     u-1 (token tok1)\n  record:   prod keys (rec-1)\n"),
            std::string::npos)
      << text;
}

TEST(SessionText, ALineOnAnotherDayShowsItsDate) {
  Session s;
  s.id = "s-1";
  s.started_unix_ns = kT0;
  s.commands = {command("s3.ls", "ListBuckets", 0), command("s3.ls", "ListBuckets", 86400000)};
  const std::string text = session_report_text(s);
  EXPECT_NE(text.find("  11:06:40  aws s3 ls\n              ListBuckets  200\n  2026-11-19\n"
                      "  11:06:40  aws s3 ls\n"),
            std::string::npos)
      << text;
}

TEST(SessionJson, CarriesResourcesAndInvocationsAndReadsBack) {
  const Session s = scripted_session();
  const std::string json = session_report_json(s);
  EXPECT_NE(json.find(R"("resources":["arn:aws:s3:::billing"],"resourcesTotal":1})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("invocations":[{"eventTime":"2026-11-18T11:06:40.000000Z",)"
                      R"("cliCommand":"s3.mb","name":"aws s3 mb","firstCommand":0,)"
                      R"("commandCount":1,"resources":["arn:aws:s3:::billing"],)"
                      R"("resourcesTotal":1,"operations":[{"eventSource":"s3.amazonaws.com",)"
                      R"("eventName":"CreateBucket","outcome":"forwarded","status":200,)"
                      R"("count":1,"bytesIn":0,"bytesOut":0}]})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("name":"aws s3 cp","firstCommand":1,"commandCount":4,)"),
            std::string::npos);
  EXPECT_NE(json.find(R"("eventName":"UploadPart","outcome":"forwarded","status":200,"count":2,)"
                      R"("bytesIn":16777216,"bytesOut":0})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("resourcesTotal":1000})"), std::string::npos);

  // Stored and read back, the report is the same: the text is rendered from the JSON.
  SessionReport stored = stored_report(s);
  absl::StatusOr<Session> back = session_of_report(stored);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(session_report_json(*back), json);
  EXPECT_EQ(session_report_text(*back, ReportNames{"alice", ""}),
            session_report_text(s, ReportNames{"alice", ""}));
}

TEST(SessionJson, AnOlderReportWithoutResourcesReadsAndAnUnreadableOneFails) {
  SessionReport r;
  r.id = "s-3";
  r.user = "u-1";
  r.report_json =
      R"({"sessionId":"s-3","commandsNotListed":2,"commands":[{"eventTime":)"
      R"("2026-11-18T11:06:40.000000Z","seq":3,"cliCommand":"s3.ls","eventSource":)"
      R"("s3.amazonaws.com","eventName":"ListBuckets","outcome":"forwarded","status":200,)"
      R"("proxyRequestId":"r1","bytesIn":0,"bytesOut":10,"durationUs":5}]})";
  absl::StatusOr<Session> s = session_of_report(r);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->commands.size(), 1u);
  EXPECT_EQ(s->commands_dropped, 2u);
  EXPECT_EQ(s->commands[0].time_unix_ns, kT0);
  EXPECT_EQ(s->commands[0].bytes_out, 10u);
  EXPECT_TRUE(s->commands[0].resources.empty());
  EXPECT_NE(session_report_text(*s).find("  11:06:40  aws s3 ls\n              ListBuckets  200  "
                                         "out 10 B\n  ... and 2 more request(s) not listed\n"),
            std::string::npos)
      << session_report_text(*s);
  r.report_json = "{\"sessionId\":\"s-3\"}";
  EXPECT_FALSE(session_of_report(r).ok());
  r.report_json = "not json";
  EXPECT_FALSE(session_of_report(r).ok());
  r.report_json = R"({"commands":[{"seq":1}]})";
  EXPECT_FALSE(session_of_report(r).ok());
}

TEST(SessionText, NoValueCanForgeALine) {
  Session s;
  s.id = "s-1";
  s.user = "u-1";
  s.started_unix_ns = kT0;
  s.record_name = "prod\x1b[2J";
  s.commands = {
      command("s3.cp", "PutObject", 0, 0, {"arn:aws:s3:::b/a\n  11:06:41  aws s3 ls\xc2\x9b"})};
  const std::string text = session_report_text(s);
  EXPECT_NE(text.find("  record:   prod\\x1B[2J ("), std::string::npos) << text;
  EXPECT_NE(text.find("  11:06:40  aws s3 cp -> s3://b/a\\x0A  11:06:41  aws s3 ls\\u009B\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace pamproxy::audit
