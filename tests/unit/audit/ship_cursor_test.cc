#include "pamproxy/audit/ship_cursor.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "audit_test_util.h"

namespace pamproxy::audit {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

TEST(ShipCursor, MissingFileStartsAtTheFirstLine) {
  TempDir dir;
  auto seq = load_ship_cursor(dir.sub("cursor"));
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 1u);
}

TEST(ShipCursor, StoreThenLoad) {
  TempDir dir;
  const std::string path = dir.sub("cursor");
  ASSERT_TRUE(store_ship_cursor(path, 42).ok());
  EXPECT_EQ(read_file(path), "next_seq 42\n");
  ASSERT_TRUE(store_ship_cursor(path, 18446744073709551615ull).ok());
  auto seq = load_ship_cursor(path);
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 18446744073709551615ull);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(::stat((path + ".tmp").c_str(), &st), 0) << "the temporary file is renamed";
}

TEST(ShipCursor, AnythingElseIsAnErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.sub("cursor");
  for (const char* bad : {"", "next_seq 42", "next_seq \n", "next_seq 0\n", "next_seq -1\n",
                          "next_seq 4x\n", "seq 4\n", "next_seq 99999999999999999999\n"}) {
    write_file(path, bad);
    auto seq = load_ship_cursor(path);
    ASSERT_FALSE(seq.ok()) << bad;
    EXPECT_NE(seq.status().message().find(path), std::string::npos);
  }
  write_file(path, "next_seq " + std::string(100, '1') + "\n");
  EXPECT_FALSE(load_ship_cursor(path).ok());
}

TEST(ShipCursor, AnUnwritableDirectoryIsAnError) {
  TempDir dir;
  EXPECT_FALSE(store_ship_cursor(dir.sub("missing") + "/cursor", 1).ok());
}

}  // namespace
}  // namespace pamproxy::audit
