// pamctl's sign-ins through the identity provider: a REST API token issued for each, renewed by
// a refresh that revokes the token before and rotates the refresh secret (see store.h).

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"
#include "src/store/validate.h"

namespace pamproxy::store {

using policy::cat;

namespace {

// SHA-256 of the refresh secret, hex: what the table keeps and looks it up by. The secret is 256
// random bits, so the digest says nothing of it and a lookup's time nothing useful.
std::string refresh_hash(std::string_view secret) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  std::string out;
  out.reserve(2 * sizeof digest);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

absl::Status check_spec(const CliLoginSpec& spec) {
  if (spec.token_lifetime <= absl::ZeroDuration()) {
    return invalid_field("token_lifetime", "must be positive");
  }
  if (spec.subject.empty() || spec.subject.size() > 1024) {
    return invalid_field("subject", "must be 1 to 1024 bytes");
  }
  if (spec.provider_refresh_token.empty()) {
    return invalid_field("provider_refresh_token",
                         "the provider gave no refresh token: allow refresh tokens "
                         "(offline_access) for pamproxy's client at the provider");
  }
  return absl::OkStatus();
}

// A sign-in with its two secrets drawn: the REST API token's and the refresh secret.
CliLogin fresh_login(std::string id) {
  return CliLogin{.id = std::move(id),
                  .token = {.secret = random_token_secret()},
                  .refresh_secret = random_token_secret()};
}

// What creating a sign-in and refreshing one both write inside their change: `login`'s REST API
// token, issued to spec.user_id for spec.token_lifetime, and the provider's refresh token sealed
// to the sign-in's row. Returns the sealed bytes for the row's provider_refresh column.
absl::StatusOr<std::string> issue_token(Store::Impl& impl, AdminChange& c, const CliLoginSpec& spec,
                                        CliLogin& login) {
  TokenSpec token{
      .user_id = spec.user_id, .name = spec.token_name, .expires_at = c.at + spec.token_lifetime};
  auto created = impl.insert_token(c, token, "", login.token.secret);
  if (!created.ok()) return created.status();
  login.token.token = *std::move(created);
  return impl.key->seal(spec.provider_refresh_token, aad("cli_logins.provider_refresh", login.id));
}

// The sign-in once its change has run; when the change failed its secrets are wiped where they
// lie, since no one will ever be given them.
absl::StatusOr<CliLogin> finish(absl::StatusOr<AdminChange> change, CliLogin& login) {
  if (!change.ok()) {
    OPENSSL_cleanse(login.token.secret.data(), login.token.secret.size());
    OPENSSL_cleanse(login.refresh_secret.data(), login.refresh_secret.size());
    return change.status();
  }
  login.token.change = *std::move(change);
  return std::move(login);
}

}  // namespace

absl::StatusOr<CliLogin> Store::create_cli_login(const Actor& actor, const CliLoginSpec& spec) {
  if (absl::Status s = check_spec(spec); !s.ok()) return s;
  CliLogin login = fresh_login(random_id("cl-", 16));
  absl::StatusOr<AdminChange> change =
      impl_->change(actor, "token.sign_in", "token", [&](AdminChange& c) -> absl::Status {
        absl::StatusOr<std::string> sealed = issue_token(*impl_, c, spec, login);
        if (!sealed.ok()) return sealed.status();
        return sql::run(
            impl_->db,
            "INSERT INTO cli_logins (id, refresh_hash, user_id, subject, token_id, "
            "provider_refresh, checked_at, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            login.id, refresh_hash(login.refresh_secret), spec.user_id, spec.subject, c.object_id,
            sql::Blob{*sealed}, to_unix(c.at), to_unix(c.at));
      });
  return finish(std::move(change), login);
}

absl::StatusOr<CliLoginRow> Store::find_cli_login(std::string_view refresh_secret) {
  std::lock_guard lock(impl_->mu);
  auto rows = sql::load_rows<CliLoginRow>(
      impl_->db,
      "SELECT id, user_id, subject, token_id, provider_refresh, checked_at FROM cli_logins "
      "WHERE refresh_hash = ?1",
      [&](const sql::Stmt& st) -> absl::StatusOr<CliLoginRow> {
        CliLoginRow row{.id = st.text(0),
                        .user_id = st.text(1),
                        .subject = st.text(2),
                        .token_id = st.text(3),
                        .checked_at = from_unix(st.integer(5))};
        auto opened = impl_->key->open(st.blob(4), aad("cli_logins.provider_refresh", row.id));
        if (!opened.ok()) return opened.status();
        row.provider_refresh_token = std::string(opened->reveal());
        return row;
      },
      refresh_hash(refresh_secret));
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError("no sign-in has this refresh secret");
  return std::move(rows->front());
}

absl::StatusOr<CliLogin> Store::refresh_cli_login(const Actor& actor, std::string_view id,
                                                  const CliLoginSpec& spec) {
  if (absl::Status s = check_spec(spec); !s.ok()) return s;
  CliLogin login = fresh_login(std::string(id));
  absl::StatusOr<AdminChange> change =
      impl_->change(actor, "token.refresh", "token", [&](AdminChange& c) -> absl::Status {
        auto old = sql::load_rows<std::string>(
            impl_->db, "SELECT token_id FROM cli_logins WHERE id = ?1 AND user_id = ?2",
            [](const sql::Stmt& st) { return st.text(0); }, id, spec.user_id);
        if (!old.ok()) return old.status();
        if (old->empty()) return absl::NotFoundError(cat("no sign-in with id '", id, "'"));
        absl::Status s = sql::run(impl_->db,
                                  "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND "
                                  "revoked_at IS NULL",
                                  old->front(), to_unix(c.at));
        if (!s.ok()) return s;
        absl::StatusOr<std::string> sealed = issue_token(*impl_, c, spec, login);
        if (!sealed.ok()) return sealed.status();
        return sql::run(impl_->db,
                        "UPDATE cli_logins SET refresh_hash = ?2, token_id = ?3, "
                        "provider_refresh = ?4, checked_at = ?5 WHERE id = ?1",
                        id, refresh_hash(login.refresh_secret), c.object_id, sql::Blob{*sealed},
                        to_unix(c.at));
      });
  return finish(std::move(change), login);
}

absl::StatusOr<AdminChange> Store::end_cli_login(const Actor& actor, std::string_view id,
                                                 std::string_view action) {
  return impl_->change(actor, action, "token", [&](AdminChange& c) -> absl::Status {
    auto token_id = sql::load_rows<std::string>(
        impl_->db, "SELECT token_id FROM cli_logins WHERE id = ?1",
        [](const sql::Stmt& st) { return st.text(0); }, id);
    if (!token_id.ok()) return token_id.status();
    if (token_id->empty()) return absl::NotFoundError(cat("no sign-in with id '", id, "'"));
    c.object_id = token_id->front();
    auto before = one(impl_->load_tokens(c.object_id), "token", c.object_id);
    if (before.ok()) {
      c.before_json = to_json(*before);
      if (!before->revoked_at) {
        absl::Status s = sql::run(impl_->db, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1",
                                  c.object_id, to_unix(c.at));
        if (!s.ok()) return s;
        before->revoked_at = c.at;
      }
      c.after_json = to_json(*before);
    }
    return sql::run(impl_->db, "DELETE FROM cli_logins WHERE id = ?1", id);
  });
}

}  // namespace pamproxy::store
