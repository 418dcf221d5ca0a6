// Session rows: upsert by id, filters and pagination, the resume point, persistence across a
// reopen, and a version-1 database gaining the sessions tables on open. Several nodes on one
// store (SQLite and PostgreSQL): their pieces of one session make one report, each node resumes
// from its own point.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "pamproxy/store/store.h"
#include "src/store/migrations.h"
#include "src/store/sql.h"
#include "tests/unit/store/postgresql_server.h"
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
  auto page2 = store->list_sessions(
      {.limit = 2, .after = audit::SessionPosition{page1.back().started_unix_ns, page1.back().id}});
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
    ASSERT_TRUE(db->exec("DROP TABLE console_sessions; ALTER TABLE users DROP COLUMN disabled; "
                         "DROP TABLE favorites; DROP TABLE sessions; DROP TABLE session_index; "
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

constexpr int64_t kS = 1000000000;

// A node's piece of a session as its indexer saves it: real commands, so that pieces merge.
audit::SessionReport piece(uint64_t first_seq, const std::string& user,
                           std::vector<std::pair<int64_t, std::string>> commands) {
  audit::Session s;
  s.id = "s-" + std::to_string(first_seq);
  s.first_seq = first_seq;
  s.user = user;
  s.token_id = "TOK" + user;
  s.record_id = "r1";
  s.record_name = "billing";
  s.source_ip = "192.0.2.7";
  s.started_unix_ns = commands.front().first;
  s.open = true;
  uint64_t seq = first_seq;
  for (const auto& [t, name] : commands) {
    audit::SessionCommand c;
    c.time_unix_ns = t;
    c.seq = seq++;
    c.event_source = "s3.amazonaws.com";
    c.event_name = name;
    c.status = 200;
    c.bytes_in = 10;
    s.commands.push_back(c);
    s.last_unix_ns = t;
    ++s.requests;
    s.bytes_in += 10;
  }
  return audit::stored_report(s);
}

std::vector<std::string> command_names(const audit::SessionReport& r) {
  auto s = audit::session_of_report(r);
  EXPECT_TRUE(s.ok()) << s.status();
  std::vector<std::string> out;
  if (s.ok()) {
    for (const audit::SessionCommand& c : s->commands) out.push_back(c.event_name);
  }
  return out;
}

class SessionsAcrossNodes : public ::testing::TestWithParam<StoreBackend> {
 protected:
  std::unique_ptr<Store> open_store() {
    StoreOptions o{.database_file = dir_.file("pamproxy.db"),
                   .master_key_file = dir_.file("master.key")};
    if (GetParam() == StoreBackend::kPostgresql) {
      o.backend = StoreBackend::kPostgresql;
      std::string url = testing::PostgresqlServer::get().create_database();
      EXPECT_FALSE(url.empty()) << testing::PostgresqlServer::get().error();
      o.postgresql_url = url;
    }
    auto s = Store::open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static SessionSave node(std::string_view name) { return {.node = name, .join_gap_ns = 60 * kS}; }
  testing::TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Store, SessionsAcrossNodes,
                         ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgresql),
                         [](const ::testing::TestParamInfo<StoreBackend>& p) {
                           return p.param == StoreBackend::kSqlite ? "sqlite" : "postgresql";
                         });

TEST_P(SessionsAcrossNodes, PiecesOfOneSessionMakeOneReport) {
  auto store = open_store();
  ASSERT_TRUE(store);
  // Node A and node B both number their logs from 1: the same seq in both, two pieces of one
  // session (the user's commands alternating between the nodes).
  audit::SessionReport a = piece(5, "u1", {{100 * kS, "CreateBucket"}, {110 * kS, "ListObjects"}});
  audit::SessionReport b = piece(5, "u1", {{105 * kS, "PutObject"}, {120 * kS, "GetObject"}});
  ASSERT_TRUE(store->save_sessions({&a, 1}, 6, {}, node("node-a")).ok());
  ASSERT_TRUE(store->save_sessions({&b, 1}, 9, {}, node("node-b")).ok());

  auto listed = store->list_sessions({.user = "u1"});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, "s-5");
  EXPECT_EQ(listed[0].requests, 4u);
  EXPECT_EQ(listed[0].bytes_in, 40u);
  EXPECT_EQ(listed[0].started_unix_ns, 100 * kS);
  EXPECT_EQ(listed[0].last_unix_ns, 120 * kS);
  auto got = store->get_session("s-5");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(command_names(*got),
            (std::vector<std::string>{"CreateBucket", "PutObject", "ListObjects", "GetObject"}));
  EXPECT_NE(got->report_text.find("Session s-5"), std::string::npos) << got->report_text;

  // Node A's piece grows (re-saved as its indexer goes on): the report keeps node B's commands.
  a = piece(5, "u1",
            {{100 * kS, "CreateBucket"}, {110 * kS, "ListObjects"}, {130 * kS, "DeleteObject"}});
  a.open = false;
  ASSERT_TRUE(store->save_sessions({&a, 1}, 12, {}, node("node-a")).ok());
  got = store->get_session("s-5");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->requests, 5u);
  EXPECT_TRUE(got->open);  // node B's piece is still open
  EXPECT_EQ(command_names(*got),
            (std::vector<std::string>{"CreateBucket", "PutObject", "ListObjects", "GetObject",
                                      "DeleteObject"}));

  // Another user's session that starts at seq 7 on both nodes: two sessions, two ids.
  audit::SessionReport other_a = piece(7, "u2", {{100 * kS, "ListBuckets"}});
  audit::SessionReport other_b = piece(7, "u3", {{100 * kS, "ListBuckets"}});
  ASSERT_TRUE(store->save_sessions({&other_a, 1}, 12, {}, node("node-a")).ok());
  ASSERT_TRUE(store->save_sessions({&other_b, 1}, 12, {}, node("node-b")).ok());
  EXPECT_TRUE(store->get_session("s-7").ok());
  auto renamed = store->get_session("s-7-node-b");
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->user, "u3");

  // After the idle gap, the same user's next piece starts a session of its own.
  audit::SessionReport later = piece(20, "u1", {{300 * kS, "ListBuckets"}});
  ASSERT_TRUE(store->save_sessions({&later, 1}, 21, {}, node("node-b")).ok());
  EXPECT_EQ(store->list_sessions({.user = "u1"}).size(), 2u);

  // Each node resumes from its own point; a node new to the store from its log's beginning.
  EXPECT_EQ(store->session_resume_seq("node-a"), 12u);
  EXPECT_EQ(store->session_resume_seq("node-b"), 21u);
  EXPECT_EQ(store->session_resume_seq("node-c"), 1u);
}

