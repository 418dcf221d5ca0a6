// Session rows: upsert by id, filters and pagination, the resume point, persistence across a
// reopen, and a version-1 database gaining the sessions tables on open.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "pamproxy/store/store.h"
#include "src/store/migrations.h"
#include "src/store/sql.h"
#include "tests/unit/store/temp_dir.h"

namespace pamproxy::store {
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
  r.open = true;
  r.report_json = "{\"id\":\"" + r.id + "\"}";
  r.report_text = "session " + r.id + "\n";
  return r;
}

class StoreSessions : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open_store() {
    auto s = Store::open(
        {.database_file = dir_.file("pamproxy.db"), .master_key_file = dir_.file("master.key")});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  testing::TempDir dir_;
};

TEST_F(StoreSessions, UpsertFilterPaginateAndPersist) {
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->session_resume_seq(), 1u);
  std::vector<audit::SessionReport> rows = {
      row(5, "u1", "r1", 100, 200), row(9, "u2", "r1", 300, 400), row(12, "u1", "r2", 500, 600)};
  ASSERT_TRUE(store->save_sessions(rows, 13).ok());
  EXPECT_EQ(store->session_resume_seq(), 13u);

  auto all = store->list_sessions({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "s-12");             // newest first
  EXPECT_TRUE(all[0].report_json.empty());  // lists carry no report

  EXPECT_EQ(store->list_sessions({.user = "u1"}).size(), 2u);
  EXPECT_EQ(store->list_sessions({.record = "r1"}).size(), 2u);
  EXPECT_EQ(store->list_sessions({.record = "r2-name"}).size(), 1u);
  EXPECT_EQ(store->list_sessions({.since_unix_ns = 401}).size(), 1u);
  EXPECT_EQ(store->list_sessions({.until_unix_ns = 300}).size(), 1u);
  auto page1 = store->list_sessions({.limit = 2});
  ASSERT_EQ(page1.size(), 2u);
  auto page2 = store->list_sessions({.limit = 2, .before_seq = page1.back().first_seq});
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].id, "s-5");

  // Re-indexing the same session replaces it (a closed session, more requests).
  audit::SessionReport closed = row(9, "u2", "r1", 300, 450);
  closed.open = false;
  closed.requests = 4;
  ASSERT_TRUE(store->save_sessions({&closed, 1}, 14).ok());
  store.reset();

  store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->session_resume_seq(), 14u);
  auto got = store->get_session("s-9");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->open);
  EXPECT_EQ(got->requests, 4u);
  EXPECT_EQ(got->last_unix_ns, 450);
  EXPECT_EQ(got->report_text, "session s-9\n");
  EXPECT_EQ(store->list_sessions({}).size(), 3u);
  EXPECT_EQ(store->get_session("s-404").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreSessions, VersionOneDatabaseGainsSessionsOnOpen) {
  {
    auto store = open_store();  // creates the key and a current database
    ASSERT_TRUE(store);
  }
  {
    // Take it back to version 1 as an older build left it.
    auto db = sql::Db::open(dir_.file("pamproxy.db"), SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("DROP TABLE favorites; DROP TABLE sessions; DROP TABLE session_index; "
                         "DROP TABLE group_roles; DROP TABLE identity_users; "
                         "ALTER TABLE records DROP COLUMN aws_account_id_source; "
                         "ALTER TABLE records DROP COLUMN aws_account_id; "
                         "DROP TABLE notifications; ALTER TABLE users DROP COLUMN email; "
                         "ALTER TABLE records DROP COLUMN version; "
                         "DROP TABLE change_generation; PRAGMA user_version = 1;")
                    .ok());
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  EXPECT_EQ(store->session_resume_seq(), 1u);
  std::vector<audit::SessionReport> rows = {row(3, "u", "r", 1, 2)};
  EXPECT_TRUE(store->save_sessions(rows, 4).ok());
}

}  // namespace
}  // namespace pamproxy::store
