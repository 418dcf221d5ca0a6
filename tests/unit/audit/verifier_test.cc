#include "pamproxy/audit/verifier.h"

#include <gtest/gtest.h>

#include "writer_test_util.h"

namespace pamproxy::audit {
namespace {

using testing::join_lines;
using testing::read_file;
using testing::split_lines;
using testing::write_file;

// A log of at least three files, 40 events (plus checkpoints) and the public key that signed it.
class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_dir_ = root_.sub("log");
    key_path_ = root_.sub("audit.key");
    WriterOptions o = testing::small_options(log_dir_);
    o.rotate_bytes = 6000;  // a few files
    testing::write_events(o, key_path_, 40);
    auto key = SigningKey::load(key_path_);
    ASSERT_TRUE(key.ok());
    pub_ = std::make_unique<PublicKey>(*PublicKey::from_pem(key->public_key().pem()));
    files_ = testing::log_files(log_dir_);
    ASSERT_GE(files_.size(), 3u) << ::testing::PrintToString(files_);
  }

  VerifyResult verify(bool require_sealed = false) {
    VerifyOptions o;
    o.key = pub_.get();
    o.require_sealed = require_sealed;
    return verify_directory(log_dir_, o);
  }
  std::string path(size_t i) { return log_dir_ + "/" + files_[i]; }
  std::vector<std::string> lines(size_t i) { return split_lines(read_file(path(i))); }
  void put(size_t i, const std::vector<std::string>& l) { write_file(path(i), join_lines(l)); }
  void expect_problem(const std::string& file, uint64_t line, const std::string& reason_part) {
    VerifyResult r = verify();
    ASSERT_TRUE(r.problem.has_value()) << "tampering not detected";
    EXPECT_EQ(r.problem->file, file) << r.problem->to_string();
    EXPECT_EQ(r.problem->line, line) << r.problem->to_string();
    EXPECT_NE(r.problem->reason.find(reason_part), std::string::npos) << r.problem->to_string();
  }

  testing::TempDir root_;
  std::string log_dir_;
  std::string key_path_;
  std::unique_ptr<PublicKey> pub_;
  std::vector<std::string> files_;
};

TEST_F(VerifierTest, UntouchedLogIsValid) {
  VerifyResult r = verify(true);
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.files, files_.size());
  EXPECT_EQ(r.summary.first_seq, 1u);
  // 40 events + one sealing checkpoint per closed file + the shutdown checkpoint.
  EXPECT_EQ(r.summary.lines, 40 + files_.size());
  EXPECT_EQ(r.summary.checkpoints, files_.size());
  EXPECT_EQ(r.summary.unsealed_lines, 0u);
  EXPECT_EQ(r.summary.last_checkpoint_seq, r.summary.last_seq);
}

// A deadline already passed stops after the first read: no problem named, the lines so far
// counted, `stopped` set; a distant one changes nothing.
TEST_F(VerifierTest, ADeadlineStopsTheRunAndSaysHowFarItGot) {
  VerifyOptions o;
  o.key = pub_.get();
  o.deadline = std::chrono::steady_clock::now();
  VerifyResult r = verify_directory(log_dir_, o);
  EXPECT_TRUE(r.stopped);
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.files, 1u);
  EXPECT_GT(r.summary.lines, 0u);
  EXPECT_LT(r.summary.lines, 40u);

  o.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  r = verify_directory(log_dir_, o);
  EXPECT_FALSE(r.stopped);
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 40 + files_.size());
}

TEST_F(VerifierTest, AnEditedLineIsNamed) {
  auto l = lines(1);
  size_t pos = l[3].find("\"user\":\"alice\"");
  ASSERT_NE(pos, std::string::npos);
  l[3].replace(pos, 14, "\"user\":\"mallo\"");
  put(1, l);
  expect_problem(files_[1], 4, "was edited");
}

TEST_F(VerifierTest, ADeletedLineIsDetected) {
  auto l = lines(0);
  l.erase(l.begin() + 5);
  put(0, l);
  expect_problem(files_[0], 6, "seq jumps from 5 to 7");
}

TEST_F(VerifierTest, ReorderedLinesAreDetected) {
  auto l = lines(1);
  std::swap(l[2], l[3]);
  put(1, l);
  VerifyResult r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->file, files_[1]);
  EXPECT_EQ(r.problem->line, 3u) << r.problem->to_string();
}

TEST_F(VerifierTest, ADuplicatedLineIsDetected) {
  auto l = lines(0);
  l.insert(l.begin() + 4, l[3]);
  put(0, l);
  expect_problem(files_[0], 5, "duplicated or out of order");
}

TEST_F(VerifierTest, ATornLastLineIsDetected) {
  std::string text = read_file(path(files_.size() - 1));
  write_file(path(files_.size() - 1), text.substr(0, text.size() - 20));
  VerifyResult r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("no newline"), std::string::npos) << r.problem->to_string();
}

