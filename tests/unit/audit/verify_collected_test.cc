// verify_collected: the collector's copy of one node's lines checks like the local log.

#include <gtest/gtest.h>

#include "pamproxy/audit/verifier.h"
#include "writer_test_util.h"

namespace pamproxy::audit {
namespace {

using testing::join_lines;
using testing::read_file;
using testing::split_lines;
using testing::write_file;

class VerifyCollectedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string log_dir = root_.sub("log");
    const std::string key_path = root_.sub("audit.key");
    WriterOptions o = testing::small_options(log_dir);
    o.rotate_bytes = 6000;  // a few files: their ends are not visible in the stream
    testing::write_events(o, key_path, 30);
    auto key = SigningKey::load(key_path);
    ASSERT_TRUE(key.ok());
    pub_ = std::make_unique<PublicKey>(*PublicKey::from_pem(key->public_key().pem()));
    for (const std::string& f : testing::log_files(log_dir)) {
      for (std::string& l : split_lines(read_file(log_dir + "/" + f))) log_.push_back(l);
    }
    ASSERT_GT(log_.size(), 30u);
    path_ = root_.sub("collected.log");
  }

  static std::string wrap(const std::string& host, const std::string& line) {
    return "<110>1 2026-12-07T11:26:14.123456+00:00 " + host + " pamproxy - - - " + line;
  }
  // The node's lines, with another node's and the collector's own lines in between.
  std::vector<std::string> collected() const {
    std::vector<std::string> out = {"2026-12-07T11:26:13+00:00 collector rsyslogd: start"};
    for (size_t i = 0; i < log_.size(); ++i) {
      out.push_back(wrap("node-a", log_[i]));
      if (i % 7 == 0) out.push_back(wrap("node-b", log_[i]));
    }
    return out;
  }
  VerifyResult verify(const std::vector<std::string>& lines, const std::string& node = "node-a") {
    write_file(path_, join_lines(lines));
    VerifyOptions o;
    o.key = pub_.get();
    return verify_collected(path_, node, "pamproxy", o, &summary_);
  }

  testing::TempDir root_;
  std::unique_ptr<PublicKey> pub_;
  std::vector<std::string> log_;
  std::string path_;
  CollectedSummary summary_;
};

TEST_F(VerifyCollectedTest, TheNodesLinesVerify) {
  VerifyResult r = verify(collected());
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, log_.size());
  EXPECT_EQ(r.summary.first_seq, 1u);
  EXPECT_GE(r.summary.checkpoints, 3u);
  EXPECT_EQ(r.summary.unsealed_lines, 0u);
  EXPECT_EQ(summary_.duplicates, 0u);
  EXPECT_GT(summary_.other_lines, 1u);
}

TEST_F(VerifyCollectedTest, ResentLinesAreSkipped) {
  std::vector<std::string> lines = collected();
  // A connection dropped after line 20: lines 10.. were sent again on the next one.
  std::vector<std::string> again;
  for (size_t i = 9; i < 20; ++i) again.push_back(wrap("node-a", log_[i]));
  lines.insert(lines.begin() + 24, again.begin(), again.end());
  VerifyResult r = verify(lines);
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, log_.size());
  EXPECT_GE(summary_.duplicates, 10u);
}

TEST_F(VerifyCollectedTest, AnEditedLineIsNamedByItsLineInTheFile) {
  std::vector<std::string> lines = collected();
  lines[5][lines[5].size() - 3] ^= 1;  // inside the audit line
  VerifyResult r = verify(lines);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->file, path_);
  EXPECT_EQ(r.problem->line, 6u) << r.problem->to_string();
}

TEST_F(VerifyCollectedTest, AnEditedResendIsNotSkipped) {
  std::vector<std::string> lines = collected();
  std::string again = wrap("node-a", log_[3]);
  again[again.size() - 3] ^= 1;
  lines.insert(lines.begin() + 10, again);
  VerifyResult r = verify(lines);
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("duplicated or out of order"), std::string::npos);
}

TEST_F(VerifyCollectedTest, AMissingLineIsDetected) {
  std::vector<std::string> lines = collected();
  lines.erase(lines.begin() + 12);
  EXPECT_TRUE(verify(lines).problem);
}

TEST_F(VerifyCollectedTest, AnotherNodeHasNoLinesHere) {
  VerifyResult r = verify(collected(), "node-c");
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("no audit lines"), std::string::npos);
}

TEST_F(VerifyCollectedTest, AForeignLineUnderTheNodesNameIsAProblem) {
  std::vector<std::string> lines = collected();
  lines.insert(lines.begin() + 3, wrap("node-a", "not an audit line"));
  VerifyResult r = verify(lines);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->line, 4u) << r.problem->to_string();
}

TEST(VerifyCollected, AMissingFileIsAProblem) {
  CollectedSummary s;
  VerifyResult r = verify_collected("/nonexistent/collected.log", "n", "pamproxy", {}, &s);
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace pamproxy::audit
