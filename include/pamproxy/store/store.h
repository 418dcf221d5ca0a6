#pragma once
// The store: the appliance's persistent state in one SQLite file (WAL) or in a PostgreSQL database
// that several nodes share, with versioned schema migrations and every secret sealed under the
// master key (crypto.h). It owns the policy snapshot: after each committed change it rebuilds one
// and publishes it, so the change is in force for new requests at once, without a restart.
//
//   auto store = Store::open({.database_file = paths.database_file,
//                             .master_key_file = paths.master_key_file});
//   if (!store.ok()) { log ...; exit }           // wrong key, newer schema, corrupt file
//   auto rec = (*store)->create_record(actor, spec);  // -> AdminChange (before/after JSON)
//   policy::SnapshotReader reader((*store)->publisher());  // in each worker
//
// Opening refuses, and changes nothing, when the master key is missing or wrong (an encrypted
// canary row must open), the schema is newer than this build knows, or the file is not a sound
// SQLite database. The master key file is created (0600) only with a brand-new database.
//
// Errors: InvalidArgument (message starts with "field 'x': "; field_of() returns x), NotFound,
// AlreadyExists (a unique name taken), FailedPrecondition (a state change not allowed),
// PermissionDenied (e.g. an approver deciding their own request), Aborted (an edit made from a
// record's older version), Unavailable (the database is
// busy or unreachable; the message names it). Messages never carry a secret.
//
// Thread safety: every method may be called from any thread (one internal mutex); the control
// thread is the intended caller. Workers never touch the store, only snapshots.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pamproxy/audit/session.h"
#include "pamproxy/policy/model.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/store/change.h"

namespace pamproxy::store {

enum class StoreBackend { kSqlite, kPostgresql };

struct StoreOptions {
  StoreBackend backend = StoreBackend::kSqlite;
  std::string database_file;          // SQLite
  std::string postgresql_url;         // PostgreSQL: a libpq connection string
  int64_t connect_timeout_ms = 5000;  // PostgreSQL
  std::string master_key_file;
  int64_t busy_timeout_ms = 5000;
  // The clock for timestamps and request states (tests move it).
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// How a node saves its sessions (Store::save_sessions): its name, and how long a session of
// another node may have been idle for a piece to join it.
struct SessionSave {
  std::string_view node;
  int64_t join_gap_ns = 0;
};

// The field an InvalidArgument error is about ("" when none).
std::string field_of(const absl::Status& status);

struct UserSpec {
  std::string name;
  bool admin = false;
  std::string email;  // "" = none
};
struct IdentitySignIn {
  std::string subject;
  std::string email;
  std::string name;
  std::vector<std::string> groups;
};
struct GroupRole {
  std::string group;
  std::string role_id;
  absl::Time created_at;
};
struct UserPatch {
  std::optional<std::string> name;
  std::optional<bool> admin;
  std::optional<std::string> email;  // "" removes it
  // Disabling refuses the user's tokens and ends her console sessions (in the same
  // transaction); her tokens stay, so enabling her brings them back. Not for the actor herself.
  std::optional<bool> disabled;
};

struct RecordSpec {
  std::string name;
  std::string description;
  std::string reference_record;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string default_region;
  std::string aws_account_id;  // "" or 12 digits
  // "admin" or "sts" (what policy::Record says); "" with an id means "admin". Ignored without one.
  std::string aws_account_id_source;
  std::vector<std::string> tags;
};
struct RecordPatch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> reference_record;
  std::optional<std::string> access_key_id;
  std::optional<std::string> secret_access_key;
  std::optional<std::string> session_token;  // "" removes it
  std::optional<std::string> default_region;
  std::optional<std::string> aws_account_id;         // "" removes it
  std::optional<std::string> aws_account_id_source;  // with aws_account_id; none means "admin"
  std::optional<std::vector<std::string>> tags;
  // The version the edit was made from: when it is not the record's version now, the update is
  // refused with Aborted naming the current one. nullopt: the last write wins.
  std::optional<int64_t> version;
};

struct TokenSpec {
  std::string user_id;
  std::string name;
  std::optional<absl::Time> expires_at;       // none: never expires
  std::vector<std::string> allowed_networks;  // CIDRs; empty: any
};
// The one time a token's secret leaves the store.
struct CreatedToken {
  policy::Token token;  // token.secret is empty
  std::string secret;
  AdminChange change;
};

// pamctl's sign-in through the identity provider (store_cli_logins.cc).
struct CliLoginSpec {
  std::string user_id;
  std::string subject;                 // the provider's, checked again at every refresh
  absl::Duration token_lifetime;       // the REST API token's
  std::string provider_refresh_token;  // sealed under the master key
  std::string token_name = "pamctl login";
};
// The one time a sign-in's token secret and refresh secret leave the store.
struct CliLogin {
  std::string id;  // "cl-..."
  CreatedToken token;
  std::string refresh_secret;
};
// A sign-in as a refresh reads it (the provider's refresh token opened).
struct CliLoginRow {
  std::string id;
  std::string user_id;
  std::string subject;
  std::string token_id;
  std::string provider_refresh_token;
  absl::Time checked_at;
};

struct GrantSpec {
  std::string user_id;  // exactly one of user_id, role_id
  std::string role_id;
  std::string record_id;  // exactly one of record_id, tag
  std::string tag;
  policy::Permissions permissions = 0;
};

// An access policy as written by an admin (text forms, validated by the store).
struct PolicySpec {
  std::vector<std::string> windows;  // "Mon-Fri 08:00-18:00"
  std::string time_zone = "UTC";
  std::vector<std::string> allowed_networks;
  bool approval_required = false;
  std::string approver_role_id;
  int64_t approval_max_duration_s = 8 * 3600;
  std::vector<std::string> command_rules;  // "allow s3:Get*", "deny s3:Delete*"
};

struct RequestSpec {
  std::string user_id;  // the requester
  std::string record_id;
  std::optional<absl::Time> start_at;  // none: now
  absl::Duration duration = absl::Hours(1);
  std::string reason;
};

// The channels a new notification is queued for ([notify]); with neither, nothing is queued.
struct NotifyChannels {
  bool webhook = false;
  bool email = false;
};

// One queued message about an access request (the notifications table): the webhook's, or one
// e-mail to one address.
struct Notification {
  std::string id;
  std::string event;  // "request.created" | "request.decided"
  std::string request_id;
  std::string channel;     // "webhook" | "email"
  std::string recipient;   // the e-mail address; "" for the webhook
  std::string facts_json;  // what the message says (notify/message.h reads it); never a secret
  std::string state;       // "pending" | "delivered" | "failed"
  int64_t attempts = 0;
  int64_t next_attempt_ms = 0;  // Unix ms
  std::string last_error;
  absl::Time created_at;
};

// A web console sign-in session as the store keeps it (store_console_sessions.cc): what checking
// a cookie needs, and nothing that lets a reader of the database act as the browser
// (src/admin/console_sessions.cc derives the values).
struct ConsoleSessionRow {
  std::string id_sha256;  // hex SHA-256 of the cookie's value (the value is never stored)
  std::string user_id;
  std::string token_id;     // "" for a sign-in through the identity provider
  std::string token_check;  // hex HMAC of the token's secret keyed by the cookie's value
  absl::Time created_at;    // whole seconds
  absl::Time last_used_at;
};
struct ConsoleSessionLimits {
  absl::Duration idle;      // since the last use
  absl::Duration absolute;  // since creation
  size_t sessions_max = 0;  // live sessions in the whole store
};

struct Bootstrap {
  policy::User admin;
  CreatedToken token;
};

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();

