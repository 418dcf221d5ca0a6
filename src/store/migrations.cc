#include "src/store/migrations.h"

#include <cctype>

#include "pamproxy/policy/strings.h"

namespace pamproxy::store {
namespace {

// Times are Unix seconds (INTEGER); secrets are sealed BLOBs (crypto.h), bound to their row.
// Lists that the policy parsers own (windows, networks, command rules) are stored as their
// canonical text, one entry per line, and parsed again when a snapshot is built.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE canary (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed BLOB NOT NULL
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('proxy.enabled', 'false');
CREATE TABLE record_types (
  name TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL
);
INSERT INTO record_types (name, enabled) VALUES ('aws-access-keys', 0);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE roles (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE role_members (
  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (role_id, user_id)
);
CREATE TABLE records (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL REFERENCES record_types(name),
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  reference_record TEXT NOT NULL,
  access_key_id TEXT NOT NULL,
  secret_access_key BLOB NOT NULL,
  session_token BLOB,
  default_region TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE record_tags (
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (record_id, tag)
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  allowed_networks TEXT NOT NULL,
  revoked_at INTEGER,
  last_used_at INTEGER
);
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  role_id TEXT REFERENCES roles(id) ON DELETE CASCADE,
  record_id TEXT REFERENCES records(id) ON DELETE CASCADE,
  tag TEXT,
  permissions INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK ((user_id IS NULL) != (role_id IS NULL)),
  CHECK ((record_id IS NULL) != (tag IS NULL))
);
CREATE TABLE policies (
  record_id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
  windows TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  allowed_networks TEXT NOT NULL,
  approval_required INTEGER NOT NULL,
  approver_role_id TEXT REFERENCES roles(id) ON DELETE SET NULL,
  approval_max_duration_s INTEGER NOT NULL,
  command_rules TEXT NOT NULL
);
CREATE TABLE access_requests (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  start_at INTEGER NOT NULL,
  end_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  decided_by TEXT NOT NULL,
  decided_at INTEGER,
  decision_note TEXT NOT NULL,
  revoked_by TEXT NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX access_requests_by_user ON access_requests(user_id);
CREATE INDEX tokens_by_user ON tokens(user_id);
)sql";

// Session reports, aggregated from the audit log by the session indexer (a derived view: the log
// is the record; these rows can be rebuilt from it). "user" is quoted: PostgreSQL reserves it.
// Times are Unix nanoseconds here, as in the log. resume_seq is where the indexer starts reading
// after a restart.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  first_seq INTEGER NOT NULL UNIQUE,
  "user" TEXT NOT NULL,
  token_id TEXT NOT NULL,
  record_id TEXT NOT NULL,
  record_name TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  denied INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  open INTEGER NOT NULL,
  report_json TEXT NOT NULL,
  report_text TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions("user", first_seq);
CREATE INDEX sessions_by_record ON sessions(record_id, first_seq);
CREATE TABLE session_index (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  resume_seq INTEGER NOT NULL
);
INSERT INTO session_index (id, resume_seq) VALUES (1, 1);
)sql";

// The AWS account a record's keys belong to: "" (not known) or 12 digits.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE records ADD COLUMN aws_account_id TEXT NOT NULL DEFAULT '';
)sql";

// People who sign in through the OpenID Connect provider: the subject (the provider's stable
// key for a person) names the user it created at the first sign-in. A provider group maps to
// roles; at each sign-in the user is made a member of exactly the mapped roles her groups reach.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE identity_users (
  subject TEXT PRIMARY KEY,
  user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  signed_in_at INTEGER NOT NULL
);
CREATE TABLE group_roles (
  group_name TEXT NOT NULL,
  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_name, role_id)
);
)sql";

// A user's e-mail address ("" when none), and the queue of notifications about access requests:
// a row is written in the transaction that creates or decides the request, so a change is never
// committed without its message, nor a message queued for a change that rolled back. `facts_json`
// holds what the message says (no secret is ever in it); the notifier renders it when it sends,
// retries with backoff and marks the row delivered or, after the last attempt, failed. Attempt
// times are Unix milliseconds: retries may be a second apart.
constexpr std::string_view kSchemaV5 = R"sql(
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  request_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  recipient TEXT NOT NULL,
  facts_json TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX notifications_due ON notifications(state, next_attempt_ms);
CREATE INDEX notifications_by_request ON notifications(request_id);
)sql";

// Favorites: the records each user starred, a preference of that user alone (no grant, no
// policy reads it). A deleted user or record takes its stars with it.
constexpr std::string_view kSchemaV6 = R"sql(
CREATE TABLE favorites (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, record_id)
);
)sql";

// The change generation: every admin change raises it by one in its own transaction. Nodes that
// share a PostgreSQL database compare it with the one their snapshot was read with.
constexpr std::string_view kSchemaV7 = R"sql(
CREATE TABLE change_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO change_generation (id, value) VALUES (1, 0);
)sql";

// A record's version: 1 when created, raised by every update, so that an edit made from an older
// read is refused rather than silently undoing another.
constexpr std::string_view kSchemaV8 = R"sql(
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
)sql";

// Who gave a record's AWS account id: 'admin' or 'sts' (GetCallerIdentity with the record's keys);
// '' without one. Every id before this version was an admin's.
constexpr std::string_view kSchemaV9 = R"sql(
ALTER TABLE records ADD COLUMN aws_account_id_source TEXT NOT NULL DEFAULT '';
UPDATE records SET aws_account_id_source = 'admin' WHERE aws_account_id <> '';
)sql";

