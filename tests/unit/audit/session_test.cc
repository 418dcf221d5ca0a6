#include "pamproxy/audit/session.h"

#include <gtest/gtest.h>

#include "audit_test_util.h"

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
  EXPECT_NE(text.find("s3.rm"), std::string::npos);
  EXPECT_NE(text.find("s3.amazonaws.com DeleteObject"), std::string::npos);
  EXPECT_NE(text.find("denied: outside the record's time window"), std::string::npos);
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

}  // namespace
}  // namespace pamproxy::audit
