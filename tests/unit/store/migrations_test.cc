#include "src/store/migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/unit/store/temp_dir.h"

namespace pamproxy::store {
namespace {

TEST(Migrations, AppliesOnlyPendingStepsInOrder) {
  testing::TempDir dir;
  auto db = sql::Db::open(dir.file("m.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  const Migration v1[] = {{1, "CREATE TABLE a (x INTEGER);"}};
  ASSERT_TRUE(migrate(*db, v1).ok());
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), 1);
  // Running again with a longer list applies only version 2 (re-running 1 would fail: the table
  // exists).
  const Migration v2[] = {{1, "CREATE TABLE a (x INTEGER);"},
                          {2, "ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'y');"}};
  ASSERT_TRUE(migrate(*db, v2).ok());
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), 2);
  EXPECT_EQ(*db->query_int("SELECT count(*) FROM a"), 1);
}

TEST(Migrations, FailedStepChangesNothing) {
  testing::TempDir dir;
  auto db = sql::Db::open(dir.file("m.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_TRUE(db.ok());
  const Migration bad[] = {{1, "CREATE TABLE a (x INTEGER);"},
                           {2, "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"}};
  absl::Status s = migrate(*db, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("migration to version 2"), std::string::npos);
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), 1);
  EXPECT_EQ(*db->query_int("SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
}

TEST(Migrations, ShippedListIsOrdered) {
  int64_t last = 0;
  for (const Migration& m : migrations()) {
    EXPECT_EQ(m.version, last + 1);
    last = m.version;
  }
  EXPECT_EQ(latest_schema_version(), last);
}

}  // namespace
}  // namespace pamproxy::store