// Session reports of several nodes on one store. Each node's indexer reads its own log and saves
// what it saw of a session as a piece, keyed by the node and the seq of the piece's first event
// in that node's log; a session row is its pieces merged (session_id names it). Seqs are per
// node, so a session's first_seq is no longer unique (the table is rebuilt without that
// constraint). Each node resumes from its own cursor; session_index keeps the cursor of a store
// that one node used before. (IF NOT EXISTS: a database taken back to an older version by hand
// may still hold the newer tables.)
constexpr std::string_view kSchemaV10 = R"sql(
CREATE TABLE sessions_v4 (
  id TEXT PRIMARY KEY,
  first_seq INTEGER NOT NULL,
  "user" TEXT NOT NULL,
  token_id TEXT NOT NULL,
  record_id TEXT NOT NULL,
  record_name TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  denied INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  open INTEGER NOT NULL,
  report_json TEXT NOT NULL,
  report_text TEXT NOT NULL
);
INSERT INTO sessions_v4 SELECT id, first_seq, "user", token_id, record_id, record_name, source_ip,
  started_ns, last_ns, requests, denied, bytes_in, bytes_out, open, report_json, report_text
  FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v4 RENAME TO sessions;
CREATE INDEX sessions_by_user ON sessions("user", first_seq);
CREATE INDEX sessions_by_record ON sessions(record_id, first_seq);
CREATE INDEX sessions_by_client ON sessions(source_ip, "user", record_id);
CREATE TABLE IF NOT EXISTS session_pieces (
  node TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  session_id TEXT NOT NULL,
  token_id TEXT NOT NULL,
  record_name TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  denied INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  open INTEGER NOT NULL,
  report_json TEXT NOT NULL,
  PRIMARY KEY (node, first_seq)
);
CREATE INDEX IF NOT EXISTS session_pieces_by_session ON session_pieces(session_id);
CREATE TABLE IF NOT EXISTS session_cursors (
  node TEXT PRIMARY KEY,
  resume_seq INTEGER NOT NULL
);
)sql";

// pamctl's sign-ins through the identity provider: the REST API token issued for each, the
// SHA-256 (hex) of the refresh secret pamctl keeps, the provider's subject and refresh token
// (sealed, bound to the row), and when the provider last vouched for the person. (IF NOT EXISTS:
// a database taken back to an older version by hand may still hold the table.)
constexpr std::string_view kSchemaV11 = R"sql(
CREATE TABLE IF NOT EXISTS cli_logins (
  id TEXT PRIMARY KEY,
  refresh_hash TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  token_id TEXT NOT NULL,
  provider_refresh BLOB NOT NULL,
  checked_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";

// A disabled user: her tokens are refused and she cannot sign in, but nothing of hers is removed,
// so enabling her again brings her tokens back.
constexpr std::string_view kSchemaV12 = R"sql(
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
)sql";

// The web console's sign-in sessions, so that a restart keeps them and every node sharing the
// database knows them. A row never holds the cookie's value: it is keyed by the value's SHA-256,
// and the token's secret is kept as an HMAC keyed by the value; the CSRF token is derived from
// the value and not stored at all (src/admin/console_sessions.cc). Times are Unix seconds.
constexpr std::string_view kSchemaV13 = R"sql(
CREATE TABLE console_sessions (
  id_sha256 TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_id TEXT NOT NULL,
  token_check TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions(user_id);
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
    {8, kSchemaV8},
    {9, kSchemaV9},
    {10, kSchemaV10},
    {11, kSchemaV11},
    {12, kSchemaV12},
    {13, kSchemaV13},
};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}
int64_t latest_schema_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

std::string to_postgresql_schema(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 64);
  size_t i = 0;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < sql.size()) {
    if (!is_word(sql[i])) {
      out += sql[i++];
      continue;
    }
    size_t j = i;
    while (j < sql.size() && is_word(sql[j])) ++j;
    std::string_view word = sql.substr(i, j - i);
    if (word == "BLOB") {
      out += "BYTEA";
    } else if (word == "INTEGER") {
      out += "BIGINT";
    } else {
      out += word;
    }
    i = j;
  }
  return out;
}

absl::Status migrate(sql::Db& db, std::span<const Migration> list) {
  absl::StatusOr<int64_t> current = db.connection().schema_version();
  if (!current.ok()) return current.status();
  bool postgresql = db.dialect() == sql::Dialect::kPostgresql;
  for (const Migration& m : list) {
    if (m.version <= *current) continue;
    absl::Status s = sql::transaction(db, [&]() -> absl::Status {
      if (absl::Status e = db.connection().lock_schema(); !e.ok()) return e;
      // Another node may have migrated while this one waited for the lock.
      absl::StatusOr<int64_t> now = db.connection().schema_version();
      if (!now.ok()) return now.status();
      if (*now >= m.version) return absl::OkStatus();
      absl::Status e = postgresql ? db.exec(to_postgresql_schema(m.sql)) : db.exec(m.sql);
      if (!e.ok()) return e;
      return db.connection().set_schema_version(m.version);
    });
    if (!s.ok()) {
      return absl::Status(s.code(), policy::cat("schema migration to version ", m.version,
                                                " failed: ", policy::sv(s.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace pamproxy::store
