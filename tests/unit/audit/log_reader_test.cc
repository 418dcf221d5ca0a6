// Reading the log back: every field of every event round-trips through a real writer's files,
// across rotations, incrementally (a second poll sees only new lines), resumable from a sequence
// number, with torn tails left unread and malformed lines named; and the search filter.

#include "pamproxy/audit/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "pamproxy/audit/log_files.h"
#include "pamproxy/audit/search.h"
#include "writer_test_util.h"

namespace pamproxy::audit {
namespace {

using testing::read_file;
using testing::sample_event;
using testing::small_options;
using testing::write_events;

struct Seen {
  uint64_t seq;
  Event event;
};

std::vector<Seen> read_all(LogReader& r) {
  std::vector<Seen> out;
  auto n = r.poll([&](uint64_t seq, const Event& e) {
    out.push_back({seq, e});
    return true;
  });
  EXPECT_TRUE(n.ok()) << n.status();
  return out;
}

std::vector<Seen> requests_only(const std::vector<Seen>& all) {
  std::vector<Seen> out;
  for (const Seen& s : all) {
    if (s.event.type == EventType::kRequestForwarded) out.push_back(s);
  }
  return out;
}

void expect_same(const Event& a, const Event& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.time_unix_ns / 1000, b.time_unix_ns / 1000);  // microseconds in the log
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.source_port, b.source_port);
  EXPECT_EQ(a.bytes_in, b.bytes_in);
  EXPECT_EQ(a.bytes_out, b.bytes_out);
  EXPECT_EQ(a.duration_us, b.duration_us);
  EXPECT_EQ(a.read_only, b.read_only);
  EXPECT_EQ(a.source_ip.view(), b.source_ip.view());
  EXPECT_EQ(a.event_source.view(), b.event_source.view());
  EXPECT_EQ(a.event_name.view(), b.event_name.view());
  EXPECT_EQ(a.aws_region.view(), b.aws_region.view());
  EXPECT_EQ(a.user_agent.view(), b.user_agent.view());
  EXPECT_EQ(a.cli_command.view(), b.cli_command.view());
  EXPECT_EQ(a.aws_request_id.view(), b.aws_request_id.view());
  EXPECT_EQ(a.request_id.view(), b.request_id.view());
  EXPECT_EQ(a.user.view(), b.user.view());
  EXPECT_EQ(a.token_id.view(), b.token_id.view());
  EXPECT_EQ(a.record_id.view(), b.record_id.view());
  EXPECT_EQ(a.record_name.view(), b.record_name.view());
  EXPECT_EQ(a.target_host.view(), b.target_host.view());
  EXPECT_EQ(a.deny_reason.view(), b.deny_reason.view());
  EXPECT_EQ(a.detail.view(), b.detail.view());
}

class LogReaderTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_;
  std::string root_ = tmp_.path();
  std::string dir_ = tmp_.sub("audit");
  std::string key_ = tmp_.sub("key");
};

TEST_F(LogReaderTest, EveryFieldRoundTripsAcrossRotatedFiles) {
  WriterOptions o = small_options(dir_);
  o.rotate_bytes = 2048;  // several files
  write_events(o, key_, 40);
  auto files = list_log_files(dir_);
  ASSERT_TRUE(files.ok());
  ASSERT_GT(files->size(), 3u);

  LogReader r(dir_);
  std::vector<Seen> all = read_all(r);
  std::vector<Seen> req = requests_only(all);
  ASSERT_EQ(req.size(), 40u);
  for (uint64_t i = 0; i < 40; ++i) expect_same(req[i].event, sample_event(i));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].seq, all[i - 1].seq + 1);
  EXPECT_EQ(r.next_seq(), all.back().seq + 1);
}

TEST_F(LogReaderTest, SecondPollSeesOnlyNewLinesAndResumeSkipsOldOnes) {
  WriterOptions o = small_options(dir_);
  write_events(o, key_, 5, 0);
  LogReader r(dir_);
  std::vector<Seen> first = read_all(r);
  ASSERT_EQ(requests_only(first).size(), 5u);
  EXPECT_TRUE(read_all(r).empty());  // nothing new

  write_events(o, key_, 3, 100);  // a restart of the writer appends (recovery + events)
  std::vector<Seen> second = requests_only(read_all(r));
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].event.request_id.view(), "req-100");

  LogReader resumed(dir_);
  resumed.resume_at(second[1].seq);
  std::vector<Seen> tail = read_all(resumed);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front().seq, second[1].seq);
}

// The shipper reads only durable lines and sends each line's bytes as they are in the file.
TEST_F(LogReaderTest, SeqLimitLeavesLaterLinesForLaterAndLinesAreTheFilesBytes) {
  WriterOptions o = small_options(dir_);
  o.rotate_bytes = 2048;  // the limit falls in some file, later files follow
  write_events(o, key_, 20);
  std::string bytes;
  for (const std::string& f : testing::log_files(dir_)) bytes += read_file(dir_ + "/" + f);

  LogReader r(dir_);
  r.set_seq_limit(7);
  std::string seen;
  uint64_t last = 0;
  auto fn = [&](uint64_t seq, const Event&) {
    EXPECT_EQ(seq, last + 1);
    last = seq;
    seen.append(r.line()).push_back('\n');
    return true;
  };
  ASSERT_TRUE(r.poll(fn).ok());
  EXPECT_EQ(last, 7u);
  EXPECT_EQ(r.next_seq(), 8u);
  ASSERT_TRUE(r.poll(fn).ok());
  EXPECT_EQ(last, 7u) << "still limited";
  r.set_seq_limit(UINT64_MAX);
  ASSERT_TRUE(r.poll(fn).ok());
  EXPECT_GT(last, 20u);
  EXPECT_EQ(seen, bytes);
}

