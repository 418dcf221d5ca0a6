#include "pamproxy/base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace pamproxy::log {
namespace {

// Captures what log lines write, through a pipe.
class LogCapture {
 public:
  LogCapture() {
    EXPECT_EQ(::pipe(fds_), 0);
    set_fd(fds_[1]);
  }
  ~LogCapture() {
    set_fd(2);
    set_format(Format::kv);
    set_level(Level::info);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  std::string drain() {
    ::close(fds_[1]);
    fds_[1] = ::dup(2);  // keep the destructor's close harmless
    set_fd(2);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds_[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fds_[2];
};

TEST(Log, KeyValueLineQuotesWhatNeedsIt) {
  LogCapture cap;
  info("test.event").kv("plain", "abc").kv("spaced", "a b").kv("n", 42).kv("flag", true);
  std::string line = cap.drain();
  EXPECT_NE(line.find("level=info event=test.event plain=abc spaced=\"a b\" n=42 flag=true\n"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.rfind("ts=", 0), 0u);
}

TEST(Log, LevelFilterDropsLowerLevels) {
  LogCapture cap;
  set_level(Level::warn);
  info("hidden");
  warn("shown");
  std::string out = cap.drain();
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("event=shown"), std::string::npos);
}

TEST(Log, JsonEscapesControlCharactersAndQuotes) {
  LogCapture cap;
  set_format(Format::json);
  info("j").kv("v", "a\"b\\c\nd");
  std::string out = cap.drain();
  EXPECT_NE(out.find(R"("v":"a\"b\\c\u000ad"})"), std::string::npos) << out;
  EXPECT_EQ(out.front(), '{');
}

TEST(Log, OverlongLineIsCutAndMarkedButStillOneLine) {
  LogCapture cap;
  std::string big(5000, 'x');
  info("big").kv("v", big);
  std::string out = cap.drain();
  EXPECT_LT(out.size(), 2100u);
  EXPECT_NE(out.find("truncated=true\n"), std::string::npos);
  EXPECT_EQ(out.find('\n'), out.size() - 1);
}

TEST(Log, ParseNames) {
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_FALSE(parse_level("loud").has_value());
  EXPECT_EQ(parse_format("json"), Format::json);
  EXPECT_FALSE(parse_format("xml").has_value());
}

}  // namespace
}  // namespace pamproxy::log
