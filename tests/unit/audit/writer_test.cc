#include "pamproxy/audit/writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <utime.h>

#include <chrono>
#include <thread>

#include "pamproxy/audit/verifier.h"
#include "pamproxy/base/log.h"
#include "writer_test_util.h"

namespace pamproxy::audit {
namespace {

using testing::read_file;
using testing::split_lines;
using testing::write_file;

// Polls `cond` until it holds or `timeout_ms` passes (for state that has no event to await).
template <typename F>
bool eventually(F cond, int timeout_ms = 10000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

// Sends log lines to a file for the test to read.
class LogToFile {
 public:
  explicit LogToFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    log::set_fd(fd_);
  }
  ~LogToFile() {
    log::set_fd(2);
    ::close(fd_);
  }
  std::string text() const { return read_file(path_); }

 private:
  std::string path_;
  int fd_;
};

class WriterTest : public ::testing::Test {
 protected:
  std::string dir() { return root_.sub("log"); }
  std::string key_path() { return root_.sub("audit.key"); }
  WriterOptions options() { return testing::small_options(dir()); }
  std::unique_ptr<Writer> open(const WriterOptions& o) {
    auto key = SigningKey::load_or_create(key_path());
    EXPECT_TRUE(key.ok());
    auto w = Writer::open(o, std::move(*key));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? std::move(*w) : nullptr;
  }
  VerifyResult verify() {
    auto key = SigningKey::load(key_path());
    EXPECT_TRUE(key.ok());
    VerifyOptions o;
    o.key = &key->public_key();
    return verify_directory(dir(), o);
  }
  std::string all_text() {
    std::string out;
    for (const auto& f : testing::log_files(dir())) out += read_file(dir() + "/" + f);
    return out;
  }
  std::string last_file() { return dir() + "/" + testing::log_files(dir()).back(); }

