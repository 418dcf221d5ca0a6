#include "pamproxy/audit/line.h"

#include <gtest/gtest.h>

#include "audit_test_util.h"
#include "pamproxy/audit/line_parser.h"

namespace pamproxy::audit {
namespace {

TEST(Line, SerializesCloudTrailNamesAndOurs) {
  Event e = testing::sample_event(7);
  std::string out;
  append_line(out, LineHead{42, kGenesisHash, "pam-1"}, e);
  EXPECT_EQ(out.rfind("{\"seq\":42,\"prev\":\"" + std::string(kGenesisHash) +
                          "\",\"eventTime\":\"2026-11-18T",
                      0),
            0u)
      << out;
  for (const char* field :
       {"\"eventType\":\"request.forwarded\"", "\"node\":\"pam-1\"",
        "\"eventSource\":\"s3.amazonaws.com\"", "\"eventName\":\"GetObject\"",
        "\"awsRegion\":\"us-east-1\"", "\"sourceIPAddress\":\"192.0.2.10\"", "\"readOnly\":true",
        "\"cliCommand\":\"s3.cp\"", "\"requestID\":\"AWSREQ7\"", "\"proxyRequestId\":\"req-7\"",
        "\"user\":\"alice\"", "\"recordName\":\"prod keys\"", "\"status\":200", "\"bytesIn\":7",
        "\"bytesOut\":14", "\"durationUs\":1500"}) {
    EXPECT_NE(out.find(field), std::string::npos) << field << " in " << out;
  }
  EXPECT_EQ(out.find("truncated"), std::string::npos);
  EXPECT_EQ(out.back(), '}');
}

TEST(Line, EscapesAndMarksTruncatedFields) {
  Event e;
  e.type = EventType::kRequestDenied;
  e.user_agent.assign(std::string(300, 'u'));
  e.deny_reason.assign("quote \" backslash \\ newline \n bad \xff");
  std::string out;
  append_line(out, LineHead{1, kGenesisHash, "n"}, e);
  EXPECT_NE(out.find("\"truncated\":[\"userAgent\"]"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(quote \" backslash \\ newline \n bad )"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos);
  LineParser parser;
  ParsedLine parsed;
  std::string why;
  ASSERT_TRUE(parser.parse(out, &parsed, &why)) << why;
  EXPECT_EQ(parsed.type, EventType::kRequestDenied);
}

TEST(Line, WorstCaseEventFitsTheLineLimit) {
  Event e;
  auto fill = [](auto& s) { s.assign(std::string(s.capacity(), '\x01')); };  // 6 bytes escaped
  fill(e.source_ip), fill(e.event_source), fill(e.event_name), fill(e.aws_region);
  fill(e.user_agent), fill(e.cli_command), fill(e.error_code), fill(e.aws_request_id);
  fill(e.request_id), fill(e.session_id), fill(e.user), fill(e.token_id), fill(e.record_id);
  fill(e.record_name), fill(e.target_host), fill(e.deny_reason), fill(e.detail);
  fill(e.aws_account);
  const std::string arn(ResourceNames::kBytes - 2, '\x01');
  e.resources.add(arn);
  e.resources.add(arn);  // counted, not listed
  ASSERT_EQ(e.resources.listed(), 1u);
  std::string out;
  append_line(out, LineHead{UINT64_MAX, kGenesisHash, std::string(64, 'n')}, e,
              ",\"checkpoint\":{\"reason\":\"rotate\",\"key\":\"0123456789abcdef\",\"sig\":\"" +
                  std::string(128, 'a') + "\"}");
  EXPECT_LT(out.size(), kLineBytesMax);
}

TEST(Line, ResourcesRoundTripAndSayHowManyWereLeftOut) {
  Event e = testing::sample_event(3);
  e.aws_account.assign("123456789012");
  e.resources.add("arn:aws:s3:::b");
  e.resources.add("arn:aws:s3:::b/a \"quoted\" key");
  std::string out;
  append_line(out, LineHead{1, kGenesisHash, "n"}, e);
  EXPECT_NE(out.find(R"("awsAccount":"123456789012","resources":["arn:aws:s3:::b",)"
                     R"("arn:aws:s3:::b/a \"quoted\" key"])"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("resourcesTotal"), std::string::npos);
  LineParser parser;
  ParsedLine parsed;
  Event back;
  std::string why;
  ASSERT_TRUE(parser.parse(out, &parsed, &back, &why)) << why;
  std::string again;
  append_line(again, LineHead{1, kGenesisHash, "n"}, back);
  EXPECT_EQ(again, out);

  // 1,000 keys: the first ones that fit whole, then the count.
  Event batch = testing::sample_event(4);
  for (int i = 0; i < 1000; ++i) batch.resources.add("arn:aws:s3:::b/key-" + std::to_string(i));
  EXPECT_EQ(batch.resources.total(), 1000u);
  EXPECT_LT(batch.resources.listed(), 1000u);
  EXPECT_GT(batch.resources.listed(), 10u);
  out.clear();
  append_line(out, LineHead{2, kGenesisHash, "n"}, batch);
  EXPECT_NE(out.find("\"resourcesTotal\":1000"), std::string::npos) << out;
  EXPECT_NE(out.find("\"truncated\":[\"resources\"]"), std::string::npos) << out;
  ASSERT_TRUE(parser.parse(out, &parsed, &back, &why)) << why;
  EXPECT_EQ(back.resources.total(), 1000u);
  EXPECT_EQ(back.resources.listed(), batch.resources.listed());
  again.clear();
  append_line(again, LineHead{2, kGenesisHash, "n"}, back);
  EXPECT_EQ(again, out);

  std::string bad = out;
  bad.replace(bad.find("\"resources\":["), 13, "\"resources\":[1,");
  EXPECT_FALSE(parser.parse(bad, &parsed, &back, &why));
  EXPECT_EQ(why, "\"resources\" holds something other than strings");
}

TEST(Line, EventTimeIsRfc3339Micros) {
  char buf[32];
  size_t n = format_event_time(1795000000123456789ll, buf);
  EXPECT_EQ(std::string(buf, n), "2026-11-18T11:06:40.123456Z");
}

TEST(Line, Sha256HexOfKnownInput) {
  char hex[kHashHexBytes];
  sha256_hex("abc", hex);
  EXPECT_EQ(std::string(hex, kHashHexBytes),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(LineParser, RejectsMalformedLines) {
  LineParser parser;
  ParsedLine p;
  std::string why;
  EXPECT_FALSE(parser.parse("", &p, &why));
  EXPECT_FALSE(parser.parse("[1,2]", &p, &why));
  EXPECT_EQ(why, "not a JSON object");
  EXPECT_FALSE(parser.parse(R"({"seq":0,"prev":"x"})", &p, &why));
  EXPECT_FALSE(parser.parse(R"({"seq":1,"prev":"ABC"})", &p, &why));
  EXPECT_EQ(why, "\"prev\" is not 64 lowercase hex characters");
  std::string good_prefix = R"({"seq":1,"prev":")" + std::string(kGenesisHash) +
                            R"(","eventTime":"t","node":"n","eventType":)";
  EXPECT_FALSE(parser.parse(good_prefix + R"("nope"})", &p, &why));
  EXPECT_NE(why.find("unknown eventType"), std::string::npos);
  EXPECT_FALSE(parser.parse(good_prefix + R"("audit.checkpoint"})", &p, &why));
  EXPECT_TRUE(parser.parse(good_prefix + R"("tunnel.opened"})", &p, &why)) << why;
  EXPECT_FALSE(parser.parse(std::string(kLineBytesMax + 1, ' '), &p, &why));
}

// Times are read back exactly, in the writer's shape and in any other the format allows
// (days past the 28th, before 1970, another number of fraction digits).
TEST(LineParser, ReadsEventTimesBackExactly) {
  LineParser parser;
  ParsedLine p;
  Event e;
  std::string why;
  auto time_of = [&](std::string_view t) -> int64_t {
    std::string line = R"({"seq":1,"prev":")" + std::string(kGenesisHash) + R"(","eventTime":")" +
                       std::string(t) + R"(","eventType":"tunnel.opened","node":"n"})";
    EXPECT_TRUE(parser.parse(line, &p, &e, &why)) << t << ": " << why;
    return e.time_unix_ns;
  };
  for (int64_t ns : {1795000000123456000ll, 0ll, 951782400000001000ll, 1704067199999999000ll,
                     4102444800000000000ll, -1000ll, 7258118400000000000ll}) {
    char buf[32];
    std::string_view t(buf, format_event_time(ns, buf));
    EXPECT_EQ(time_of(t), ns) << t;
  }
  EXPECT_EQ(time_of("2026-11-18T11:06:40.5Z"), 1795000000500000000ll);
  std::string line = R"({"seq":1,"prev":")" + std::string(kGenesisHash) +
                     R"(","eventTime":"2026-11-18T11:06:40.12345xZ","eventType":"tunnel.opened",)"
                     R"("node":"n"})";
  EXPECT_FALSE(parser.parse(line, &p, &e, &why));
}

// A member given twice is read from its first occurrence, for every member.
TEST(LineParser, ARepeatedMemberIsReadFromItsFirstOccurrence) {
  LineParser parser;
  ParsedLine p;
  Event e;
  std::string why;
  std::string line =
      R"({"seq":1,"prev":")" + std::string(kGenesisHash) +
      R"(","eventTime":"2026-11-18T11:06:40.123456Z","eventType":"request.completed",)"
      R"("node":"n","user":"alice","status":200,"user":"mallory","status":"x",)"
      R"("bytesIn":1,"bytesOut":2,"durationUs":3,"readOnly":true,"readOnly":1})";
  ASSERT_TRUE(parser.parse(line, &p, &e, &why)) << why;
  EXPECT_EQ(e.user.view(), "alice");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.read_only, ReadOnly::kTrue);
  EXPECT_EQ(e.bytes_out, 2u);
  std::string bad = line;
  bad.replace(bad.find(R"("status":200)"), 12, R"("status":"a")");
  EXPECT_FALSE(parser.parse(bad, &p, &e, &why));
  EXPECT_EQ(why, "\"status\" is not a non-negative integer");
}

}  // namespace
}  // namespace pamproxy::audit
