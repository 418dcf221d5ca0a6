// The read-only session reader against a store file the store itself wrote (so the reader's
// columns and filters stay those of the store), and the rule that the CLI includes no store
// header.

#include "src/cli/session_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "pamproxy/store/store.h"
#include "tests/unit/store/temp_dir.h"

namespace pamproxy::cli {
namespace {

audit::SessionReport row(uint64_t first_seq, const std::string& user, const std::string& record,
                         int64_t started, int64_t last) {
  audit::SessionReport r;
  r.id = "s-" + std::to_string(first_seq);
  r.first_seq = first_seq;
  r.user = user;
  r.token_id = "TOK" + user;
  r.record_id = record;
  r.record_name = record + "-name";
  r.source_ip = "192.0.2.7";
  r.started_unix_ns = started;
  r.last_unix_ns = last;
  r.requests = 3;
  r.denied = 1;
  r.bytes_in = 10;
  r.bytes_out = 20;
  r.open = first_seq % 2 == 1;
  r.report_json = "{\"id\":\"" + r.id + "\"}";
  r.report_text = "session " + r.id + "\n";
  return r;
}

class SessionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s =
        store::Store::open({.database_file = db(), .master_key_file = dir_.file("master.key")});
    ASSERT_TRUE(s.ok()) << s.status();
    rows_ = {row(5, "u1", "r1", 100, 200), row(9, "u2", "r1", 300, 400),
             row(12, "u1", "r2", 500, 600)};
    ASSERT_TRUE((*s)->save_sessions(rows_, 13).ok());
  }
  std::string db() const { return dir_.file("pamproxy.db"); }

  store::testing::TempDir dir_;
  std::vector<audit::SessionReport> rows_;
};

TEST_F(SessionFileTest, ListsWithTheStoresFilters) {
  auto file = SessionFile::open(db());
  ASSERT_TRUE(file.ok()) << file.status();
  auto all = (*file)->list({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "s-12");  // newest first
  EXPECT_EQ(all[0].first_seq, 12u);
  EXPECT_EQ(all[0].user, "u1");
  EXPECT_EQ(all[0].token_id, "TOKu1");
  EXPECT_EQ(all[0].record_name, "r2-name");
  EXPECT_EQ(all[0].source_ip, "192.0.2.7");
  EXPECT_EQ(all[0].started_unix_ns, 500);
  EXPECT_EQ(all[0].last_unix_ns, 600);
  EXPECT_EQ(all[0].requests, 3u);
  EXPECT_EQ(all[0].denied, 1u);
  EXPECT_EQ(all[0].bytes_in, 10u);
  EXPECT_EQ(all[0].bytes_out, 20u);
  EXPECT_FALSE(all[0].open);
  EXPECT_TRUE(all[1].open);
  EXPECT_TRUE(all[0].report_json.empty());  // lists carry no report

  EXPECT_EQ((*file)->list({.user = "u1"}).size(), 2u);
  EXPECT_EQ((*file)->list({.record = "r1"}).size(), 2u);
  EXPECT_EQ((*file)->list({.record = "r2-name"}).size(), 1u);
  EXPECT_EQ((*file)->list({.since_unix_ns = 401}).size(), 1u);
  EXPECT_EQ((*file)->list({.until_unix_ns = 300}).size(), 1u);
  auto page = (*file)->list({.limit = 2, .after = audit::SessionPosition{300, "s-9"}});
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, "s-5");
}

TEST_F(SessionFileTest, GetsOneWithItsReport) {
  auto file = SessionFile::open(db());
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = (*file)->get("s-9");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->report_json, "{\"id\":\"s-9\"}");
  EXPECT_EQ(got->report_text, "session s-9\n");
  auto missing = (*file)->get("s-404");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no session with id 's-404'");
}

TEST_F(SessionFileTest, NeverCreatesAFile) {
  const std::string absent = dir_.file("absent.db");
  auto file = SessionFile::open(absent);
  EXPECT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("cannot open database " + absent), std::string::npos)
      << file.status();
  EXPECT_FALSE(std::filesystem::exists(absent));
}

// pamctl reaches the store through the admin API; session_file.h reads session reports itself.
TEST(CliBoundary, IncludesNoStoreHeader) {
  const char* root = std::getenv("SOURCE_ROOT");
  ASSERT_NE(root, nullptr);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(root) + "/src/cli")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cc" && ext != ".h") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with("#include")) continue;
      EXPECT_EQ(line.find("store/"), std::string::npos) << entry.path() << ": " << line;
    }
  }
  EXPECT_GT(files, 10);
}

}  // namespace
}  // namespace pamproxy::cli
