#include "pamproxy/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "pamproxy/policy/decision.h"
#include "src/store/migrations.h"
#include "tests/unit/store/postgresql_server.h"
#include "tests/unit/store/temp_dir.h"

namespace pamproxy::store {
namespace {

using policy::DenyKind;
using testing::PostgresqlServer;
using testing::read_file;
using testing::TempDir;

constexpr char kPlantedSecret[] = "PLANTEDsecretKEYwJalrXUtnFEMIK7MDENGbPxRfiCY";
constexpr char kPlantedSession[] = "PLANTEDsessionTOKENFwoGZXIvYXdzEJr";

// SQLite unless a test runs on every backend (EveryBackend below).
class StoreTest : public ::testing::Test {
 protected:
  virtual StoreBackend backend() const { return StoreBackend::kSqlite; }
  StoreOptions options() {
    StoreOptions o;
    o.database_file = dir_.file("pamproxy.db");
    o.master_key_file = dir_.file("master.key");
    o.now = [this] { return now_; };
    if (backend() == StoreBackend::kPostgresql) {
      o.backend = StoreBackend::kPostgresql;
      o.postgresql_url = postgresql().conninfo(database());
    }
    return o;
  }
  static PostgresqlServer& postgresql() { return PostgresqlServer::get(); }
  // This test's own PostgreSQL database, created on first use.
  const std::string& database() {
    if (database_.empty()) {
      std::string url = postgresql().create_database();
      if (url.empty()) {
        ADD_FAILURE() << "PostgreSQL for the store tests: " << postgresql().error();
      } else {
        database_ = url.substr(url.rfind('=') + 1);
      }
    }
    return database_;
  }
  std::unique_ptr<Store> open_store() {
    auto s = Store::open(options());
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static RecordSpec record_spec(const std::string& name) {
    RecordSpec r;
    r.name = name;
    r.description = "billing account";
    r.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    r.secret_access_key = kPlantedSecret;
    r.session_token = kPlantedSession;
    r.default_region = "eu-central-1";
    r.tags = {"prod", "eu", "prod"};
    return r;
  }

  TempDir dir_;
  std::string database_;
  absl::Time now_ = absl::FromUnixSeconds(1795424400);  // 2026-11-23T09:00:00Z, a Monday
  Actor admin_{"", "", "test"};
};

// The tests that hold for the store whatever engine it runs on, once per backend.
class EveryBackend : public StoreTest, public ::testing::WithParamInterface<StoreBackend> {
 protected:
  StoreBackend backend() const override { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Store, EveryBackend,
                         ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgresql),
                         [](const ::testing::TestParamInfo<StoreBackend>& p) {
                           return p.param == StoreBackend::kSqlite ? "sqlite" : "postgresql";
                         });

TEST_F(StoreTest, FreshStoreStartsSafe) {
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  EXPECT_FALSE(store->settings().proxy_enabled);
  auto types = store->record_types();
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(types[0].name, "aws-access-keys");
  EXPECT_FALSE(types[0].enabled);
  struct stat st;
  ASSERT_EQ(stat(options().master_key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(options().database_file.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st2 = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st2, nullptr);
  ASSERT_EQ(sqlite3_step(st2), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st2, 0)), "wal");
  sqlite3_finalize(st2);
  sqlite3_close(raw);
}

// SPEC.md's steps 1-9 through the store, then a real decision on the published snapshot.
TEST_P(EveryBackend, InstructionsEndToEndAndRestartPersistence) {
  std::string record_id, token_id, token_secret, user_id;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    auto boot = store->bootstrap("admin");
    ASSERT_TRUE(boot.ok() && boot->has_value()) << boot.status();
    EXPECT_TRUE((*boot)->admin.admin);
    EXPECT_EQ((*boot)->token.secret.size(), 40u);
    EXPECT_FALSE(store->bootstrap("admin")->has_value());  // only once
    admin_.user_id = (*boot)->admin.id;

    ASSERT_TRUE(store->set_setting(admin_, "proxy.enabled", "true").ok());              // step 1
    ASSERT_TRUE(store->set_record_type_enabled(admin_, "aws-access-keys", true).ok());  // step 4
    auto rec = store->create_record(admin_, record_spec("billing"));                    // steps 5-7
    ASSERT_TRUE(rec.ok()) << rec.status();
    record_id = rec->object_id;
    auto user = store->create_user(admin_, {"alice", false});
    ASSERT_TRUE(user.ok());
    user_id = user->object_id;
    GrantSpec g;
    g.user_id = user_id;
    g.record_id = record_id;
    g.permissions = policy::kView | policy::kConnect;
    ASSERT_TRUE(store->create_grant(admin_, g).ok());  // step 8
    TokenSpec t;
    t.user_id = user_id;
    t.name = "laptop";
    t.expires_at = now_ + absl::Hours(24);
    t.allowed_networks = {"10.0.0.0/8"};
    auto tok = store->create_token(admin_, t);  // step 9's token
    ASSERT_TRUE(tok.ok()) << tok.status();
    token_id = tok->token.id;
    token_secret = tok->secret;
    EXPECT_TRUE(tok->token.secret.empty());
    EXPECT_EQ(tok->change.after_json.find(token_secret), std::string::npos);
    for (const policy::Token& listed : store->list_tokens()) EXPECT_TRUE(listed.secret.empty());

    auto snap = store->snapshot();
    auto d = policy::decide(*snap, token_id, "billing", "s3:ListBuckets",
                            *net::IpAddress::parse("10.1.2.3"), now_);
    ASSERT_TRUE(d.allowed) << d.reason;
    EXPECT_EQ(d.secret_access_key(), kPlantedSecret);
    EXPECT_EQ(snap->find_token(token_id)->token.secret.reveal(), token_secret);
  }
  // Restart: everything is still there, secrets open with the same key file.
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->settings().proxy_enabled);
  auto rec = store->get_record(record_id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->name, "billing");
  EXPECT_EQ(rec->secret_access_key.reveal(), kPlantedSecret);
  EXPECT_EQ(rec->session_token.reveal(), kPlantedSession);
  EXPECT_EQ(rec->tags, (std::vector<std::string>{"eu", "prod"}));
  auto snap = store->snapshot();
  auto d = policy::decide(*snap, token_id, "tag:prod", "s3:ListBuckets",
                          *net::IpAddress::parse("10.1.2.3"), now_);
  ASSERT_TRUE(d.allowed) << d.reason;
  EXPECT_EQ(d.session_token(), kPlantedSession);
  EXPECT_EQ(snap->find_token(token_id)->token.secret.reveal(), token_secret);
  auto outside = policy::decide(*snap, token_id, "billing", "s3:ListBuckets",
                                *net::IpAddress::parse("192.0.2.1"), now_);
  EXPECT_EQ(outside.deny, DenyKind::kTokenNetwork);
}

TEST_F(StoreTest, SecretsAreEncryptedAtRest) {
  std::string token_secret;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_record(admin_, record_spec("billing")).ok());
    auto user = store->create_user(admin_, {"alice", false});
    auto tok = store->create_token(admin_, {user->object_id, "t", std::nullopt, {}});
    ASSERT_TRUE(tok.ok());
    token_secret = tok->secret;
    RecordPatch p;
    p.secret_access_key = std::string(kPlantedSecret) + "2";
    ASSERT_TRUE(store->update_record(admin_, store->list_records()[0].id, p).ok());
  }
  std::string bytes =
      read_file(options().database_file) + read_file(options().database_file + "-wal");
  ASSERT_NE(bytes.find("billing account"), std::string::npos);  // the search itself works
  EXPECT_EQ(bytes.find("PLANTEDsecretKEY"), std::string::npos);
  EXPECT_EQ(bytes.find("PLANTEDsessionTOKEN"), std::string::npos);
  EXPECT_EQ(bytes.find(token_secret), std::string::npos);
}