  testing::TempDir root_;
};

TEST_F(WriterTest, FreshLogStartsAtGenesisAndVerifies) {
  testing::write_events(options(), key_path(), 25, 0, false);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.first_seq, 1u);
  EXPECT_EQ(r.summary.lines, 26u);  // + the shutdown checkpoint
  std::string text = all_text();
  EXPECT_NE(text.find("\"proxyRequestId\":\"req-24\""), std::string::npos);
  EXPECT_NE(text.find("\"reason\":\"shutdown\""), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(WriterTest, CleanRestartContinuesTheChainWithoutARecoveryEvent) {
  testing::write_events(options(), key_path(), 5, 0, false);
  auto w = open(options());
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->recovery().clean_shutdown);
  w.reset();
  testing::write_events(options(), key_path(), 5, 5, false);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(all_text().find("audit.recovery"), std::string::npos);
}

TEST_F(WriterTest, ATornTailIsCutAndTheRecoveryIsAnEvent) {
  testing::write_events(options(), key_path(), 10, 0, false);
  std::string path = last_file();
  std::string text = read_file(path);
  // A crash mid-write: a garbage line of zeros, then half a line.
  write_file(path, text + std::string(40, '\0') + "\n{\"seq\":12,\"prev\":\"00");
  {
    auto w = open(options());
    ASSERT_TRUE(w);
    EXPECT_FALSE(w->recovery().clean_shutdown);
    EXPECT_EQ(w->recovery().bytes_cut, 41u + 20u);
    EXPECT_EQ(w->recovery().lines_cut, 2u);
    EXPECT_EQ(w->recovery().resumed_after_seq, 11u);
  }
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  std::string all = all_text();
  size_t pos = all.find("\"eventType\":\"audit.recovery\"");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_NE(all.find("\"bytesCut\":61,\"linesCut\":2"), std::string::npos) << all;
  EXPECT_NE(all.find("{\"seq\":12,"), std::string::npos);
}

TEST_F(WriterTest, ZerosAfterATornLineAreCutEvenMoreThanTheTailWindowOfThem) {
  testing::write_events(options(), key_path(), 10, 0, false);
  std::string path = last_file();
  std::string text = read_file(path);
  // A crash in a file with space made ready ahead: half a line, then zeros past the 4 MiB that
  // recovery looks back over, which count from the log's end and not the file's.
  write_file(path, text + "{\"seq\":12,\"prev\":\"00" + std::string((6 << 20) + 5, '\0'));
  {
    auto w = open(options());
    ASSERT_TRUE(w);
    EXPECT_FALSE(w->recovery().clean_shutdown);
    EXPECT_EQ(w->recovery().bytes_cut, 20u);
    EXPECT_EQ(w->recovery().lines_cut, 1u);
    EXPECT_EQ(w->recovery().resumed_after_seq, 11u);
  }
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  std::string all = all_text();
  EXPECT_EQ(all.find('\0'), std::string::npos);
  EXPECT_NE(all.find("\"bytesCut\":20,\"linesCut\":1"), std::string::npos) << all;
}

TEST_F(WriterTest, OnlyZerosAfterGoodLinesAreCutWithoutTornBytes) {
  testing::write_events(options(), key_path(), 3, 0, false);
  auto l = split_lines(read_file(last_file()));
  l.pop_back();  // killed before the shutdown checkpoint, its zeros ahead left behind
  write_file(last_file(), testing::join_lines(l) + std::string(65 * 1024 + 3, '\0'));
  {
    auto w = open(options());
    ASSERT_TRUE(w);
    EXPECT_EQ(w->recovery().bytes_cut, 0u);
    EXPECT_EQ(w->recovery().lines_cut, 0u);
  }
  std::string all = all_text();
  EXPECT_EQ(all.find('\0'), std::string::npos);
  EXPECT_NE(all.find("\"bytesCut\":0,\"linesCut\":0"), std::string::npos) << all;
  EXPECT_FALSE(verify().problem);
}

// Starts `w` and writes `n` events through it, each waited for; the rest is the test's.
Ring* write_durably(Writer& w, uint64_t n) {
  Ring* ring = w.add_producer();
  w.start();
  uint64_t t = 0;
  for (uint64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(ring->push_wait(testing::sample_event(i), &t, 5000));
    EXPECT_TRUE(ring->wait_durable(t, 5000));
  }
  return ring;
}

TEST_F(WriterTest, ZeroedSpaceLiesAheadOfTheLiveFileAndClosedFilesAreCut) {
  WriterOptions o = options();
  o.rotate_bytes = 6000;
  o.preallocate_bytes = 64 << 10;
  auto w = open(o);
  ASSERT_TRUE(w);
  Ring* ring = write_durably(*w, 40);
  // One more with rotation by size off, so the live file has a line.
  w->set_live({.commit_interval_ms = o.commit_interval_ms,
               .rotate_bytes = 1 << 30,
               .rotate_age_s = o.rotate_age_s,
               .retention_days = o.retention_days,
               .checkpoint_interval_s = o.checkpoint_interval_s});
  uint64_t t = 0;
  ASSERT_TRUE(ring->push_wait(testing::sample_event(40), &t, 5000));
  ASSERT_TRUE(ring->wait_durable(t, 5000));
  auto files = testing::log_files(dir());
  ASSERT_GE(files.size(), 2u);
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    const std::string text = read_file(dir() + "/" + files[i]);
    EXPECT_EQ(text.find('\0'), std::string::npos) << files[i];
    EXPECT_EQ(text.back(), '\n') << files[i];
  }
  // The live file: its lines, then zeros, at most a chunk of them.
  std::string live = read_file(last_file());
  const size_t end = live.find('\0');
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(live[end - 1], '\n');
  EXPECT_EQ(live.find_first_not_of('\0', end), std::string::npos);
  EXPECT_GE(live.size(), end + (32 << 10));
  EXPECT_LE(live.size(), end + (64 << 10));
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  w->stop();
  live = read_file(last_file());
  EXPECT_EQ(live.find('\0'), std::string::npos);
  EXPECT_GT(live.size(), end);  // the shutdown checkpoint
  r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 42u + files.size() - 1);  // + a rotation checkpoint per file
}

TEST_F(WriterTest, WithoutPreallocationTheLiveFileEndsAtItsLastLine) {
  WriterOptions o = options();
  o.preallocate_bytes = 0;
  auto w = open(o);
  ASSERT_TRUE(w);
  write_durably(*w, 5);
  const std::string live = read_file(last_file());
  EXPECT_EQ(live.find('\0'), std::string::npos);
  EXPECT_EQ(live.back(), '\n');
}

