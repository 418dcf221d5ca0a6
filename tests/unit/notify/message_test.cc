#include "pamproxy/notify/message.h"

#include <gtest/gtest.h>

namespace pamproxy::notify {
namespace {

constexpr char kCreated[] =
    R"({"event":"request.created","request_id":"req-abc","record_id":"rec-1",)"
    R"("record_name":"billing-prod","requester_id":"u-a","requester_name":"alice",)"
    R"("reason":"INC-1 \"export\"\nline two","start_at":"2026-11-23T09:00:00Z",)"
    R"("end_at":"2026-11-23T10:00:00Z","state":"pending"})";
constexpr char kDecided[] =
    R"({"event":"request.decided","request_id":"req-abc","record_id":"rec-1",)"
    R"("record_name":"billing-prod","requester_id":"u-a","requester_name":"alice",)"
    R"("reason":"r","start_at":"2026-11-23T09:00:00Z","end_at":"2026-11-23T10:00:00Z",)"
    R"("state":"approved","decided_by_id":"u-b","decided_by_name":"bob",)"
    R"("decision_note":"ok for today"})";

TEST(Facts, ParseAndRefuseWhatLacksAField) {
  auto f = parse_facts(kDecided);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->decided_by_name, "bob");
  EXPECT_EQ(f->decision_note, "ok for today");
  EXPECT_TRUE(absl::IsDataLoss(parse_facts("{").status()));
  EXPECT_TRUE(absl::IsDataLoss(parse_facts(R"({"event":"request.created"})").status()));
}

TEST(Message, LinkSubjectAndText) {
  EXPECT_EQ(request_link("https://pam.example.test:8443/", "req-abc"),
            "https://pam.example.test:8443/requests/req-abc");
  EXPECT_EQ(request_link("", "req-abc"), "");
  Facts created = *parse_facts(kCreated);
  Facts decided = *parse_facts(kDecided);
  EXPECT_EQ(subject_of(created),
            "Access request req-abc by alice for billing-prod awaits approval");
  EXPECT_EQ(subject_of(decided), "Access request req-abc for billing-prod was approved by bob");
  std::string text = text_of(decided, "https://x.test/requests/req-abc");
  EXPECT_NE(text.find("Until:     2026-11-23T10:00:00Z"), std::string::npos);
  EXPECT_NE(text.find("Note:      ok for today"), std::string::npos);
  EXPECT_TRUE(text.ends_with("https://x.test/requests/req-abc\n"));
}

TEST(Message, WebhookBodies) {
  Facts f = *parse_facts(kDecided);
  std::string json =
      webhook_body(f, "https://x.test/requests/req-abc", config::WebhookFormat::kJson);
  EXPECT_TRUE(json.starts_with(R"({"event":"request.decided","request":{"id":"req-abc",)")) << json;
  EXPECT_NE(json.find(R"("link":"https://x.test/requests/req-abc")"), std::string::npos);
  EXPECT_NE(json.find(R"("decided_by_name":"bob")"), std::string::npos);
  std::string slack = webhook_body(f, "", config::WebhookFormat::kSlack);
  EXPECT_TRUE(slack.starts_with(R"({"text":"Access request req-abc for billing-prod was )"))
      << slack;
}

// A receiver recomputes HMAC-SHA256(key, "<timestamp>.<body>"); this is the value Python's
// hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest() gives.
TEST(Message, SignatureIsHmacOfTimestampAndBody) {
  EXPECT_EQ(webhook_signature("key", 1700000000, "{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
}

TEST(Message, MailHeadersCannotBeInjectedAndLinesStayShort) {
  Facts f = *parse_facts(kCreated);
  f.record_name = "bill\xc3\xa9";  // non-ASCII: encoded, not raw, in the subject
  f.reason = std::string(2000, 'x');
  std::string m =
      mail_message(f, "https://x.test/requests/req-abc", "pam@example.test", "carol@example.test",
                   absl::FromUnixSeconds(1795424400), "ntf-1.1@example.test");
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(m.find("Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\nAccess request req-abc"), std::string::npos);
  size_t start = 0;
  while (start < m.size()) {
    size_t end = m.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "every line ends with CRLF";
    EXPECT_LT(end - start, 1000u);
    EXPECT_EQ(m.substr(start, end - start).find('\n'), std::string::npos);
    start = end + 2;
  }
  // The reason's own line break became CRLF, not a bare LF.
  f = *parse_facts(kCreated);
  m = mail_message(f, "", "pam@example.test", "carol@example.test", absl::UnixEpoch(), "x@y");
  EXPECT_NE(m.find("\"export\"\r\nline two"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::notify