// The bytes of the database and its WAL (in PostgreSQL: the rows an open writes), to prove a
// refused open changed nothing.
std::string state_of(const StoreOptions& o) {
  std::string db = read_file(o.database_file) + "|" + read_file(o.database_file + "-wal");
  if (o.backend == StoreBackend::kPostgresql) {
    std::string name = o.postgresql_url.substr(o.postgresql_url.rfind('=') + 1);
    db = PostgresqlServer::get().query(
        name,
        "SELECT t::text FROM pamproxy_schema t UNION ALL SELECT t::text FROM canary t UNION ALL "
        "SELECT t::text FROM settings t UNION ALL SELECT t::text FROM users t");
  }
  return db + "|" + read_file(o.master_key_file);
}

TEST_P(EveryBackend, WrongMasterKeyRefusesAndChangesNothing) {
  { ASSERT_TRUE(open_store()); }
  testing::write_file(options().master_key_file, std::string(64, 'a') + "\n");
  std::string before = state_of(options());
  auto s = Store::open(options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("does not open database"), std::string::npos)
      << s.status();
  EXPECT_EQ(state_of(options()), before);
}

TEST_P(EveryBackend, MissingMasterKeyRefusesAndCreatesNone) {
  { ASSERT_TRUE(open_store()); }
  std::remove(options().master_key_file.c_str());
  std::string before = state_of(options());
  auto s = Store::open(options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("is missing"), std::string::npos) << s.status();
  struct stat st;
  EXPECT_NE(stat(options().master_key_file.c_str(), &st), 0);
  EXPECT_EQ(state_of(options()), before);
}

TEST_F(StoreTest, NewerSchemaRefusesAndChangesNothing) {
  { ASSERT_TRUE(open_store()); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(options().database_file.c_str(), &raw), SQLITE_OK);
  std::string pragma = "PRAGMA user_version = " + std::to_string(latest_schema_version() + 1);
  ASSERT_EQ(sqlite3_exec(raw, pragma.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  std::string before = state_of(options());
  auto s = Store::open(options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("newer than this pamproxy knows"),
            std::string::npos)
      << s.status();
  EXPECT_EQ(state_of(options()), before);
}

TEST_F(StoreTest, CorruptDatabaseRefusesAndChangesNothing) {
  { ASSERT_TRUE(open_store()); }
  std::string bytes = read_file(options().database_file);
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t i = 0; i < 100; ++i) bytes[i] = static_cast<char>(0xA5 ^ i);  // smash the header
  testing::write_file(options().database_file, bytes);
  std::string before = state_of(options());
  auto s = Store::open(options());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("corrupt"), std::string::npos) << s.status();
  EXPECT_EQ(state_of(options()), before);
}

TEST_F(StoreTest, CorruptPageRefuses) {
  { ASSERT_TRUE(open_store()); }
  std::string bytes = read_file(options().database_file);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  for (size_t i = 4096 + 8; i < 2 * 4096; ++i) bytes[i] = static_cast<char>(i * 31);
  testing::write_file(options().database_file, bytes);
  auto s = Store::open(options());
  EXPECT_FALSE(s.ok());
}

struct RecordingSink : ChangeSink {
  void on_admin_change(const AdminChange& c) override { changes.push_back(c); }
  std::vector<AdminChange> changes;
};

TEST_P(EveryBackend, EveryChangeReachesTheSinkWithoutSecrets) {
  auto store = open_store();
  ASSERT_TRUE(store);
  RecordingSink sink;
  store->set_change_sink(&sink);
  Actor actor{"u-x", "PAMTOKEN", "192.0.2.10"};
  auto rec = store->create_record(actor, record_spec("billing"));
  ASSERT_TRUE(rec.ok());
  RecordPatch p;
  p.description = "new description";
  p.secret_access_key = std::string(kPlantedSecret) + "X";
  ASSERT_TRUE(store->update_record(actor, rec->object_id, p).ok());
  ASSERT_TRUE(store->set_setting(actor, "proxy.enabled", "true").ok());
  ASSERT_TRUE(store->delete_record(actor, rec->object_id).ok());
  ASSERT_EQ(sink.changes.size(), 4u);
  EXPECT_EQ(sink.changes[0].action, "record.create");
  EXPECT_EQ(sink.changes[0].actor.source, "192.0.2.10");
  EXPECT_EQ(sink.changes[0].before_json, "");
  EXPECT_NE(sink.changes[0].after_json.find("\"secret_access_key_set\":true"), std::string::npos);
  EXPECT_EQ(sink.changes[1].action, "record.update");
  EXPECT_NE(sink.changes[1].before_json.find("billing account"), std::string::npos);
  EXPECT_NE(sink.changes[1].after_json.find("new description"), std::string::npos);
  EXPECT_EQ(sink.changes[2].before_json, "{\"proxy.enabled\":false}");
  EXPECT_EQ(sink.changes[2].after_json, "{\"proxy.enabled\":true}");
  EXPECT_EQ(sink.changes[3].after_json, "");
  uint64_t last = 0;
  for (const AdminChange& c : sink.changes) {
    EXPECT_EQ(c.before_json.find("PLANTED"), std::string::npos);
    EXPECT_EQ(c.after_json.find("PLANTED"), std::string::npos);
    EXPECT_GT(c.generation, last);
    last = c.generation;
  }
}