  int64_t schema_version() const;
  const policy::SnapshotPublisher& publisher() const;
  std::shared_ptr<const policy::Snapshot> snapshot() const;
  // Not owned; set before serving. nullptr: nobody listens.
  void set_change_sink(ChangeSink* sink);
  // [store] busy_timeout_ms changed on reload.
  void set_busy_timeout_ms(int64_t ms);

  // PostgreSQL: starts the thread that keeps this node's snapshot in step with the changes other
  // nodes make (within a second: src/store/change_listener.h; every check_interval_ms at the
  // latest) and that tracks whether the database is reachable. SQLite: nothing (this process is
  // the file's only writer). The destructor stops the thread.
  void follow_changes(int64_t check_interval_ms = 5000);
  // False while a PostgreSQL store's database is unreachable: the node goes on deciding against
  // its last snapshot and every change fails with Unavailable naming the database. Logged once
  // on each change of state (store.unreachable, store.reachable). Always true for SQLite.
  bool reachable() const;
  // The database as messages name it: the SQLite file, or "PostgreSQL (host=... dbname=...)"
  // without a password.
  const std::string& database_name() const;
  // pamproxy_store_reachable (Prometheus text), for the admin API's metrics.
  std::string render_prometheus() const;

  // First start: when there are no users yet, creates the admin user `name` and a token for it.
  // nullopt when users exist already.
  absl::StatusOr<std::optional<Bootstrap>> bootstrap(std::string_view name);

  // Settings: "proxy.enabled" = "true" | "false".
  policy::Settings settings();
  absl::StatusOr<AdminChange> set_setting(const Actor& actor, std::string_view key,
                                          std::string_view value);

  std::vector<policy::RecordType> record_types();
  absl::StatusOr<AdminChange> set_record_type_enabled(const Actor& actor, std::string_view name,
                                                      bool enabled);

