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

}  // namespace
}  // namespace pamproxy::audit