TEST_P(EveryBackend, ValidationNamesTheField) {
  auto store = open_store();
  ASSERT_TRUE(store);
  struct Case {
    std::function<void(RecordSpec&)> edit;
    const char* field;
  } cases[] = {
      {[](RecordSpec& r) { r.name = ""; }, "name"},
      {[](RecordSpec& r) { r.name = "tag:prod"; }, "name"},
      {[](RecordSpec& r) { r.access_key_id = "has space"; }, "access_key_id"},
      {[](RecordSpec& r) { r.secret_access_key = ""; }, "secret_access_key"},
      {[](RecordSpec& r) { r.default_region = "EU Central"; }, "default_region"},
      {[](RecordSpec& r) { r.aws_account_id = "12345678901"; }, "aws_account_id"},
      {[](RecordSpec& r) { r.aws_account_id = "1234567890123"; }, "aws_account_id"},
      {[](RecordSpec& r) { r.aws_account_id = "12345678901a"; }, "aws_account_id"},
      {[](RecordSpec& r) { r.aws_account_id = " 23456789012"; }, "aws_account_id"},
      {[](RecordSpec& r) { r.tags = {"a+b"}; }, "tags"},
      {[](RecordSpec& r) { r.reference_record = "r-nope"; }, "reference_record"},
      {[](RecordSpec& r) { r.description = std::string(5000, 'd'); }, "description"},
  };
  for (const Case& c : cases) {
    RecordSpec r = record_spec("x");
    c.edit(r);
    auto s = store->create_record(admin_, r);
    ASSERT_FALSE(s.ok()) << c.field;
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
    EXPECT_EQ(field_of(s.status()), c.field) << s.status();
    EXPECT_EQ(std::string(s.status().message()).find("PLANTED"), std::string::npos);
  }
  ASSERT_TRUE(store->create_record(admin_, record_spec("dup")).ok());
  auto dup = store->create_record(admin_, record_spec("dup"));
  EXPECT_TRUE(absl::IsAlreadyExists(dup.status())) << dup.status();
  EXPECT_NE(std::string(dup.status().message()).find("'dup' exists already"), std::string::npos);

  auto rid = store->list_records()[0].id;
  PolicySpec p;
  p.windows = {"Mon-Fri 08:00-12:00", "Fri 11:00-13:00"};
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "windows");
  p.windows = {"Mon-Fri 08:00-18:00"};
  p.time_zone = "Europe/Atlantis";
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "time_zone");
  p.time_zone = "Europe/Berlin";
  p.allowed_networks = {"10.0.0.0/33"};
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "allowed_networks");
  p.allowed_networks = {};
  p.command_rules = {"permit s3:*"};
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "command_rules");
  p.command_rules = {};
  p.approval_required = true;
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "approver_role_id");
  p.approver_role_id = "ro-nope";
  EXPECT_EQ(field_of(store->set_policy(admin_, rid, p).status()), "approver_role_id");
  EXPECT_EQ(field_of(store->set_setting(admin_, "proxy.enabled", "yes").status()), "value");
  EXPECT_EQ(field_of(store->set_setting(admin_, "proxy.color", "true").status()), "key");
  EXPECT_EQ(field_of(store->create_token(admin_, {"u-none", "t", std::nullopt, {}}).status()),
            "user_id");
}

TEST_P(EveryBackend, AwsAccountIdIsKeptChangedAndRemoved) {
  auto store = open_store();
  ASSERT_TRUE(store);
  RecordSpec spec = record_spec("billing");
  spec.aws_account_id = "012345678901";
  auto created = store->create_record(admin_, spec);
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string id = created->object_id;
  EXPECT_NE(created->after_json.find(R"("aws_account_id":"012345678901")"), std::string::npos)
      << created->after_json;
  EXPECT_EQ(store->get_record(id)->aws_account_id, "012345678901");
  auto snap = store->snapshot();
  ASSERT_EQ(snap->records().size(), 1u);
  EXPECT_EQ(snap->records()[0].record.aws_account_id, "012345678901");

  RecordPatch other;
  other.description = "unchanged account";
  ASSERT_TRUE(store->update_record(admin_, id, other).ok());
  EXPECT_EQ(store->get_record(id)->aws_account_id, "012345678901");
  RecordPatch bad;
  bad.aws_account_id = "0123-4567-8901";
  auto refused = store->update_record(admin_, id, bad);
  EXPECT_EQ(field_of(refused.status()), "aws_account_id") << refused.status();
  EXPECT_NE(std::string(refused.status().message()).find("12 digits"), std::string::npos);
  EXPECT_EQ(store->get_record(id)->aws_account_id, "012345678901");
  RecordPatch removed;
  removed.aws_account_id = "";
  ASSERT_TRUE(store->update_record(admin_, id, removed).ok());
  EXPECT_EQ(store->get_record(id)->aws_account_id, "");
  EXPECT_EQ(store->snapshot()->records()[0].record.aws_account_id, "");
}

TEST_P(EveryBackend, AwsAccountIdSourceSaysWhoGaveTheId) {
  auto store = open_store();
  ASSERT_TRUE(store);
  RecordSpec spec = record_spec("billing");
  auto created = store->create_record(admin_, spec);
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string id = created->object_id;
  EXPECT_NE(created->after_json.find(R"("aws_account_id":"","aws_account_id_source":"unknown")"),
            std::string::npos)
      << created->after_json;
  EXPECT_EQ(store->get_record(id)->aws_account_id_source, "");

  RecordPatch from_sts;
  from_sts.aws_account_id = "012345678901";
  from_sts.aws_account_id_source = "sts";
  auto filled = store->update_record(admin_, id, from_sts);
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_NE(filled->after_json.find(R"("aws_account_id_source":"sts")"), std::string::npos);
  EXPECT_EQ(store->snapshot()->records()[0].record.aws_account_id_source, "sts");
  RecordPatch by_admin;
  by_admin.aws_account_id = "210987654321";
  ASSERT_TRUE(store->update_record(admin_, id, by_admin).ok());
  EXPECT_EQ(store->get_record(id)->aws_account_id_source, "admin");
  RecordPatch unchanged;
  unchanged.description = "the id and its source stay";
  ASSERT_TRUE(store->update_record(admin_, id, unchanged).ok());
  EXPECT_EQ(store->get_record(id)->aws_account_id_source, "admin");
  RecordPatch bad;
  bad.aws_account_id = "012345678901";
  bad.aws_account_id_source = "guess";
  EXPECT_EQ(field_of(store->update_record(admin_, id, bad).status()), "aws_account_id_source");
  RecordPatch removed;
  removed.aws_account_id = "";
  auto gone = store->update_record(admin_, id, removed);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_EQ(store->get_record(id)->aws_account_id_source, "");
  EXPECT_NE(gone->after_json.find(R"("aws_account_id_source":"unknown")"), std::string::npos);

  spec = record_spec("payroll");
  spec.aws_account_id = "012345678901";
  spec.aws_account_id_source = "sts";
  auto sts_made = store->create_record(admin_, spec);
  ASSERT_TRUE(sts_made.ok()) << sts_made.status();
  EXPECT_EQ(store->get_record(sts_made->object_id)->aws_account_id_source, "sts");
}

TEST_F(StoreTest, AccountIdsBeforeTheirSourceCameFromTheAdmin) {
  std::string with_id;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    RecordSpec spec = record_spec("billing");
    spec.aws_account_id = "012345678901";
    auto created = store->create_record(admin_, spec);
    ASSERT_TRUE(created.ok()) << created.status();
    with_id = created->object_id;
    ASSERT_TRUE(store->create_record(admin_, record_spec("payroll")).ok());
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(options().database_file.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw,
                           "DROP TABLE console_sessions; ALTER TABLE users DROP COLUMN disabled; "
                           "ALTER TABLE records DROP COLUMN aws_account_id_source; "
                           "PRAGMA user_version = 8;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  for (const policy::Record& r : store->list_records()) {
    EXPECT_EQ(r.aws_account_id_source, r.id == with_id ? "admin" : "") << r.name;
  }
}

TEST_F(StoreTest, VersionTwoRecordsGainAnEmptyAwsAccountId) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_record(admin_, record_spec("billing")).ok());
  }
  {
    // Take it back to version 2, as an older build left it.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(options().database_file.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(
        sqlite3_exec(raw,
                     "DROP TABLE console_sessions; ALTER TABLE users DROP COLUMN disabled; "
                     "DROP TABLE favorites; DROP TABLE group_roles; DROP TABLE identity_users; "
                     "ALTER TABLE records DROP COLUMN aws_account_id_source; "
                     "ALTER TABLE records DROP COLUMN aws_account_id; "
                     "DROP TABLE notifications; ALTER TABLE users DROP COLUMN email; "
                     "ALTER TABLE records DROP COLUMN version; "
                     "DROP TABLE change_generation; PRAGMA user_version = 2;",
                     nullptr, nullptr, nullptr),
        SQLITE_OK)
        << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), latest_schema_version());
  std::vector<policy::Record> records = store->list_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "billing");
  EXPECT_EQ(records[0].aws_account_id, "");
}

