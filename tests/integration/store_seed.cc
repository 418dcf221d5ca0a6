// store-seed: puts a small world into a pamproxy store before the daemon starts, through the
// real store API on the real SQLite file (the same path pamproxyd uses), or on a PostgreSQL
// database when DB is a libpq connection string ("postgresql://..." or "host=... dbname=..."),
// for tests that need records and tokens. Prints what it made as JSON, token secrets included
// (test data only).
//
//   store-seed DB MASTER_KEY --access-key AK --secret-key SK [--session-token T]
//              [--record NAME] [--rule "deny s3:DeleteObject"]... [--proxy-disabled]
//              [--no-grant] [--expired-token] [--aws-account-id ID]
//
// Makes: proxy.enabled (unless --proxy-disabled), the aws-access-keys type enabled, user "alice"
// with a token, record NAME (default "front") with the keys (and the AWS account id, when given),
// a Connect+View grant for alice (unless --no-grant), an access policy with the given command
// rules, and a second token of alice that expired (with --expired-token) and one that is revoked.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "pamproxy/base/json_writer.h"
#include "pamproxy/store/store.h"

using namespace pamproxy;

namespace {

int fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "store-seed: %s: %s\n", what.c_str(), std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: store-seed DB MASTER_KEY --access-key AK --secret-key SK ...\n");
    return 2;
  }
  std::string db = argv[1], key = argv[2];
  std::string ak, sk, session, record_name = "front", account;
  std::vector<std::string> rules;
  bool proxy_enabled = true, grant = true, admin = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--access-key") ak = next();
    else if (a == "--secret-key") sk = next();
    else if (a == "--session-token") session = next();
    else if (a == "--record") record_name = next();
    else if (a == "--rule") rules.push_back(next());
    else if (a == "--aws-account-id") account = next();
    else if (a == "--proxy-disabled") proxy_enabled = false;
    else if (a == "--no-grant") grant = false;
    else if (a == "--admin") admin = true;  // also an admin "root" with a token for the API
    else {
      std::fprintf(stderr, "store-seed: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  store::StoreOptions options{.database_file = db, .master_key_file = key};
  if (db.starts_with("postgresql://") || db.find("dbname=") != std::string::npos) {
    options = {
        .backend = store::StoreBackend::kPostgresql, .postgresql_url = db, .master_key_file = key};
  }
  auto opened = store::Store::open(options);
  if (!opened.ok()) return fail("open", opened.status());
  store::Store& s = **opened;
  store::Actor actor{"", "", "store-seed"};
  if (proxy_enabled) {
    if (auto r = s.set_setting(actor, "proxy.enabled", "true"); !r.ok()) return fail("setting", r.status());
  }
  if (auto r = s.set_record_type_enabled(actor, "aws-access-keys", true); !r.ok()) {
    return fail("record type", r.status());
  }
  auto user = s.create_user(actor, {.name = "alice", .admin = false});
  if (!user.ok()) return fail("user", user.status());
  const std::string user_id = user->object_id;
  store::RecordSpec rs;
  rs.name = record_name;
  rs.description = "test keys";
  rs.access_key_id = ak;
  rs.secret_access_key = sk;
  rs.session_token = session;
  rs.default_region = "us-east-1";
  rs.aws_account_id = account;
  auto rec = s.create_record(actor, rs);
  if (!rec.ok()) return fail("record", rec.status());
  const std::string record_id = rec->object_id;
  if (grant) {
    store::GrantSpec g;
    g.user_id = user_id;
    g.record_id = record_id;
    g.permissions = policy::kView | policy::kConnect;
    if (auto r = s.create_grant(actor, g); !r.ok()) return fail("grant", r.status());
  }
  if (!rules.empty()) {
    store::PolicySpec p;
    p.command_rules = rules;
    if (auto r = s.set_policy(actor, record_id, p); !r.ok()) return fail("policy", r.status());
  }
  auto token = s.create_token(actor, {.user_id = user_id, .name = "cli"});
  if (!token.ok()) return fail("token", token.status());
  auto revoked = s.create_token(actor, {.user_id = user_id, .name = "revoked"});
  if (!revoked.ok()) return fail("token", revoked.status());
  if (auto r = s.revoke_token(actor, revoked->token.id); !r.ok()) return fail("revoke", r.status());
  auto expired = s.create_token(
      actor, {.user_id = user_id, .name = "expired", .expires_at = absl::Now() + absl::Seconds(1)});
  if (!expired.ok()) return fail("token", expired.status());

  std::string admin_bearer;
  if (admin) {
    auto root = s.create_user(actor, {.name = "root", .admin = true});
    if (!root.ok()) return fail("admin", root.status());
    auto t = s.create_token(actor, {.user_id = root->object_id, .name = "admin"});
    if (!t.ok()) return fail("admin token", t.status());
    admin_bearer = t->token.id + ":" + t->secret;
  }

  JsonWriter w;
  w.begin_object();
  if (admin) w.key("admin_token").value(admin_bearer);
  w.key("user_id").value(user_id);
  w.key("record_id").value(record_id);
  w.key("record_name").value(record_name);
  w.key("token_id").value(token->token.id);
  w.key("token_secret").value(token->secret);
  w.key("revoked_token_id").value(revoked->token.id);
  w.key("revoked_token_secret").value(revoked->secret);
  w.key("expired_token_id").value(expired->token.id);
  w.key("expired_token_secret").value(expired->secret);
  w.end_object();
  std::printf("%s\n", w.str().c_str());
  return 0;
}