TEST_F(VerifierTest, ZerosAfterTheEndOfTheLiveFileAreNotDamage) {
  const size_t last = files_.size() - 1;
  const std::string text = read_file(path(last));
  write_file(path(last), text + std::string((1 << 20) + 7, '\0'));  // past one read buffer
  VerifyResult r = verify();
  EXPECT_FALSE(r.problem) << r.problem->to_string();
  // A torn line before the zeros is still a torn line.
  write_file(path(last), text.substr(0, text.size() - 20) + std::string(4096, '\0'));
  r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("no newline"), std::string::npos) << r.problem->to_string();
}

TEST_F(VerifierTest, ZerosInAClosedFileAreDamage) {
  write_file(path(0), read_file(path(0)) + std::string(4096, '\0'));
  VerifyResult r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->file, files_[0]) << r.problem->to_string();
}

TEST_F(VerifierTest, LinesCutFromTheEndOfAClosedFileAreDetected) {
  auto l = lines(0);
  l.pop_back();  // the sealing checkpoint
  l.pop_back();
  put(0, l);
  // The next file's first line now jumps; the earlier check is the seal of file 0.
  VerifyResult r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->file, files_[0]) << r.problem->to_string();
  EXPECT_NE(r.problem->reason.find("sealing checkpoint"), std::string::npos);
}

TEST_F(VerifierTest, LinesCutAfterTheLastCheckpointAreVisible) {
  size_t last = files_.size() - 1;
  auto l = lines(last);
  if (l.size() == 1) {  // only the shutdown checkpoint: drop the file, cut the one before
    ASSERT_EQ(::unlink(path(last).c_str()), 0);
    l = lines(--last);
  }
  l.pop_back();  // the checkpoint: the lines before it are now unsealed
  put(last, l);
  VerifyResult relaxed = verify(false);
  ASSERT_FALSE(relaxed.problem) << relaxed.problem->to_string();
  EXPECT_GT(relaxed.summary.unsealed_lines, 0u);
  VerifyResult strict = verify(true);
  ASSERT_TRUE(strict.problem);
  EXPECT_NE(strict.problem->reason.find("not sealed"), std::string::npos);
}

TEST_F(VerifierTest, AMissingMiddleFileIsDetected) {
  ASSERT_EQ(::unlink(path(1).c_str()), 0);
  expect_problem(files_[2], 1, "a file before this one is missing");
}

TEST_F(VerifierTest, MissingFirstFilesWithoutARetentionEventAreDetected) {
  ASSERT_EQ(::unlink(path(0).c_str()), 0);
  expect_problem(files_[1], 1, "no audit.retention event");
}

TEST_F(VerifierTest, AForgedCheckpointIsDetected) {
  // Re-sign the last checkpoint of file 0 with another key: its key id no longer matches.
  auto l = lines(0);
  SigningKey other = SigningKey::generate();
  std::string& cp = l.back();
  size_t k = cp.find("\"key\":\"");
  ASSERT_NE(k, std::string::npos);
  cp.replace(k + 7, 16, other.public_key().key_id());
  put(0, l);
  expect_problem(files_[0], l.size(), "not by the given public key");
}

TEST_F(VerifierTest, ACheckpointWithAnAlteredSignatureIsDetected) {
  auto l = lines(0);
  std::string& cp = l.back();
  size_t s = cp.find("\"sig\":\"");
  ASSERT_NE(s, std::string::npos);
  cp[s + 8] = cp[s + 8] == 'a' ? 'b' : 'a';
  put(0, l);
  expect_problem(files_[0], l.size(), "signature does not verify");
}

TEST_F(VerifierTest, AWrongPublicKeyFailsTheFirstCheckpoint) {
  SigningKey other = SigningKey::generate();
  VerifyOptions o;
  o.key = &other.public_key();
  VerifyResult r = verify_directory(log_dir_, o);
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("checkpoint signed by key"), std::string::npos);
}

TEST_F(VerifierTest, GarbageAndEmptyFilesAreNamed) {
  put(1, {"this is not json"});
  expect_problem(files_[1], 1, "not an audit line");
  write_file(path(1), "");
  expect_problem(files_[1], 0, "empty audit file");
}

TEST_F(VerifierTest, AFileRenamedToAnotherSequenceIsDetected) {
  std::string renamed = log_file_name(2, 1795000000);
  ASSERT_EQ(::rename(path(0).c_str(), (log_dir_ + "/" + renamed).c_str()), 0);
  expect_problem(renamed, 1, "file name says it starts at seq 2");
}

TEST(Verifier, EmptyOrMissingDirectoryIsAProblem) {
  testing::TempDir dir;
  VerifyResult r = verify_directory(dir.path(), VerifyOptions{});
  ASSERT_TRUE(r.problem);
  EXPECT_NE(r.problem->reason.find("no audit log files"), std::string::npos);
  r = verify_directory(dir.sub("nope"), VerifyOptions{});
  ASSERT_TRUE(r.problem);
}

}  // namespace
}  // namespace pamproxy::audit