TEST_F(LogReaderTest, TornTailIsLeftUnreadUntilCompleted) {
  write_events(small_options(dir_), key_, 2);
  auto files = list_log_files(dir_);
  ASSERT_TRUE(files.ok());
  const std::string path = dir_ + "/" + files->back();
  LogReader r(dir_);
  size_t before = read_all(r).size();
  ASSERT_GT(before, 0u);
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"seq\":";  // a line being written
  }
  EXPECT_TRUE(read_all(r).empty());
  {
    std::ofstream out(path, std::ios::app);
    out << "99999,\"prev\":\"nothex\"}\n";  // completed, but not a valid line
  }
  auto n = r.poll([](uint64_t, const Event&) { return true; });
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("does not parse"), std::string::npos) << n.status();
  EXPECT_NE(n.status().message().find(files->back()), std::string::npos) << n.status();
}

TEST_F(LogReaderTest, FirstNulEndsTheLogUntilTheBytesBeforeLaterLinesAreWritten) {
  write_events(small_options(dir_), key_, 3);
  auto files = list_log_files(dir_);
  ASSERT_TRUE(files.ok());
  const std::string path = dir_ + "/" + files->back();
  const std::string bytes = read_file(path);
  ASSERT_FALSE(bytes.empty());
  const size_t last = bytes.rfind('\n', bytes.size() - 2) + 1;  // start of the last line
  const size_t before_last = bytes.rfind('\n', last - 2) + 1;   // start of the line before it
  ASSERT_GT(before_last, 0u);
  LogReader all(dir_);
  const size_t total = read_all(all).size();
  // As a reader can see the file: the next-to-last line's page not filled yet, the last line
  // already there, then zeros ahead of the writer.
  std::string racing = bytes;
  std::fill(racing.begin() + static_cast<ptrdiff_t>(before_last),
            racing.begin() + static_cast<ptrdiff_t>(last), '\0');
  racing.append(8192, '\0');
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << racing;
  }
  LogReader r(dir_);
  auto early = read_all(r);
  EXPECT_EQ(early.size(), total - 2);  // only the lines before the NUL
  EXPECT_TRUE(read_all(r).empty());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes << std::string(8192, '\0');
  }
  auto later = read_all(r);
  ASSERT_EQ(later.size(), 2u);  // the filled line and the one after it, not the zeros
  EXPECT_EQ(later[1].seq, later[0].seq + 1);
  EXPECT_EQ(r.next_seq(), all.next_seq());
}

TEST_F(LogReaderTest, MissingDirectoryIsAnError) {
  LogReader r(root_ + "/nope");
  EXPECT_FALSE(r.poll([](uint64_t, const Event&) { return true; }).ok());
}

TEST(EventFilter, MatchesResourcesAsIamPatterns) {
  Event e = sample_event(7);
  EventFilter f;
  f.resource = "arn:aws:s3:::billing/*";
  EXPECT_FALSE(f.matches(e));  // names no resource
  e.resources.add("arn:aws:s3:::src/a");
  e.resources.add("arn:aws:s3:::billing/2026/11/report.csv");
  EXPECT_TRUE(f.matches(e));
  f.resource = "arn:aws:s3:::billing/2025/*";
  EXPECT_FALSE(f.matches(e));
  f.resource = "arn:aws:s3:::Billing/*";  // case counts, as in IAM
  EXPECT_FALSE(f.matches(e));
}

TEST(EventFilter, MatchesEachCriterion) {
  Event e = sample_event(7);
  EventFilter f;
  EXPECT_TRUE(f.matches(e));
  f.user = "alice";
  EXPECT_TRUE(f.matches(e));
  f.user = "bob";
  EXPECT_FALSE(f.matches(e));
  f = {};
  f.record = "prod keys";
  EXPECT_TRUE(f.matches(e));
  f.record = "rec-1";
  EXPECT_TRUE(f.matches(e));
  f.record = "rec-2";
  EXPECT_FALSE(f.matches(e));
  f = {};
  f.operation = "GetObject";
  EXPECT_TRUE(f.matches(e));
  f.operation = "s3:GetObject";
  EXPECT_TRUE(f.matches(e));
  f.operation = "ec2:GetObject";
  EXPECT_FALSE(f.matches(e));
  f.operation = "getobject";
  EXPECT_FALSE(f.matches(e));
  f = {};
  f.event_type = "request.forwarded";
  EXPECT_TRUE(f.matches(e));
  f.event_type = "request.denied";
  EXPECT_FALSE(f.matches(e));
  f = {};
  f.since_unix_ns = e.time_unix_ns;
  EXPECT_TRUE(f.matches(e));
  f.since_unix_ns = e.time_unix_ns + 1;
  EXPECT_FALSE(f.matches(e));
  f = {};
  f.until_unix_ns = e.time_unix_ns;  // exclusive
  EXPECT_FALSE(f.matches(e));
  f.until_unix_ns = e.time_unix_ns + 1;
  EXPECT_TRUE(f.matches(e));
}

TEST(EventJson, NamesFieldsAsTheLogDoes) {
  JsonWriter w;
  write_event_json(w, 12, sample_event(3));
  const std::string& s = w.str();
  EXPECT_NE(s.find("\"seq\":12"), std::string::npos) << s;
  EXPECT_NE(s.find("\"eventName\":\"GetObject\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"cliCommand\":\"s3.cp\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"readOnly\":true"), std::string::npos) << s;
  EXPECT_EQ(s.find("denyReason"), std::string::npos) << s;  // empty fields are left out
}

}  // namespace
}  // namespace pamproxy::audit