TEST_F(WriterTest, AnUncleanStopWithoutTornBytesIsStillRecorded) {
  testing::write_events(options(), key_path(), 3, 0, false);
  auto l = split_lines(read_file(last_file()));
  l.pop_back();  // as if killed before the shutdown checkpoint
  write_file(last_file(), testing::join_lines(l));
  { auto w = open(options()); }
  EXPECT_NE(all_text().find("audit.recovery"), std::string::npos);
  EXPECT_FALSE(verify().problem);
}

TEST_F(WriterTest, AnEmptyFileLeftByACrashIsRemoved) {
  testing::write_events(options(), key_path(), 3, 0, false);
  write_file(dir() + "/" + log_file_name(5, 1795000000), "");
  {
    auto w = open(options());
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->recovery().removed_empty_file);
  }
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
}

TEST_F(WriterTest, DurabilityIsSignalledOnTheNotifyFd) {
  auto w = open(options());
  Ring* ring = w->add_producer();
  w->start();
  uint64_t ticket = 0;
  ASSERT_TRUE(ring->try_push(testing::sample_event(1), &ticket));
  if (ring->request_wakeup(ticket)) {
    pollfd p = {ring->notify_fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1);
    ring->consume_notification();
  }
  EXPECT_TRUE(ring->is_durable(ticket));
  EXPECT_GE(w->stats().commits, 1u);
  EXPECT_GE(w->stats().last_durable_seq, 1u);
  w->stop();
}

TEST_F(WriterTest, CheckpointsAndAgeRotationHappenWhileIdle) {
  WriterOptions o = options();
  o.checkpoint_interval_s = 1;
  o.rotate_age_s = 1;
  auto w = open(o);
  w->add_producer();
  w->start();
  ASSERT_TRUE(eventually([&] { return w->stats().checkpoints >= 3; }));
  w->stop();
  EXPECT_GE(w->stats().rotations, 1u);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_GE(r.summary.checkpoints, 3u);
}

TEST_F(WriterTest, AFailingWriteHoldsEventsThenResumes) {
  LogToFile log_file(root_.sub("log.txt"));
  FaultHook hook;
  WriterOptions o = options();
  o.fault_hook = &hook;
  auto w = open(o);
  Ring* ring = w->add_producer();
  w->start();
  hook.write_errno = ENOSPC;
  uint64_t ticket = 0;
  ASSERT_TRUE(ring->try_push(testing::sample_event(1), &ticket));
  ASSERT_TRUE(eventually([&] { return ring->writer_faulted(); }));
  EXPECT_FALSE(ring->is_durable(ticket));
  EXPECT_TRUE(w->stats().faulted);
  hook.write_errno = 0;
  EXPECT_TRUE(ring->wait_durable(ticket, 10000));
  EXPECT_FALSE(ring->writer_faulted());
  w->stop();
  EXPECT_EQ(w->stats().faults, 1u);
  std::string logged = log_file.text();
  EXPECT_NE(logged.find("event=audit.disk_fault op=write"), std::string::npos) << logged;
  EXPECT_NE(logged.find("No space left on device"), std::string::npos);
  EXPECT_NE(logged.find("event=audit.disk_recovered"), std::string::npos);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 2u);  // the event once (no half line, no duplicate) + shutdown
}

TEST_F(WriterTest, AFailingFdatasyncRewritesFromTheLastDurableByte) {
  LogToFile log_file(root_.sub("log.txt"));
  FaultHook hook;
  WriterOptions o = options();
  o.fault_hook = &hook;
  auto w = open(o);
  Ring* ring = w->add_producer();
  w->start();
  uint64_t t1 = 0, t2 = 0;
  ASSERT_TRUE(ring->push_wait(testing::sample_event(1), &t1, 5000));
  ASSERT_TRUE(ring->wait_durable(t1, 5000));
  hook.sync_errno = EIO;
  ASSERT_TRUE(ring->push_wait(testing::sample_event(2), &t2, 5000));
  ASSERT_TRUE(eventually([&] { return ring->writer_faulted(); }));
  EXPECT_FALSE(ring->is_durable(t2));
  hook.sync_errno = 0;
  EXPECT_TRUE(ring->wait_durable(t2, 10000));
  w->stop();
  EXPECT_NE(log_file.text().find("op=fdatasync"), std::string::npos);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 3u);
}