TEST_P(EveryBackend, ApprovalWorkflow) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->set_setting(admin_, "proxy.enabled", "true").ok());
  ASSERT_TRUE(store->set_record_type_enabled(admin_, "aws-access-keys", true).ok());
  std::string rid = store->create_record(admin_, record_spec("prod"))->object_id;
  std::string alice = store->create_user(admin_, {"alice", false})->object_id;
  std::string carol = store->create_user(admin_, {"carol", false})->object_id;
  std::string mallory = store->create_user(admin_, {"mallory", false})->object_id;
  std::string approvers = store->create_role(admin_, "approvers", "")->object_id;
  ASSERT_TRUE(store->add_role_member(admin_, approvers, carol).ok());
  ASSERT_TRUE(store->create_grant(admin_, {alice, "", rid, "", policy::kConnect}).ok());
  PolicySpec p;
  p.approval_required = true;
  p.approver_role_id = approvers;
  p.approval_max_duration_s = 7200;
  ASSERT_TRUE(store->set_policy(admin_, rid, p).ok());
  auto tok = store->create_token(admin_, {alice, "t", std::nullopt, {}});
  ASSERT_TRUE(tok.ok());
  const net::IpAddress client = *net::IpAddress::parse("10.0.0.1");
  auto decide = [&] {
    return policy::decide(*store->snapshot(), tok->token.id, "prod", "s3:GetObject", client, now_);
  };
  EXPECT_EQ(decide().deny, DenyKind::kApprovalRequired);

  Actor as_alice{alice, tok->token.id, "10.0.0.1"};
  Actor as_carol{carol, "", "10.0.0.2"};
  Actor as_mallory{mallory, "", "10.0.0.3"};
  RequestSpec too_long{alice, rid, std::nullopt, absl::Hours(3), "deploy"};
  EXPECT_EQ(field_of(store->create_request(as_alice, too_long).status()), "duration_s");
  auto req = store->create_request(as_alice, {alice, rid, std::nullopt, absl::Hours(1), "deploy"});
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_NE(decide().reason.find("waiting for an approver"), std::string::npos);
  EXPECT_TRUE(
      absl::IsPermissionDenied(store->approve_request(as_alice, req->object_id, "").status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(store->approve_request(as_mallory, req->object_id, "").status()));
  auto ok = store->approve_request(as_carol, req->object_id, "go ahead");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_NE(ok->after_json.find("\"state\":\"approved\""), std::string::npos);
  EXPECT_TRUE(decide().allowed) << decide().reason;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      store->deny_request(as_carol, req->object_id, "").status()));  // decided already
  ASSERT_TRUE(store->revoke_request(as_alice, req->object_id).ok());
  EXPECT_EQ(decide().deny, DenyKind::kApprovalRequired);

  // A second request that simply runs out: expired is derived from the clock.
  auto req2 = store->create_request(as_alice, {alice, rid, std::nullopt, absl::Hours(1), "again"});
  ASSERT_TRUE(store->approve_request(as_carol, req2->object_id, "").ok());
  EXPECT_TRUE(decide().allowed);
  now_ += absl::Hours(2);
  EXPECT_EQ(decide().deny, DenyKind::kApprovalRequired);
  EXPECT_EQ(store->get_request(req2->object_id)->effective_state(now_),
            policy::RequestState::kExpired);
  EXPECT_TRUE(
      absl::IsFailedPrecondition(store->revoke_request(as_alice, req2->object_id).status()));
}

// Creating and deciding a request queue their notifications in the same transaction: to the
// approvers with an address (never the requester), to the requester, and one for the webhook;
// each row is claimed once per attempt, retried, and finished.
TEST_P(EveryBackend, NotificationsAreQueuedWithTheRequestAndWorkedOff) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->set_record_type_enabled(admin_, "aws-access-keys", true).ok());
  std::string rid = store->create_record(admin_, record_spec("prod"))->object_id;
  std::string alice = store->create_user(admin_, {"alice", false, "alice@example.test"})->object_id;
  std::string carol = store->create_user(admin_, {"carol", false, "carol@example.test"})->object_id;
  std::string dan = store->create_user(admin_, {"dan", false})->object_id;  // no address
  EXPECT_EQ(field_of(store->create_user(admin_, {"eve", false, "eve at example"}).status()),
            "email");
  EXPECT_EQ(
      field_of(store->update_user(admin_, dan, {.email = "a@b.test\r\nBcc: x@y.test"}).status()),
      "email");
  std::string approvers = store->create_role(admin_, "approvers", "")->object_id;
  for (const std::string& u : {carol, dan, alice}) {
    ASSERT_TRUE(store->add_role_member(admin_, approvers, u).ok());
  }
  PolicySpec p;
  p.approval_required = true;
  p.approver_role_id = approvers;
  ASSERT_TRUE(store->set_policy(admin_, rid, p).ok());
  Actor as_alice{alice, "", "10.0.0.1"};
  Actor as_carol{carol, "", "10.0.0.2"};

  // Nothing is queued while no channel is on.
  auto quiet = store->create_request(as_alice, {alice, rid, std::nullopt, absl::Hours(1), "a"});
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_TRUE(store->list_notifications().empty());

  store->set_notify_channels({.webhook = true, .email = true});
  auto req = store->create_request(as_alice, {alice, rid, std::nullopt, absl::Hours(1), "deploy"});
  ASSERT_TRUE(req.ok()) << req.status();
  auto queued = store->list_notifications(req->object_id);
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0].channel + queued[1].channel, "webhookemail");
  EXPECT_EQ(queued[1].recipient, "carol@example.test");  // not alice, who asked; not dan
  EXPECT_EQ(queued[0].event, "request.created");
  EXPECT_NE(queued[0].facts_json.find("\"requester_name\":\"alice\""), std::string::npos);
  EXPECT_NE(queued[0].facts_json.find("\"record_name\":\"prod\""), std::string::npos);
  EXPECT_EQ(queued[0].facts_json.find(kPlantedSecret), std::string::npos);

  ASSERT_TRUE(store->approve_request(as_carol, req->object_id, "go ahead").ok());
  auto all = store->list_notifications(req->object_id);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].event, "request.decided");
  EXPECT_EQ(all[3].recipient, "alice@example.test");
  EXPECT_NE(all[3].facts_json.find("\"decided_by_name\":\"carol\""), std::string::npos);
  EXPECT_NE(all[3].facts_json.find("\"decision_note\":\"go ahead\""), std::string::npos);

  // A rolled-back change leaves no row: deciding twice fails and queues nothing.
  EXPECT_FALSE(store->deny_request(as_carol, req->object_id, "").ok());
  EXPECT_EQ(store->list_notifications(req->object_id).size(), 4u);

  const int64_t t0 = absl::ToUnixMillis(now_);
  auto due = store->due_notifications(t0, 16);
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(store->next_notification_ms(), t0);
  // One claim per attempt: a second claim of the same read loses.
  ASSERT_TRUE(*store->claim_notification(due[0], t0 + 10000));
  EXPECT_FALSE(*store->claim_notification(due[0], t0 + 10000));
  EXPECT_EQ(store->due_notifications(t0, 16).size(), 3u);
  ASSERT_TRUE(store->notification_failed(due[0].id, "HTTP 500", t0 + 1000, false).ok());
  EXPECT_EQ(store->due_notifications(t0 + 1000, 16).size(), 4u);
  ASSERT_TRUE(store->notification_delivered(due[1].id).ok());
  ASSERT_TRUE(store->notification_failed(due[2].id, "timeout after 1000 ms", t0, true).ok());
  auto rows = store->list_notifications(req->object_id);
  std::map<std::string, Notification> by_id;
  for (auto& n : rows) by_id[n.id] = n;
  EXPECT_EQ(by_id[due[0].id].state, "pending");
  EXPECT_EQ(by_id[due[0].id].attempts, 1);
  EXPECT_EQ(by_id[due[0].id].last_error, "HTTP 500");
  EXPECT_EQ(by_id[due[1].id].state, "delivered");
  EXPECT_EQ(by_id[due[2].id].state, "failed");
  EXPECT_EQ(store->due_notifications(t0 + 1000, 16).size(), 2u);

  // What is pending survives a restart.
  store.reset();
  store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->due_notifications(t0 + 1000, 16).size(), 2u);
  EXPECT_EQ(store->get_user(alice)->email, "alice@example.test");
  ASSERT_TRUE(store->update_user(admin_, alice, {.email = ""}).ok());
  EXPECT_EQ(store->get_user(alice)->email, "");
}

