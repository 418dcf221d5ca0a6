#include "pamproxy/store/json.h"

#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/time_window.h"

namespace pamproxy::store {
namespace {

void time_field(JsonWriter& w, std::string_view key, absl::Time t) {
  w.key(key);
  if (t == absl::InfiniteFuture()) {
    w.null();
  } else {
    w.value(format_time(t));
  }
}

void optional_time_field(JsonWriter& w, std::string_view key, const std::optional<absl::Time>& t) {
  w.key(key);
  if (t) {
    w.value(format_time(*t));
  } else {
    w.null();
  }
}

void string_array(JsonWriter& w, std::string_view key, const std::vector<std::string>& items) {
  w.key(key).begin_array();
  for (const std::string& s : items) w.value(s);
  w.end_array();
}

void cidr_array(JsonWriter& w, std::string_view key, const std::vector<net::Cidr>& items) {
  w.key(key).begin_array();
  for (const net::Cidr& c : items) w.value(c.to_string());
  w.end_array();
}

}  // namespace

std::string format_time(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

void write_json(JsonWriter& w, const policy::User& u) {
  w.begin_object().key("id").value(u.id).key("name").value(u.name).key("admin").value(u.admin);
  w.key("email").value(u.email).key("disabled").value(u.disabled);
  time_field(w, "created_at", u.created_at);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::Role& r) {
  w.begin_object().key("id").value(r.id).key("name").value(r.name);
  w.key("description").value(r.description);
  string_array(w, "members", r.member_user_ids);
  time_field(w, "created_at", r.created_at);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::RecordType& t) {
  w.begin_object().key("name").value(t.name).key("enabled").value(t.enabled).end_object();
}

void write_json(JsonWriter& w, const policy::Record& r) {
  w.begin_object().key("id").value(r.id).key("type").value(r.type).key("name").value(r.name);
  w.key("description").value(r.description).key("reference_record").value(r.reference_record);
  w.key("access_key_id").value(r.access_key_id);
  w.key("secret_access_key_set").value(!r.secret_access_key.empty());
  w.key("session_token_set").value(!r.session_token.empty());
  w.key("default_region").value(r.default_region);
  w.key("aws_account_id").value(r.aws_account_id);
  w.key("aws_account_id_source")
      .value(r.aws_account_id.empty() ? std::string_view("unknown")
                                      : std::string_view(r.aws_account_id_source));
  string_array(w, "tags", r.tags);
  time_field(w, "created_at", r.created_at);
  time_field(w, "updated_at", r.updated_at);
  w.key("version").value(r.version);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::Token& t) {
  w.begin_object().key("id").value(t.id).key("name").value(t.name).key("user_id").value(t.user_id);
  time_field(w, "created_at", t.created_at);
  time_field(w, "expires_at", t.expires_at);
  cidr_array(w, "allowed_networks", t.allowed_networks);
  w.key("revoked").value(t.revoked_at.has_value());
  optional_time_field(w, "revoked_at", t.revoked_at);
  optional_time_field(w, "last_used_at", t.last_used_at);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::Grant& g) {
  w.begin_object().key("id").value(g.id);
  if (!g.user_id.empty()) w.key("user_id").value(g.user_id);
  if (!g.role_id.empty()) w.key("role_id").value(g.role_id);
  if (!g.record_id.empty()) w.key("record_id").value(g.record_id);
  if (!g.tag.empty()) w.key("tag").value(g.tag);
  w.key("permissions").begin_array();
  for (policy::Permission p : {policy::kView, policy::kConnect, policy::kEdit, policy::kManage}) {
    if ((g.permissions & p) != 0) w.value(policy::permissions_to_string(p));
  }
  w.end_array();
  time_field(w, "created_at", g.created_at);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::AccessPolicy& p) {
  w.begin_object().key("record_id").value(p.record_id);
  w.key("windows").begin_array();
  for (const policy::TimeWindow& tw : p.windows) w.value(policy::format_time_window(tw));
  w.end_array();
  w.key("time_zone").value(p.time_zone);
  cidr_array(w, "allowed_networks", p.allowed_networks);
  w.key("approval").begin_object().key("required").value(p.approval_required);
  w.key("approver_role_id").value(p.approver_role_id);
  w.key("max_duration_s").value(p.approval_max_duration_s).end_object();
  w.key("command_rules").begin_array();
  for (const policy::CommandRule& r : p.command_rules) {
    w.begin_object().key("effect").value(r.effect == policy::RuleEffect::kAllow ? "allow" : "deny");
    w.key("pattern").value(r.pattern);
    if (!r.resource.empty()) w.key("resource").value(r.resource);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_json(JsonWriter& w, const policy::AccessRequest& r, absl::Time now) {
  w.begin_object().key("id").value(r.id).key("user_id").value(r.user_id);
  w.key("record_id").value(r.record_id);
  time_field(w, "start_at", r.start_at);
  time_field(w, "end_at", r.end_at);
  w.key("reason").value(r.reason);
  w.key("state").value(policy::request_state_name(r.effective_state(now)));
  time_field(w, "created_at", r.created_at);
  w.key("decided_by").value(r.decided_by);
  optional_time_field(w, "decided_at", r.decided_at);
  w.key("decision_note").value(r.decision_note);
  w.key("revoked_by").value(r.revoked_by);
  optional_time_field(w, "revoked_at", r.revoked_at);
  w.end_object();
}

void write_json(JsonWriter& w, const policy::Settings& s) {
  w.begin_object().key("proxy.enabled").value(s.proxy_enabled).end_object();
}

}  // namespace pamproxy::store
