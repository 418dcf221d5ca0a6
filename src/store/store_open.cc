// Opening the store (checks before any write), the snapshot rebuild, and the change path.

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdint>
#include <optional>

#include "absl/strings/cord.h"
#include "absl/time/time.h"
#include "pamproxy/base/log.h"
#include "pamproxy/store/store.h"
#include "src/store/migrations.h"
#include "src/store/postgresql.h"
#include "src/store/store_impl.h"

namespace pamproxy::store {

using policy::cat;
using policy::sv;

namespace {

constexpr std::string_view kFieldPayload = "pamproxy.dev/field";
constexpr std::string_view kCanaryPlaintext = "pamproxy master key canary v1";
constexpr std::string_view kCanaryAad = "canary:1";

bool file_has_content(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

absl::Status with_context(const absl::Status& s, std::string_view context) {
  return absl::Status(s.code(), cat(context, ": ", sv(s.message())));
}

// Below this many free bytes on its file system, a database that cannot be read is taken to be
// starved of space, not damaged: SQLite must create its -wal and -shm files (a 32 KiB index and
// more) before it reads anything in WAL mode.
constexpr uint64_t kRoomNeededBytes = uint64_t{1} << 20;

// Bytes this process may still write on the file system holding `path` (nullopt: unknown).
std::optional<uint64_t> bytes_available(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs st;
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

absl::Status check_version(sql::Db& db, const std::string& path, int64_t* version);

// The checks on an existing file that must pass before anything is written to it.
absl::Status check_existing(sql::Db& db, const std::string& path, int64_t* version) {
  absl::StatusOr<sql::Stmt> qc = db.prepare("PRAGMA quick_check");
  absl::StatusOr<bool> row = qc.ok() ? qc->step() : absl::StatusOr<bool>(qc.status());
  if (!row.ok() || !*row || qc->text(0) != "ok") {
    std::string detail = !row.ok() ? std::string(sv(row.status().message()))
                                   : (*row ? qc->text(0) : std::string("no answer"));
    // A full disk makes SQLite fail with an I/O error before it has read a page: advising to
    // restore or move away a database that is intact would lose data for nothing.
    std::optional<uint64_t> room = bytes_available(path);
    if (!row.ok() && room.has_value() && *room < kRoomNeededBytes) {
      return absl::ResourceExhaustedError(
          cat("database ", path, " cannot be opened: its file system is full (", *room,
              " bytes free for this user; ", detail,
              "); free space there and start again (the database was not changed)"));
    }
    return absl::DataLossError(cat("database ", path, " is corrupt or not a pamproxy database (",
                                   detail, "); restore it from a backup or move it away"));
  }
  return check_version(db, path, version);
}

// The PostgreSQL server keeps its own pages sound; what is left to check is that it answers with
// a schema this build knows.
absl::Status check_version(sql::Db& db, const std::string& path, int64_t* version) {
  absl::StatusOr<int64_t> v = db.connection().schema_version();
  if (!v.ok()) return with_context(v.status(), cat("database ", path));
  if (*v > latest_schema_version()) {
    return absl::FailedPreconditionError(
        cat("database ", path, " has schema version ", *v, ", newer than this pamproxy knows (",
            latest_schema_version(), "); run the pamproxy release that wrote it, or a later one"));
  }
  *version = *v;
  return absl::OkStatus();
}

absl::Status check_canary(sql::Db& db, const MasterKey& key, const std::string& db_path,
                          const std::string& key_path) {
  absl::StatusOr<sql::Stmt> st = db.prepare("SELECT sealed FROM canary WHERE id = 1");
  if (!st.ok()) return st.status();
  absl::StatusOr<bool> row = st->step();
  if (!row.ok()) return row.status();
  absl::Status wrong = absl::FailedPreconditionError(
      cat("master key ", key_path, " does not open database ", db_path,
          " (wrong key?); restore the key the database was created with"));
  if (!*row) return wrong;
  absl::StatusOr<policy::Secret> plain = key.open(st->blob(0), kCanaryAad);
  if (!plain.ok() || plain->reveal() != kCanaryPlaintext) return wrong;
  return absl::OkStatus();
}

}  // namespace

absl::Status invalid_field(std::string_view field, std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(cat("field '", field, "': ", message));
  s.SetPayload(policy::av(kFieldPayload), absl::Cord(policy::av(field)));
  return s;
}

std::string field_of(const absl::Status& status) {
  absl::optional<absl::Cord> f = status.GetPayload(policy::av(kFieldPayload));
  return f ? std::string(*f) : std::string();
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() {
  // The listener's thread calls into impl_: it goes first.
  impl_->listener.reset();
}

absl::StatusOr<std::unique_ptr<Store>> Store::open(StoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const bool postgresql = impl->options.backend == StoreBackend::kPostgresql;
  // What messages call the database: its file, or the server without the password.
  const std::string db_path =
      postgresql ? cat("PostgreSQL (", sql::describe_conninfo(impl->options.postgresql_url), ")")
                 : impl->options.database_file;
  const std::string& key_path = impl->options.master_key_file;
  impl->database_name = db_path;

  int64_t version = 0;
  if (postgresql) {
    absl::StatusOr<sql::Db> db =
        sql::Db::open_postgresql(impl->options.postgresql_url, impl->options.connect_timeout_ms);
    if (!db.ok()) return db.status();
    impl->db = std::move(*db);
    if (absl::Status s = check_version(impl->db, db_path, &version); !s.ok()) return s;
  } else if (file_has_content(db_path)) {
    absl::StatusOr<sql::Db> db = sql::Db::open(db_path, SQLITE_OPEN_READWRITE);
    if (!db.ok()) return db.status();
    impl->db = std::move(*db);
    if (absl::Status s = check_existing(impl->db, db_path, &version); !s.ok()) return s;
  }
  absl::StatusOr<MasterKey> key = MasterKey::load(key_path);
  if (!key.ok() && absl::IsNotFound(key.status()) && version == 0) {
    // Only a brand-new database may get a brand-new key.
    key = MasterKey::create(key_path);
  }
  if (!key.ok()) {
    if (version > 0 && absl::IsNotFound(key.status())) {
      return absl::FailedPreconditionError(
          cat("master key file ", key_path, " is missing; database ", db_path,
              " can only be opened with the key it was created with"));
    }
    return key.status();
  }
  impl->key = std::move(*key);
  if (version > 0) {
    if (absl::Status s = check_canary(impl->db, *impl->key, db_path, key_path); !s.ok()) return s;
  }
  if (!impl->db.is_open()) {
    absl::StatusOr<sql::Db> db = sql::Db::open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db.ok()) return db.status();
    impl->db = std::move(*db);
  }

  // Every check passed: from here on the database may change.
  impl->db.connection().set_busy_timeout_ms(impl->options.busy_timeout_ms);
  // A statement left unanswered stops changes at once, without waiting for the listener to
  // notice (the Impl outlives its connection).
  Impl* raw = impl.get();
  impl->db.connection().set_unreachable_handler(
      [raw](const std::string& error) { raw->set_reachable(false, error); });
  if (!postgresql) {
    for (std::string_view pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                                    "PRAGMA foreign_keys = ON", "PRAGMA secure_delete = ON"}) {
      if (absl::Status s = impl->db.exec(pragma); !s.ok()) return with_context(s, pragma);
    }
  }
  if (absl::Status s = migrate(impl->db, migrations()); !s.ok()) return s;
  if (version == 0) {
    absl::StatusOr<sql::Stmt> st = impl->db.prepare(
        "INSERT INTO canary (id, sealed) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING");
    if (!st.ok()) return st.status();
    st->bind_blob(1, impl->key->seal(kCanaryPlaintext, kCanaryAad));
    if (absl::Status s = st->run(); !s.ok()) return s;
    // Another node may have created the shared database first, under its own key.
    if (absl::Status s = check_canary(impl->db, *impl->key, db_path, key_path); !s.ok()) return s;
  }
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (absl::Status s = impl->rebuild_and_publish(); !s.ok()) {
      return with_context(s, "cannot read the store");
    }
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

int64_t Store::schema_version() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  absl::StatusOr<int64_t> v = impl_->db.connection().schema_version();
  return v.ok() ? *v : -1;
}

const policy::SnapshotPublisher& Store::publisher() const {
  return *impl_->publisher;
}
std::shared_ptr<const policy::Snapshot> Store::snapshot() const {
  return impl_->publisher->current();
}

void Store::set_busy_timeout_ms(int64_t ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->db.connection().set_busy_timeout_ms(ms);
}

void Store::follow_changes(int64_t check_interval_ms) {
  if (impl_->options.backend != StoreBackend::kPostgresql || impl_->listener != nullptr) return;
  Impl* impl = impl_.get();
  impl_->listener = std::make_unique<ChangeListener>(ChangeListenerOptions{
      .conninfo = impl_->options.postgresql_url,
      .connect_timeout_ms = impl_->options.connect_timeout_ms,
      .check_interval_ms = check_interval_ms,
      .check = [impl] { return impl->follow_generation(); },
      .reachability = [impl](bool reachable,
                             const std::string& error) { impl->set_reachable(reachable, error); },
  });
  impl_->listener->start();
}

void Store::Impl::set_reachable(bool now_reachable, const std::string& error) {
  if (reachable.exchange(now_reachable) == now_reachable) return;
  if (now_reachable) {
    log::info("store.reachable").kv("database", database_name);
  } else {
    log::warn("store.unreachable")
        .kv("database", database_name)
        .kv("error", error)
        .kv("detail", "serving from the last snapshot; changes are refused");
  }
}

bool Store::reachable() const {
  return impl_->reachable.load();
}

const std::string& Store::database_name() const {
  return impl_->database_name;
}

std::string Store::render_prometheus() const {
  return cat(
      "# HELP pamproxy_store_reachable 1 while the store's database answers, 0 while this node "
      "serves from its last snapshot without it\n"
      "# TYPE pamproxy_store_reachable gauge\n"
      "pamproxy_store_reachable ",
      reachable() ? 1 : 0, "\n");
}

void Store::set_change_sink(ChangeSink* sink) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->sink = sink;
}

absl::Status Store::Impl::rebuild_and_publish() {
  if (db.dialect() != sql::Dialect::kPostgresql) return load_and_publish();
  // One snapshot of the database for every loader, and the generation read before the rows: a
  // change committed meanwhile is then in the rows or after the generation, never lost.
  if (absl::Status s = db.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s.ok()) {
    return s;
  }
  absl::StatusOr<int64_t> g = db.query_int("SELECT value FROM change_generation WHERE id = 1");
  absl::Status s = g.ok() ? load_and_publish() : g.status();
  absl::Status end = db.exec(s.ok() ? "COMMIT" : "ROLLBACK");
  if (s.ok()) database_generation = *g;
  return s.ok() ? end : s;
}

bool Store::Impl::follow_generation() {
  std::lock_guard<std::mutex> lock(mu);
  constexpr std::string_view kQuery = "SELECT value FROM change_generation WHERE id = 1";
  absl::StatusOr<int64_t> g = db.query_int(kQuery);
  // The first statement after the server came back may be the one that finds the old connection
  // gone; the next one reconnects. A read, so asking again is harmless.
  if (absl::IsUnavailable(g.status())) g = db.query_int(kQuery);
  absl::Status s = g.ok() ? absl::OkStatus() : g.status();
  if (s.ok() && *g != database_generation) {
    s = rebuild_and_publish();
    if (s.ok()) {
      log::info("store.followed")
          .kv("database_generation", database_generation)
          .kv("generation", static_cast<int64_t>(generation));
    }
  }
  if (!s.ok()) {
    log::warn("store.follow_failed").kv("database", database_name).kv("error", sv(s.message()));
  }
  return s.ok() || !absl::IsUnavailable(s);
}

absl::Status Store::Impl::load_and_publish() {
  policy::SnapshotData data;
  absl::StatusOr<policy::Settings> settings = load_settings();
  if (!settings.ok()) return settings.status();
  data.settings = *settings;
#define PAMPROXY_LOAD(field, call)        \
  {                                       \
    auto rows = call;                     \
    if (!rows.ok()) return rows.status(); \
    data.field = std::move(*rows);        \
  }
  PAMPROXY_LOAD(record_types, load_record_types());
  PAMPROXY_LOAD(users, load_users());
  PAMPROXY_LOAD(roles, load_roles());
  PAMPROXY_LOAD(records, load_records());
  PAMPROXY_LOAD(tokens, load_tokens({}, {}, /*with_secrets=*/true));
  PAMPROXY_LOAD(grants, load_grants());
  PAMPROXY_LOAD(policies, load_policies());
  PAMPROXY_LOAD(requests, load_requests());
#undef PAMPROXY_LOAD
  for (const policy::AccessPolicy& p : data.policies) {
    absl::TimeZone tz;
    // Loaded here, on the control thread: the decision itself never reads zoneinfo files.
    if (absl::LoadTimeZone(policy::av(p.time_zone), &tz)) data.time_zones[p.time_zone] = tz;
  }
  std::shared_ptr<const policy::Snapshot> snap =
      policy::Snapshot::build(std::move(data), generation + 1);
  ++generation;
  if (publisher == nullptr) {
    publisher = std::make_unique<policy::SnapshotPublisher>(std::move(snap));
  } else {
    publisher->publish(std::move(snap));
  }
  return absl::OkStatus();
}

absl::StatusOr<AdminChange> Store::Impl::change(
    const Actor& actor, std::string_view action, std::string_view object_type,
    const std::function<absl::Status(AdminChange&)>& body) {
  std::lock_guard<std::mutex> lock(mu);
  if (!reachable.load()) {
    // Known to be away: fail at once rather than wait for a connect to time out.
    return absl::UnavailableError(cat("database ", database_name,
                                      " is unreachable: this node serves from its last snapshot "
                                      "and takes no change until the database is back"));
  }
  AdminChange c;
  c.actor = actor;
  c.action = std::string(action);
  c.object_type = std::string(object_type);
  c.at = now();
  absl::Status s = sql::transaction(db, [&] {
    absl::Status b = body(c);
    if (b.ok()) b = sql::run(db, "UPDATE change_generation SET value = value + 1 WHERE id = 1");
    // Delivered to every listening node when the transaction commits, never before.
    if (b.ok() && db.dialect() == sql::Dialect::kPostgresql) {
      b = sql::run(db,
                   "SELECT pg_notify(?1, CAST(value AS TEXT)) FROM change_generation WHERE id = 1",
                   kChangeChannel);
    }
    return b;
  });
  if (absl::IsUnavailable(s)) return with_context(s, cat("database ", database_name));
  if (!s.ok()) return s;
  if (absl::Status r = rebuild_and_publish(); !r.ok()) {
    // Committed but not published: the old snapshot stays in force, which is safe but stale.
    return with_context(r, "change saved but not yet in force");
  }
  c.generation = generation;
  if (sink != nullptr) sink->on_admin_change(c);
  return c;
}

}  // namespace pamproxy::store