TEST_P(EveryBackend, RevokeAndDeleteTakeEffect) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->set_setting(admin_, "proxy.enabled", "true").ok());
  ASSERT_TRUE(store->set_record_type_enabled(admin_, "aws-access-keys", true).ok());
  std::string rid = store->create_record(admin_, record_spec("prod"))->object_id;
  std::string ops = store->create_role(admin_, "ops", "")->object_id;
  std::string bob = store->create_user(admin_, {"bob", false})->object_id;
  ASSERT_TRUE(store->add_role_member(admin_, ops, bob).ok());
  ASSERT_TRUE(store->create_grant(admin_, {"", ops, "", "prod", policy::kConnect}).ok());
  auto tok = store->create_token(admin_, {bob, "t", std::nullopt, {}});
  const net::IpAddress client = *net::IpAddress::parse("10.0.0.1");
  auto decide = [&](const char* ref) {
    return policy::decide(*store->snapshot(), tok->token.id, ref, "s3:GetObject", client, now_);
  };
  EXPECT_TRUE(decide("tag:prod").allowed);
  ASSERT_TRUE(store->remove_role_member(admin_, ops, bob).ok());
  EXPECT_EQ(decide("tag:prod").deny, DenyKind::kRecordNotFound);
  ASSERT_TRUE(store->add_role_member(admin_, ops, bob).ok());
  EXPECT_TRUE(decide(rid.c_str()).allowed);
  ASSERT_TRUE(store->revoke_token(admin_, tok->token.id).ok());
  EXPECT_EQ(decide("tag:prod").deny, DenyKind::kTokenRevoked);
  EXPECT_TRUE(absl::IsFailedPrecondition(store->revoke_token(admin_, tok->token.id).status()));
  ASSERT_TRUE(store->delete_user(admin_, bob).ok());
  EXPECT_EQ(decide("tag:prod").deny, DenyKind::kTokenUnknown);  // tokens go with the user
  EXPECT_TRUE(store->list_tokens().empty());
}

TEST_P(EveryBackend, ChangeVisibleToWorkersQuickly) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::atomic<bool> stop{false};
  std::atomic<bool> seen{false};
  std::atomic<int64_t> seen_ns{0};
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                t0)
        .count();
  };
  std::thread worker([&] {
    policy::SnapshotReader reader(store->publisher());
    while (!stop.load()) {
      if (reader.get().settings().proxy_enabled && !seen.load()) {
        seen_ns = since();
        seen = true;
      }
    }
  });
  int64_t before_ns = since();
  ASSERT_TRUE(store->set_setting(admin_, "proxy.enabled", "true").ok());
  while (!seen.load() && since() < 10'000'000'000) std::this_thread::yield();
  stop = true;
  worker.join();
  ASSERT_TRUE(seen.load());
  // PostgreSQL is a dozen round trips to another process (on a loaded test machine): within the
  // second a change has to reach every node in.
  const int64_t bound_ns = backend() == StoreBackend::kSqlite ? 100'000'000 : 1'000'000'000;
  EXPECT_LT(seen_ns.load() - before_ns, bound_ns);
}

// Two admins edit one record from the same version: the first wins, the second is refused and
// told the version now; without a version the last write wins.
TEST_P(EveryBackend, StaleRecordVersionIsRefused) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto created = store->create_record(admin_, record_spec("billing"));
  ASSERT_TRUE(created.ok());
  const std::string id = created->object_id;
  EXPECT_EQ(store->get_record(id)->version, 1);
  EXPECT_NE(created->after_json.find("\"version\":1"), std::string::npos) << created->after_json;

  RecordPatch first;
  first.description = "first";
  first.version = 1;
  ASSERT_TRUE(store->update_record(admin_, id, first).ok());
  EXPECT_EQ(store->get_record(id)->version, 2);

  RecordPatch second;
  second.description = "second";
  second.version = 1;
  auto refused = store->update_record(admin_, id, second);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(std::string(refused.status().message()).find("is at version 2"), std::string::npos)
      << refused.status();
  EXPECT_EQ(store->get_record(id)->description, "first");

  RecordPatch blind;
  blind.description = "last";
  ASSERT_TRUE(store->update_record(admin_, id, blind).ok());
  EXPECT_EQ(store->get_record(id)->version, 3);
  EXPECT_EQ(store->snapshot()->record(0).record.version, 3);
}

TEST_P(EveryBackend, TouchTokensRecordsLastUse) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::string u = store->create_user(admin_, {"u", false})->object_id;
  auto tok = store->create_token(admin_, {u, "t", std::nullopt, {}});
  std::vector<std::pair<std::string, absl::Time>> uses = {{tok->token.id, now_},
                                                          {tok->token.id, now_ - absl::Hours(1)}};
  ASSERT_TRUE(store->touch_tokens(uses).ok());
  EXPECT_EQ(store->get_token(tok->token.id)->last_used_at, now_);
}

TEST_P(EveryBackend, ADisabledUserIsRefusedAndEnabledAgainWithHerTokens) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->set_setting(admin_, "proxy.enabled", "true").ok());
  ASSERT_TRUE(store->set_record_type_enabled(admin_, "aws-access-keys", true).ok());
  ASSERT_TRUE(store->create_record(admin_, record_spec("prod")).ok());
  std::string bob = store->create_user(admin_, {"bob", false})->object_id;
  ASSERT_TRUE(store->create_grant(admin_, {bob, "", "", "prod", policy::kConnect}).ok());
  auto tok = store->create_token(admin_, {bob, "t", std::nullopt, {}});
  ASSERT_TRUE(tok.ok());
  const net::IpAddress client = *net::IpAddress::parse("10.0.0.1");
  auto decide = [&] {
    return policy::decide(*store->snapshot(), tok->token.id, "tag:prod", "s3:GetObject", client,
                          now_);
  };
  EXPECT_TRUE(decide().allowed);
  EXPECT_FALSE(store->get_user(bob)->disabled);

  UserPatch disable;
  disable.disabled = true;
  auto change = store->update_user(admin_, bob, disable);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_NE(change->before_json.find("\"disabled\":false"), std::string::npos);
  EXPECT_NE(change->after_json.find("\"disabled\":true"), std::string::npos);
  policy::Decision d = decide();
  EXPECT_EQ(d.deny, DenyKind::kUserDisabled);
  EXPECT_EQ(d.reason,
            "user bob is disabled; an admin enables the user again with pamctl users enable bob");
  // Her token is kept as it was, and the state survives a restart.
  EXPECT_FALSE(store->get_token(tok->token.id)->revoked_at.has_value());
  store.reset();
  store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->get_user(bob)->disabled);
  EXPECT_EQ(decide().deny, DenyKind::kUserDisabled);

  // Nobody disables herself (an admin would lock herself out).
  const Actor as_bob{bob, "bob", "test"};
  EXPECT_EQ(store->update_user(as_bob, bob, disable).status().code(),
            absl::StatusCode::kFailedPrecondition);

  UserPatch enable;
  enable.disabled = false;
  ASSERT_TRUE(store->update_user(admin_, bob, enable).ok());
  EXPECT_TRUE(decide().allowed);
}

