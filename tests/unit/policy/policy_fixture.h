#pragma once
// A small world for decision and snapshot tests: users, roles, records with different policies,
// tokens in every state. `now()` is Monday 2026-11-23 10:00 in Berlin (09:00 UTC).

#include <functional>

#include "absl/time/civil_time.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/snapshot.h"
#include "pamproxy/policy/time_window.h"

namespace pamproxy::policy::testing {

inline absl::Time fixture_now() {
  return absl::FromCivil(absl::CivilMinute(2026, 11, 23, 9, 0), absl::UTCTimeZone());
}

inline Record make_record(const char* id, const char* name, std::vector<std::string> tags = {}) {
  Record r;
  r.id = id;
  r.name = name;
  r.access_key_id = std::string("AKIA") + id;
  r.secret_access_key = Secret(std::string("secret-of-") + id);
  r.default_region = "eu-central-1";
  r.tags = std::move(tags);
  return r;
}

inline Token make_token(const char* id, const char* user) {
  Token t;
  t.id = id;
  t.user_id = user;
  t.secret = Secret(std::string("tok-secret-") + id);
  t.expires_at = fixture_now() + absl::Hours(24 * 30);
  return t;
}

inline Grant grant_user(const char* user, const char* record, Permissions p) {
  return Grant{std::string("g-") + user + record, user, "", record, "", p, {}};
}

inline SnapshotData fixture_data() {
  SnapshotData d;
  d.settings.proxy_enabled = true;
  d.record_types = {{"aws-access-keys", true}};
  d.users = {{"u-alice", "alice", false, {}},
             {"u-bob", "bob", false, {}},
             {"u-carol", "carol", false, {}},
             {"u-dave", "dave", false, {}},
             {"u-admin", "admin", true, {}}};
  d.roles = {{"ro-ops", "ops", "", {"u-bob"}, {}}, {"ro-appr", "approvers", "", {"u-carol"}, {}}};
  d.records = {make_record("r-open", "open", {"eu", "prod"}),
               make_record("r-hours", "hours"),
               make_record("r-net", "netrec"),
               make_record("r-appr", "approved-rec"),
               make_record("r-pend", "pending-rec"),
               make_record("r-noreq", "noreq-rec"),
               make_record("r-cmd", "readonly"),
               make_record("r-view", "viewonly"),
               make_record("r-tz", "badzone"),
               make_record("r-pa", "prod-a", {"prod"}),
               make_record("r-pb", "prod-b", {"prod", "us"})};
  d.records[0].session_token = Secret("session-of-open");
  for (const char* r :
       {"r-open", "r-hours", "r-net", "r-appr", "r-pend", "r-noreq", "r-cmd", "r-tz"}) {
    d.grants.push_back(grant_user("u-alice", r, kView | kConnect));
  }
  d.grants.push_back(grant_user("u-alice", "r-view", kView));
  d.grants.push_back(Grant{"g-ops-prod", "", "ro-ops", "", "prod", kView | kConnect, {}});
  d.grants.push_back(grant_user("u-carol", "r-open", kView));

  AccessPolicy hours;
  hours.record_id = "r-hours";
  hours.windows = {*parse_time_window("Mon-Fri 08:00-18:00")};
  hours.time_zone = "Europe/Berlin";
  AccessPolicy net;
  net.record_id = "r-net";
  net.allowed_networks = {*net::Cidr::parse("10.0.0.0/8")};
  AccessPolicy appr;
  appr.record_id = "r-appr";
  appr.approval_required = true;
  appr.approver_role_id = "ro-appr";
  AccessPolicy pend = appr;
  pend.record_id = "r-pend";
  AccessPolicy noreq = appr;
  noreq.record_id = "r-noreq";
  AccessPolicy cmd;
  cmd.record_id = "r-cmd";
  cmd.command_rules = {*parse_command_rule("allow s3:Get*"), *parse_command_rule("allow s3:List*"),
                       *parse_command_rule("deny s3:GetObjectAcl")};
  AccessPolicy tz;
  tz.record_id = "r-tz";
  tz.windows = hours.windows;
  tz.time_zone = "Mars/Olympus_Mons";
  d.policies = {hours, net, appr, pend, noreq, cmd, tz};
  absl::TimeZone berlin;
  if (absl::LoadTimeZone("Europe/Berlin", &berlin)) d.time_zones["Europe/Berlin"] = berlin;

  absl::Time now = fixture_now();
  AccessRequest approved;
  approved.id = "req-ok";
  approved.user_id = "u-alice";
  approved.record_id = "r-appr";
  approved.start_at = now - absl::Hours(1);
  approved.end_at = now + absl::Hours(1);
  approved.state = RequestState::kApproved;
  AccessRequest pending = approved;
  pending.id = "req-wait";
  pending.record_id = "r-pend";
  pending.state = RequestState::kPending;
  d.requests = {approved, pending};

  d.tokens = {make_token("TALICE", "u-alice"), make_token("TEXP", "u-alice"),
              make_token("TREV", "u-alice"),   make_token("TNET", "u-alice"),
              make_token("TBOB", "u-bob"),     make_token("TDAVE", "u-dave")};
  d.tokens[1].expires_at = now - absl::Minutes(1);
  d.tokens[2].revoked_at = now - absl::Hours(2);
  d.tokens[3].allowed_networks = {*net::Cidr::parse("192.168.0.0/16")};
  return d;
}

}  // namespace pamproxy::policy::testing