  std::vector<policy::User> list_users();
  absl::StatusOr<policy::User> get_user(std::string_view id);
  absl::StatusOr<AdminChange> create_user(const Actor& actor, const UserSpec& spec);
  absl::StatusOr<AdminChange> update_user(const Actor& actor, std::string_view id,
                                          const UserPatch& patch);
  absl::StatusOr<AdminChange> delete_user(const Actor& actor, std::string_view id);

  std::vector<policy::Role> list_roles();
  absl::StatusOr<policy::Role> get_role(std::string_view id);
  absl::StatusOr<AdminChange> create_role(const Actor& actor, std::string_view name,
                                          std::string_view description);
  absl::StatusOr<AdminChange> delete_role(const Actor& actor, std::string_view id);
  absl::StatusOr<AdminChange> add_role_member(const Actor& actor, std::string_view role_id,
                                              std::string_view user_id);
  absl::StatusOr<AdminChange> remove_role_member(const Actor& actor, std::string_view role_id,
                                                 std::string_view user_id);

  // People from the OpenID Connect provider. The first sign-in of a subject creates its user
  // (named by the name claim, else the e-mail, else the subject; a name taken already gets the
  // subject after it); every sign-in then makes the user a member of exactly those roles mapped
  // to a group that her groups reach, among the roles any group maps to (a role no group maps to
  // is left as an admin set it). The change's object is the user. A disabled user is refused
  // (PermissionDenied) and nothing of hers changes.
  absl::StatusOr<AdminChange> sign_in_identity(const Actor& actor, const IdentitySignIn& who);
  // A provider group mapped to a role (both kept as given: group names are the provider's).
  std::vector<GroupRole> list_group_roles();
  absl::StatusOr<AdminChange> map_group(const Actor& actor, std::string_view group,
                                        std::string_view role_id);
  absl::StatusOr<AdminChange> unmap_group(const Actor& actor, std::string_view group,
                                          std::string_view role_id);

  // Records come back with their secrets (for the snapshot and tests); answers must go through
  // json.h, which never prints them.
  std::vector<policy::Record> list_records();
  absl::StatusOr<policy::Record> get_record(std::string_view id);
  absl::StatusOr<AdminChange> create_record(const Actor& actor, const RecordSpec& spec);
  absl::StatusOr<AdminChange> update_record(const Actor& actor, std::string_view id,
                                            const RecordPatch& patch);
  absl::StatusOr<AdminChange> delete_record(const Actor& actor, std::string_view id);

  // Tokens come back without their secrets.
  std::vector<policy::Token> list_tokens(std::string_view user_id = {});
  absl::StatusOr<policy::Token> get_token(std::string_view id);
  absl::StatusOr<CreatedToken> create_token(const Actor& actor, const TokenSpec& spec);
  absl::StatusOr<AdminChange> revoke_token(const Actor& actor, std::string_view id);
  // Records when tokens were last used (batched by the caller; not an admin change, no new
  // snapshot). A time older than the one stored changes nothing, so a use seen twice is harmless.
  using TokenUse = std::pair<std::string, absl::Time>;
  absl::Status touch_tokens(std::span<const TokenUse> uses);

  // pamctl's sign-ins through the provider. Each holds a REST API token of its own: creating one
  // issues the token (audited as token.sign_in); a refresh revokes it, issues the next and
  // replaces the refresh secret (token.refresh), all in one transaction, so a refresh secret
  // works once; ending one revokes its token and forgets the sign-in (token.refresh_refused when
  // the provider refused, token.sign_out when the person signed out). The refresh secret is
  // kept as its SHA-256 only.
  absl::StatusOr<CliLogin> create_cli_login(const Actor& actor, const CliLoginSpec& spec);
  // NotFound when no sign-in has that refresh secret.
  absl::StatusOr<CliLoginRow> find_cli_login(std::string_view refresh_secret);
  absl::StatusOr<CliLogin> refresh_cli_login(const Actor& actor, std::string_view id,
                                             const CliLoginSpec& spec);
  absl::StatusOr<AdminChange> end_cli_login(const Actor& actor, std::string_view id,
                                            std::string_view action);

  std::vector<policy::Grant> list_grants();
  absl::StatusOr<AdminChange> create_grant(const Actor& actor, const GrantSpec& spec);
  absl::StatusOr<AdminChange> delete_grant(const Actor& actor, std::string_view id);

  absl::StatusOr<std::optional<policy::AccessPolicy>> get_policy(std::string_view record_id);
  absl::StatusOr<AdminChange> set_policy(const Actor& actor, std::string_view record_id,
                                         const PolicySpec& spec);
  absl::StatusOr<AdminChange> delete_policy(const Actor& actor, std::string_view record_id);