TEST_P(EveryBackend, ADisabledUserCannotSignInThroughTheProvider) {
  auto store = open_store();
  ASSERT_TRUE(store);
  const IdentitySignIn who{.subject = "sub-1", .email = "ana@example.com", .name = "ana"};
  auto first = store->sign_in_identity(admin_, who);
  ASSERT_TRUE(first.ok()) << first.status();
  UserPatch disable;
  disable.disabled = true;
  ASSERT_TRUE(store->update_user(admin_, first->object_id, disable).ok());
  auto refused = store->sign_in_identity(admin_, who);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "user ana is disabled");
  UserPatch enable;
  enable.disabled = false;
  ASSERT_TRUE(store->update_user(admin_, first->object_id, enable).ok());
  EXPECT_TRUE(store->sign_in_identity(admin_, who).ok());
}

TEST_P(EveryBackend, ConsoleSessionsAreKeptBoundedPurgedAndEndedWithTheirUser) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::string ana = store->create_user(admin_, {"ana", false})->object_id;
  std::string bo = store->create_user(admin_, {"bo", false})->object_id;
  const ConsoleSessionLimits limits{absl::Minutes(30), absl::Hours(12), 3};
  const uint64_t generation = store->snapshot()->generation();
  auto row = [&](std::string digest, const std::string& user, absl::Time at) {
    return ConsoleSessionRow{.id_sha256 = std::move(digest),
                             .user_id = user,
                             .token_id = "PAMTOKEN",
                             .token_check = "check",
                             .created_at = at,
                             .last_used_at = at};
  };
  ASSERT_TRUE(store->create_console_session(row("d1", ana, now_), limits).ok());
  ASSERT_TRUE(store->create_console_session(row("d2", ana, now_), limits).ok());
  ASSERT_TRUE(store->create_console_session(row("d3", bo, now_), limits).ok());
  // A preference of nobody's policy: no new snapshot.
  EXPECT_EQ(store->snapshot()->generation(), generation);
  // Full of live sessions: refused, nobody's ended to make room.
  EXPECT_EQ(store->create_console_session(row("d4", bo, now_ + absl::Minutes(1)), limits).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store->count_console_sessions(), 3u);

  // Found and touched; the row survives the store's restart.
  auto found = store->use_console_session("d1", now_ + absl::Minutes(20), limits);
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->user_id, ana);
  EXPECT_EQ((*found)->token_id, "PAMTOKEN");
  EXPECT_EQ((*found)->token_check, "check");
  EXPECT_EQ((*found)->last_used_at, now_ + absl::Minutes(20));
  store.reset();
  store = open_store();
  ASSERT_TRUE(store);
  found = store->use_console_session("d1", now_ + absl::Minutes(40), limits);
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_FALSE(store->use_console_session("nope", now_, limits)->has_value());

  // Idle past its timeout (d2, d3 unused since now_): gone when looked up, and purged when
  // room is needed.
  EXPECT_FALSE(store->use_console_session("d2", now_ + absl::Minutes(45), limits)->has_value());
  EXPECT_EQ(store->count_console_sessions(), 2u);
  ASSERT_TRUE(store->create_console_session(row("d4", bo, now_ + absl::Minutes(45)), limits).ok());
  EXPECT_EQ(store->count_console_sessions(), 2u);  // d1 and d4: d3 was purged
  // However busy, the absolute timeout ends it.
  for (absl::Duration t = absl::Minutes(60); t < absl::Hours(12); t += absl::Minutes(20)) {
    ASSERT_TRUE(store->use_console_session("d1", now_ + t, limits)->has_value());
  }
  EXPECT_FALSE(store->use_console_session("d1", now_ + absl::Hours(12), limits)->has_value());

  // Ended, and a user's go when she is disabled or deleted.
  ASSERT_TRUE(store->create_console_session(row("d5", ana, now_ + absl::Hours(1)), limits).ok());
  ASSERT_TRUE(store->create_console_session(row("d6", ana, now_ + absl::Hours(1)), limits).ok());
  ASSERT_TRUE(store->end_console_session("d5").ok());
  EXPECT_FALSE(store->use_console_session("d5", now_ + absl::Hours(1), limits)->has_value());
  UserPatch disable;
  disable.disabled = true;
  ASSERT_TRUE(store->update_user(admin_, ana, disable).ok());
  EXPECT_FALSE(store->use_console_session("d6", now_ + absl::Hours(1), limits)->has_value());
  EXPECT_TRUE(store->use_console_session("d4", now_ + absl::Hours(1), limits)->has_value());
  ASSERT_TRUE(store->delete_user(admin_, bo).ok());
  EXPECT_EQ(store->count_console_sessions(), 0u);
}

TEST_P(EveryBackend, FavoritesAreEachUsersOwn) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::string ana = store->create_user(admin_, {"ana", false})->object_id;
  std::string bo = store->create_user(admin_, {"bo", false})->object_id;
  std::string billing = store->create_record(admin_, record_spec("billing"))->object_id;
  std::string logs = store->create_record(admin_, record_spec("logs"))->object_id;
  const uint64_t generation = store->snapshot()->generation();

  ASSERT_TRUE(store->set_favorite(ana, logs, true).ok());
  ASSERT_TRUE(store->set_favorite(ana, billing, true).ok());
  ASSERT_TRUE(store->set_favorite(ana, billing, true).ok());  // twice: no change
  ASSERT_TRUE(store->set_favorite(bo, logs, true).ok());
  std::vector<std::string> both = {billing, logs};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(store->list_favorites(ana), both);
  EXPECT_EQ(store->list_favorites(bo), std::vector<std::string>{logs});
  // A preference, not a policy change: no new snapshot.
  EXPECT_EQ(store->snapshot()->generation(), generation);

  ASSERT_TRUE(store->set_favorite(ana, logs, false).ok());
  ASSERT_TRUE(store->set_favorite(ana, logs, false).ok());  // not starred: no change
  EXPECT_EQ(store->list_favorites(ana), std::vector<std::string>{billing});
  EXPECT_EQ(store->set_favorite(ana, "no-such-record", true).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->set_favorite("no-such-user", logs, true).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->set_favorite(ana, "", true).code(), absl::StatusCode::kNotFound);

  // A deleted record or user takes its stars with it; the rest survive a restart.
  ASSERT_TRUE(store->delete_record(admin_, billing).ok());
  EXPECT_TRUE(store->list_favorites(ana).empty());
  ASSERT_TRUE(store->delete_user(admin_, bo).ok());
  EXPECT_TRUE(store->list_favorites(bo).empty());
  ASSERT_TRUE(store->set_favorite(ana, logs, true).ok());
  store.reset();
  store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->list_favorites(ana), std::vector<std::string>{logs});
}