TEST_P(SessionsAcrossNodes, PagesShowEachSessionOfBothNodesOnceInOrder) {
  auto store = open_store();
  ASSERT_TRUE(store);
  // Each node numbers its log from 1, and its sequence numbers follow its own clock only: node
  // B's seq 1 starts last. Two sessions start in the same second on different nodes, and two on
  // the same node, so the id alone decides between them. Every session is another user's, so
  // none joins another.
  struct Saved {
    std::string node;
    uint64_t seq;
    int64_t start_s;
  };
  const std::vector<Saved> saved = {{"node-a", 1, 100},  {"node-a", 4, 300},  {"node-a", 9, 500},
                                    {"node-a", 12, 500}, {"node-a", 20, 900}, {"node-b", 1, 1000},
                                    {"node-b", 2, 300},  {"node-b", 5, 200},  {"node-b", 9, 700},
                                    {"node-b", 30, 100}, {"node-b", 31, 800}};
  int user = 0;
  for (const Saved& s : saved) {
    audit::SessionReport p = piece(s.seq, "u" + std::to_string(++user), {{s.start_s * kS, "Get"}});
    ASSERT_TRUE(store->save_sessions({&p, 1}, s.seq + 1, {}, node(s.node)).ok());
  }
  std::vector<audit::SessionReport> all = store->list_sessions({});
  ASSERT_EQ(all.size(), saved.size());
  std::vector<std::string> expected;
  for (size_t i = 0; i < all.size(); ++i) {
    expected.push_back(all[i].id);
    if (i == 0) continue;
    // Newest start first, then the id, both descending.
    EXPECT_TRUE(all[i - 1].started_unix_ns > all[i].started_unix_ns ||
                (all[i - 1].started_unix_ns == all[i].started_unix_ns && all[i - 1].id > all[i].id))
        << all[i - 1].id << " before " << all[i].id;
  }
  EXPECT_EQ(expected.front(), "s-1-node-b");  // started at 1000 s
  for (size_t limit : {1u, 2u, 7u}) {
    std::vector<std::string> paged;
    audit::SessionQuery q{.limit = limit};
    for (size_t pages = 0; pages <= saved.size(); ++pages) {
      std::vector<audit::SessionReport> page = store->list_sessions(q);
      for (const audit::SessionReport& r : page) paged.push_back(r.id);
      if (page.size() < limit) break;
      q.after = audit::SessionPosition{page.back().started_unix_ns, page.back().id};
    }
    EXPECT_EQ(paged, expected) << "page size " << limit;
  }
  // A page carried as the admin API's cursor comes back to the same place.
  auto first = store->list_sessions({.limit = 3});
  ASSERT_EQ(first.size(), 3u);
  std::optional<audit::SessionPosition> after =
      audit::parse_session_cursor(audit::session_cursor(first.back()));
  ASSERT_TRUE(after.has_value());
  auto rest = store->list_sessions({.limit = 100, .after = after});
  ASSERT_EQ(rest.size(), saved.size() - 3);
  EXPECT_EQ(rest.front().id, expected[3]);
}

TEST_P(SessionsAcrossNodes, OneNodeStoreCarriesOnByNode) {
  auto store = open_store();
  ASSERT_TRUE(store);
  // Saved before sessions were saved by node: the node takes the single resume point over, and
  // its open session, read again from its first event, stays the same row.
  audit::SessionReport before = piece(3, "u1", {{100 * kS, "CreateBucket"}});
  ASSERT_TRUE(store->save_sessions({&before, 1}, 3).ok());
  EXPECT_EQ(store->session_resume_seq("host-1"), 3u);
  audit::SessionReport after =
      piece(3, "u1", {{100 * kS, "CreateBucket"}, {101 * kS, "PutObject"}});
  ASSERT_TRUE(store->save_sessions({&after, 1}, 5, {}, node("host-1")).ok());
  auto listed = store->list_sessions({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, "s-3");
  EXPECT_EQ(listed[0].requests, 2u);
  EXPECT_EQ(store->session_resume_seq("host-1"), 5u);
}

}  // namespace
}  // namespace pamproxy::store