TEST_F(WriterTest, AFileThatCannotBeCreatedHoldsUntilItCan) {
  LogToFile log_file(root_.sub("log.txt"));
  FaultHook hook;
  WriterOptions o = options();
  o.fault_hook = &hook;
  o.rotate_bytes = 500;  // rotate after the first event
  auto w = open(o);
  Ring* ring = w->add_producer();
  w->start();
  hook.create_errno = EROFS;  // as a read-only directory would
  uint64_t t1 = 0, t2 = 0;
  ASSERT_TRUE(ring->push_wait(testing::sample_event(1), &t1, 5000));
  ASSERT_TRUE(ring->wait_durable(t1, 5000));
  ASSERT_TRUE(ring->push_wait(testing::sample_event(2), &t2, 5000));
  ASSERT_TRUE(eventually([&] { return ring->writer_faulted(); }));
  EXPECT_FALSE(ring->is_durable(t2));
  hook.create_errno = 0;
  EXPECT_TRUE(ring->wait_durable(t2, 10000));
  w->stop();
  EXPECT_NE(log_file.text().find("op=create"), std::string::npos);
  EXPECT_NE(log_file.text().find("Read-only file system"), std::string::npos);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_GE(r.summary.files, 2u);
}

TEST_F(WriterTest, ARealFullDiskHoldsAndResumes) {
  // RLIMIT_FSIZE makes the kernel refuse writes past a size (EFBIG), as a full disk would.
  LogToFile log_file(root_.sub("log.txt"));
  auto w = open(options());
  Ring* ring = w->add_producer();
  w->start();
  uint64_t t = 0;
  ASSERT_TRUE(ring->push_wait(testing::sample_event(0), &t, 5000));
  ASSERT_TRUE(ring->wait_durable(t, 5000));
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  // The limit is just past the log's end, whatever zeroed space lies ahead of it.
  const std::string text = read_file(last_file());
  const size_t log_end = std::min(text.find('\0'), text.size());
  struct rlimit tight = old_limit;
  tight.rlim_cur = static_cast<rlim_t>(log_end) + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  ASSERT_TRUE(ring->push_wait(testing::sample_event(1), &t, 5000));
  bool faulted = eventually([&] { return ring->writer_faulted(); });
  bool durable_while_full = ring->is_durable(t);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(faulted);
  EXPECT_FALSE(durable_while_full);
  EXPECT_TRUE(ring->wait_durable(t, 10000));
  w->stop();
  EXPECT_NE(log_file.text().find("File too large"), std::string::npos) << log_file.text();
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 3u);
}

TEST_F(WriterTest, RetentionDeletesOldFilesAndRecordsEachDeletion) {
  WriterOptions o = options();
  o.rotate_bytes = 1500;
  testing::write_events(o, key_path(), 12);
  auto files = testing::log_files(dir());
  ASSERT_GE(files.size(), 4u);
  // Age the first two files past the retention period.
  struct utimbuf old_times = {1600000000, 1600000000};
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(::utime((dir() + "/" + files[i]).c_str(), &old_times), 0);
  }
  o.retention_days = 30;
  {
    auto w = open(o);
    w->add_producer();
    w->start();
    ASSERT_TRUE(eventually([&] { return w->stats().retention_deletions == 2; }));
    w->stop();
  }
  auto after = testing::log_files(dir());
  EXPECT_EQ(after.front(), files[2]);
  std::string text = all_text();
  EXPECT_NE(text.find("\"retention\":{\"file\":\"" + files[0] + "\""), std::string::npos);
  EXPECT_NE(text.find("\"retention\":{\"file\":\"" + files[1] + "\""), std::string::npos);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_GT(r.summary.first_seq, 1u);
}

TEST_F(WriterTest, ManyEventsInOneBatchStayInOrder) {
  WriterOptions o = options();
  o.ring_entries = 4096;
  testing::write_events(o, key_path(), 3000, 0, false);
  VerifyResult r = verify();
  ASSERT_FALSE(r.problem) << r.problem->to_string();
  EXPECT_EQ(r.summary.lines, 3001u);
  std::string text = all_text();
  size_t a = text.find("\"proxyRequestId\":\"req-100\"");
  size_t b = text.find("\"proxyRequestId\":\"req-2999\"");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
}

}  // namespace
}  // namespace pamproxy::audit