// What only PostgreSQL has: a shared database that other nodes open, and a server that may be
// away.
class OnPostgresql : public StoreTest {
 protected:
  StoreBackend backend() const override { return StoreBackend::kPostgresql; }
};

TEST_F(OnPostgresql, SecretsAreEncryptedAtRest) {
  std::string token_secret;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_record(admin_, record_spec("billing")).ok());
    auto user = store->create_user(admin_, {"alice", false});
    auto tok = store->create_token(admin_, {user->object_id, "t", std::nullopt, {}});
    ASSERT_TRUE(tok.ok());
    token_secret = tok->secret;
  }
  // 'escape' prints a bytea's printable bytes as they are, so plaintext would show.
  std::string rows =
      postgresql().query(database(),
                         "SELECT description || encode(secret_access_key, 'escape') || "
                         "coalesce(encode(session_token, 'escape'), '') FROM records UNION ALL "
                         "SELECT encode(secret, 'escape') FROM tokens");
  ASSERT_NE(rows.find("billing account"), std::string::npos);  // the search itself works
  EXPECT_EQ(rows.find("PLANTEDsecretKEY"), std::string::npos);
  EXPECT_EQ(rows.find("PLANTEDsessionTOKEN"), std::string::npos);
  EXPECT_EQ(rows.find(token_secret), std::string::npos);
}

TEST_F(OnPostgresql, NewerSchemaRefusesAndChangesNothing) {
  { ASSERT_TRUE(open_store()); }
  ASSERT_EQ(postgresql().exec(database(), "UPDATE pamproxy_schema SET version = " +
                                              std::to_string(latest_schema_version() + 1)),
            "");
  std::string before = state_of(options());
  auto s = Store::open(options());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.status().message()).find("newer than this pamproxy knows"),
            std::string::npos)
      << s.status();
  EXPECT_EQ(state_of(options()), before);
}

// Two nodes on one database: the second brings the first's master key, or it may not start.
TEST_F(OnPostgresql, SecondNodeNeedsTheSameMasterKey) {
  auto first = open_store();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->create_record(admin_, record_spec("billing")).ok());

  TempDir other;
  StoreOptions o = options();
  o.master_key_file = other.file("master.key");
  auto s = Store::open(o);  // no key there: the database is not new, so none is made
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("is missing"), std::string::npos) << s.status();
  testing::write_file(o.master_key_file, std::string(64, 'b') + "\n");
  ASSERT_EQ(chmod(o.master_key_file.c_str(), 0600), 0);
  s = Store::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("does not open database"), std::string::npos)
      << s.status();
  EXPECT_EQ(std::string(s.status().message()).find("password"), std::string::npos);

  testing::write_file(o.master_key_file, read_file(options().master_key_file));
  s = Store::open(o);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<policy::Record> records = (*s)->list_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].secret_access_key.reveal(), kPlantedSecret);
}

// Waits up to `deadline` for `done`; the time it took, or nullopt.
template <typename F>
std::optional<std::chrono::milliseconds> wait_until(F done, std::chrono::milliseconds deadline) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < deadline) {
    if (done()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

// Two nodes on one database: a change made on one is in force on the other within a second.
TEST_F(OnPostgresql, ChangeReachesTheOtherNodeWithinASecond) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a && b);
  a->follow_changes();
  b->follow_changes();
  ASSERT_FALSE(b->snapshot()->settings().proxy_enabled);
  ASSERT_TRUE(a->set_setting(admin_, "proxy.enabled", "true").ok());
  auto took =
      wait_until([&] { return b->snapshot()->settings().proxy_enabled; }, std::chrono::seconds(1));
  ASSERT_TRUE(took.has_value()) << "node b still runs the old snapshot after 1 s";

  // And back the other way, with a record that node a then sees.
  ASSERT_TRUE(b->create_record(admin_, record_spec("billing")).ok());
  took = wait_until([&] { return a->snapshot()->records().size() == 1; }, std::chrono::seconds(1));
  ASSERT_TRUE(took.has_value());
  EXPECT_EQ(a->snapshot()->record(0).record.secret_access_key.reveal(), kPlantedSecret);
}

// A notification lost (here: a change written without one) is caught by the periodic check.
TEST_F(OnPostgresql, PeriodicCheckCatchesAMissedNotification) {
  auto b = open_store();
  ASSERT_TRUE(b);
  b->follow_changes(/*check_interval_ms=*/200);
  ASSERT_EQ(postgresql().exec(database(),
                              "UPDATE settings SET value = 'true' WHERE key = 'proxy.enabled'; "
                              "UPDATE change_generation SET value = value + 1"),
            "");
  auto took =
      wait_until([&] { return b->snapshot()->settings().proxy_enabled; }, std::chrono::seconds(2));
  EXPECT_TRUE(took.has_value());
}

// The database away: the node keeps its snapshot, refuses changes naming the database, and
// resumes by itself when the database is back.
TEST_F(OnPostgresql, FailsStaticWhileTheDatabaseIsAway) {
  auto b = open_store();
  ASSERT_TRUE(b);
  b->follow_changes();
  ASSERT_TRUE(b->set_setting(admin_, "proxy.enabled", "true").ok());
  EXPECT_TRUE(b->reachable());
  EXPECT_NE(b->render_prometheus().find("pamproxy_store_reachable 1\n"), std::string::npos);

  // No new connection to this database, and the open ones cut: to this node the server is gone.
  ASSERT_EQ(postgresql().exec("postgres", "ALTER DATABASE " + database() +
                                              " ALLOW_CONNECTIONS false; SELECT "
                                              "pg_terminate_backend(pid) FROM pg_stat_activity "
                                              "WHERE datname = '" +
                                              database() + "'"),
            "");
  ASSERT_TRUE(wait_until([&] { return !b->reachable(); }, std::chrono::seconds(2)).has_value());
  EXPECT_TRUE(b->snapshot()->settings().proxy_enabled);  // the last snapshot stays in force
  auto refused = b->set_setting(admin_, "proxy.enabled", "false");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(refused.status().message()).find("database PostgreSQL ("),
            std::string::npos)
      << refused.status();
  EXPECT_NE(b->render_prometheus().find("pamproxy_store_reachable 0\n"), std::string::npos);

  ASSERT_EQ(
      postgresql().exec("postgres", "ALTER DATABASE " + database() + " ALLOW_CONNECTIONS true"),
      "");
  ASSERT_TRUE(wait_until([&] { return b->reachable(); }, std::chrono::seconds(5)).has_value());
  ASSERT_TRUE(b->set_setting(admin_, "proxy.enabled", "false").ok());
  EXPECT_FALSE(b->snapshot()->settings().proxy_enabled);
}