  std::vector<policy::AccessRequest> list_requests(std::string_view user_id = {});
  absl::StatusOr<policy::AccessRequest> get_request(std::string_view id);
  absl::StatusOr<AdminChange> create_request(const Actor& actor, const RequestSpec& spec);
  // Approve/deny: the actor must be an admin or a member of the policy's approver role, and not
  // the requester. Revoke: the actor may also be the requester.
  absl::StatusOr<AdminChange> approve_request(const Actor& actor, std::string_view id,
                                              std::string_view note);
  absl::StatusOr<AdminChange> deny_request(const Actor& actor, std::string_view id,
                                           std::string_view note);
  absl::StatusOr<AdminChange> revoke_request(const Actor& actor, std::string_view id);

  // Notifications (store_notifications.cc). Creating and deciding a request queue theirs in the
  // same transaction, for the channels set here (the daemon sets them from [notify], again on
  // reload). Not admin changes: no audit event, no new snapshot.
  void set_notify_channels(NotifyChannels channels);
  // Pending rows due at `now_ms`, oldest first, at most `max`.
  std::vector<Notification> due_notifications(int64_t now_ms, size_t max);
  // The earliest next attempt of a pending row; nullopt when none is pending.
  std::optional<int64_t> next_notification_ms();
  // Takes a due row for one attempt: attempts + 1, and the next attempt put off to
  // `lease_until_ms` (after the attempt's timeout), so a node that dies mid-attempt leaves the
  // row to be tried again. Only if the row is as `n` read it: false when another node of a
  // shared database took it first.
  absl::StatusOr<bool> claim_notification(const Notification& n, int64_t lease_until_ms);
  // After a failed attempt: the next one at `next_attempt_ms`, or, when `final`, state failed.
  absl::Status notification_failed(std::string_view id, std::string_view error,
                                   int64_t next_attempt_ms, bool final);
  absl::Status notification_delivered(std::string_view id);
  // Every row of one request ("" = all), oldest first; of one change, the webhook's first, then
  // the e-mails by address.
  std::vector<Notification> list_notifications(std::string_view request_id = {});

  // Sessions (store_sessions.cc). Not admin changes: no audit event, no new snapshot. Saving
  // upserts by id (re-indexing the same log gives the same rows), records the tokens' last uses
  // read with them (as touch_tokens), and records where the indexer resumes after a restart, all
  // in one transaction: a use is never lost behind a resume point already saved.
  //
  // With several nodes on one store, each node saves the sessions its own log shows as pieces
  // (SessionSave::node set): a piece joins the session of another node's piece for the same
  // user, record and client address that was active within join_gap_ns of it (the idle
  // timeout), or starts one; the session row is then its pieces merged (commands in time
  // order, counts summed), under the id of the piece that started it ("s-<seq>", or
  // "s-<seq>-<node>" when another node's session has that id). Without a node, rows are saved as
  // they are (one node, or a test). Each node resumes from its own point.
  absl::Status save_sessions(std::span<const audit::SessionReport> sessions, uint64_t resume_seq,
                             std::span<const TokenUse> token_uses = {},
                             const SessionSave& save = {});
  uint64_t session_resume_seq(std::string_view node = {});
  // Newest first (audit::SessionPosition's order), without the reports.
  std::vector<audit::SessionReport> list_sessions(const audit::SessionQuery& query);
  absl::StatusOr<audit::SessionReport> get_session(std::string_view id);

  // Favorites (store_favorites.cc): the records a user starred, a preference of theirs alone.
  // Not admin changes: no audit event, no new snapshot. Starring twice or unstarring a record
  // that is not starred changes nothing; an unknown user or record is NotFound.
  // Record ids, sorted; none while the database is unreachable (reachable()).
  std::vector<std::string> list_favorites(std::string_view user_id);
  absl::Status set_favorite(std::string_view user_id, std::string_view record_id, bool favorite);

  // Web console sessions (store_console_sessions.cc), shared by every node of the database. Not
  // admin changes: no audit event, no new snapshot. Deleting or disabling a user deletes hers.
  // Creating first deletes every expired row, then refuses (ResourceExhausted) when
  // limits.sessions_max live ones remain; the row's created_at is now.
  absl::Status create_console_session(const ConsoleSessionRow& row,
                                      const ConsoleSessionLimits& limits);
  // The live row, its last use raised to `now` (written at most once a second); nullopt when
  // there is none or it has expired (then it is deleted).
  absl::StatusOr<std::optional<ConsoleSessionRow>> use_console_session(
      std::string_view id_sha256, absl::Time now, const ConsoleSessionLimits& limits);
  absl::Status end_console_session(std::string_view id_sha256);  // none: nothing to do
  size_t count_console_sessions();

  struct Impl;  // store_impl.h

 private:
  absl::StatusOr<AdminChange> decide_request(const Actor& actor, std::string_view id,
                                             std::string_view note, bool approve);
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pamproxy::store