TEST_F(OnPostgresql, UnansweredStatementIsGivenUpAndStopsChangesAtOnce) {
  StoreOptions o = options();
  o.busy_timeout_ms = 200;
  o.connect_timeout_ms = 500;
  auto opened = Store::open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  ASSERT_TRUE(store.create_user(admin_, {"before", false}).ok());

  postgresql().signal_all(SIGSTOP);
  const auto paused = std::chrono::steady_clock::now();
  auto during = store.create_user(admin_, {"during", false});
  const auto took = std::chrono::steady_clock::now() - paused;
  // Known away now: refused without a statement.
  const auto t1 = std::chrono::steady_clock::now();
  auto refused = store.create_user(admin_, {"refused", false});
  const auto took_refused = std::chrono::steady_clock::now() - t1;
  const bool reachable_while_paused = store.reachable();
  postgresql().signal_all(SIGCONT);

  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable) << during.status();
  EXPECT_NE(during.status().message().find("PostgreSQL did not answer within 700 ms"),
            std::string_view::npos)
      << during.status();
  // busy_timeout_ms + connect_timeout_ms, and some room for a slow machine.
  EXPECT_GE(took, std::chrono::milliseconds(700));
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  EXPECT_FALSE(reachable_while_paused);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("is unreachable"), std::string_view::npos);
  EXPECT_LT(took_refused, std::chrono::milliseconds(100));

  // The listener's first check that answers brings the node back; changes go on.
  store.follow_changes(100);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!store.reachable() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(store.reachable());
  auto after = store.create_user(admin_, {"after", false});
  ASSERT_TRUE(after.ok()) << after.status();
  std::vector<std::string> names;
  for (const policy::User& u : store.list_users()) names.push_back(u.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "before"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "after"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "refused"), names.end());
}

TEST_F(OnPostgresql, UnreachableServerIsNamed) {
  StoreOptions o = options();
  o.postgresql_url = "host=127.0.0.1 port=1 user=pamproxy password=hunter2 dbname=x";
  o.connect_timeout_ms = 1000;
  auto s = Store::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  std::string m(s.status().message());
  EXPECT_NE(m.find("cannot connect to PostgreSQL ("), std::string::npos) << m;
  EXPECT_NE(m.find("host=127.0.0.1 port=1)"), std::string::npos) << m;
  EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
}

TEST_P(EveryBackend, IdentitySignInCreatesTheUserOnceAndAppliesGroupRoles) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto ops = store->create_role(admin_, "ops", "");
  auto dev = store->create_role(admin_, "dev", "");
  auto manual = store->create_role(admin_, "manual", "");
  ASSERT_TRUE(ops.ok() && dev.ok() && manual.ok());
  ASSERT_TRUE(store->map_group(admin_, "okta-ops", ops->object_id).ok());
  ASSERT_TRUE(store->map_group(admin_, "okta-dev", dev->object_id).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store->map_group(admin_, "okta-dev", dev->object_id).status()));
  EXPECT_TRUE(absl::IsNotFound(store->map_group(admin_, "okta-x", "r-none").status()));
  ASSERT_EQ(store->list_group_roles().size(), 2u);
  // A local user already has the name the provider gives.
  ASSERT_TRUE(store->create_user(admin_, {"Ada L", false}).ok());

  IdentitySignIn ada{.subject = "00u1", .email = "ada@example.com", .name = "Ada L",
                     .groups = {"okta-ops", "okta-dev", "unmapped"}};
  auto first = store->sign_in_identity(admin_, ada);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string user_id = first->object_id;
  auto user = store->get_user(user_id);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->name, "Ada L (00u1)");
  EXPECT_FALSE(user->admin);
  auto member = [&](const std::string& role_id) {
    auto role = store->get_role(role_id);
    return role.ok() && std::binary_search(role->member_user_ids.begin(),
                                           role->member_user_ids.end(), user_id);
  };
  EXPECT_TRUE(member(ops->object_id));
  EXPECT_TRUE(member(dev->object_id));
  ASSERT_TRUE(store->add_role_member(admin_, manual->object_id, user_id).ok());

  // Removed from a group at the provider: the next sign-in is the same user without that role;
  // a role no group maps to stays as the admin set it.
  ada.groups = {"okta-dev"};
  auto second = store->sign_in_identity(admin_, ada);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->object_id, user_id);
  EXPECT_FALSE(member(ops->object_id));
  EXPECT_TRUE(member(dev->object_id));
  EXPECT_TRUE(member(manual->object_id));
  EXPECT_EQ(store->list_users().size(), 2u);

  ASSERT_TRUE(store->unmap_group(admin_, "okta-dev", dev->object_id).ok());
  EXPECT_TRUE(absl::IsNotFound(store->unmap_group(admin_, "okta-dev", dev->object_id).status()));
  EXPECT_TRUE(store->sign_in_identity(admin_, ada).ok());
  EXPECT_TRUE(member(dev->object_id));  // no longer mapped: left as it was
  EXPECT_FALSE(store->sign_in_identity(admin_, IdentitySignIn{}).ok());
}

TEST_P(EveryBackend, CliLoginRefreshRotatesTheTokenAndTheRefreshSecret) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto ada = store->sign_in_identity(admin_, {.subject = "00u1", .name = "Ada"});
  ASSERT_TRUE(ada.ok()) << ada.status();
  const CliLoginSpec spec{.user_id = ada->object_id,
                          .subject = "00u1",
                          .token_lifetime = absl::Hours(8),
                          .provider_refresh_token = "provider-refresh-1"};
  auto login = store->create_cli_login(admin_, spec);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->token.change.action, "token.sign_in");
  EXPECT_EQ(login->token.token.user_id, ada->object_id);
  EXPECT_LT(login->token.token.expires_at, absl::InfiniteFuture());
  EXPECT_FALSE(login->refresh_secret.empty());
  EXPECT_EQ(login->token.change.after_json.find(login->token.secret), std::string::npos);

  auto row = store->find_cli_login(login->refresh_secret);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->id, login->id);
  EXPECT_EQ(row->token_id, login->token.token.id);
  EXPECT_EQ(row->subject, "00u1");
  EXPECT_EQ(row->provider_refresh_token, "provider-refresh-1");
  EXPECT_TRUE(absl::IsNotFound(store->find_cli_login("not-a-refresh-secret").status()));

  CliLoginSpec next_spec = spec;
  next_spec.provider_refresh_token = "provider-refresh-2";
  auto next = store->refresh_cli_login(admin_, row->id, next_spec);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->token.change.action, "token.refresh");
  EXPECT_NE(next->token.token.id, login->token.token.id);
  EXPECT_TRUE(
      store->get_token(login->token.token.id)->revoked_at.has_value());  // the old one stops
  // The old refresh secret works once.
  EXPECT_TRUE(absl::IsNotFound(store->find_cli_login(login->refresh_secret).status()));
  auto again = store->find_cli_login(next->refresh_secret);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->provider_refresh_token, "provider-refresh-2");
  EXPECT_EQ(again->token_id, next->token.token.id);

  auto ended = store->end_cli_login(admin_, again->id, "token.refresh_refused");
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->object_id, next->token.token.id);
  EXPECT_TRUE(store->get_token(next->token.token.id)->revoked_at.has_value());
  EXPECT_TRUE(absl::IsNotFound(store->find_cli_login(next->refresh_secret).status()));
  CliLoginSpec no_refresh = spec;
  no_refresh.provider_refresh_token.clear();
  EXPECT_EQ(field_of(store->create_cli_login(admin_, no_refresh).status()),
            "provider_refresh_token");
}

}  // namespace
}  // namespace pamproxy::store
