// Records (their secrets sealed per row) and their access policies.

#include "pamproxy/policy/cidr_list.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/policy/time_window.h"
#include "pamproxy/store/json.h"
#include "src/store/store_impl.h"
#include "src/store/validate.h"

namespace pamproxy::store {

using policy::cat;
using policy::sv;

namespace {

absl::Status check_record(const RecordSpec& r) {
  if (absl::Status s = check_record_name(r.name); !s.ok()) return s;
  if (absl::Status s = check_text("description", r.description, 4096); !s.ok()) return s;
  if (absl::Status s = check_access_key_id(r.access_key_id); !s.ok()) return s;
  if (absl::Status s = check_secret("secret_access_key", r.secret_access_key, 128, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = check_secret("session_token", r.session_token, 8192, false); !s.ok()) {
    return s;
  }
  if (absl::Status s = check_region(r.default_region); !s.ok()) return s;
  if (absl::Status s = check_aws_account_id(r.aws_account_id); !s.ok()) return s;
  if (!r.aws_account_id_source.empty() && r.aws_account_id_source != "admin" &&
      r.aws_account_id_source != "sts") {
    return invalid_field("aws_account_id_source", "must be \"admin\" or \"sts\"");
  }
  return absl::OkStatus();
}

// The source as stored: "" without an id, "admin" when the id came without one.
std::string stored_source(const RecordSpec& r) {
  if (r.aws_account_id.empty()) return "";
  return r.aws_account_id_source.empty() ? "admin" : r.aws_account_id_source;
}

absl::Status write_tags(sql::Db& db, std::string_view id, const std::vector<std::string>& tags) {
  if (absl::Status s = sql::run(db, "DELETE FROM record_tags WHERE record_id = ?1", id); !s.ok()) {
    return s;
  }
  for (const std::string& t : tags) {
    if (absl::Status s =
            sql::run(db, "INSERT INTO record_tags (record_id, tag) VALUES (?1, ?2)", id, t);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status stale(std::string_view id, int64_t current) {
  return absl::AbortedError(cat("record ", id, " is at version ", current,
                                ", not the version this edit was made from; read it again and "
                                "apply the edit to version ",
                                current));
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

}  // namespace

std::vector<policy::Record> Store::list_records() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rows = impl_->load_records();
  return rows.ok() ? std::move(*rows) : std::vector<policy::Record>{};
}

absl::StatusOr<policy::Record> Store::get_record(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (id.empty()) return absl::NotFoundError("no record with an empty id");
  return one(impl_->load_records(id), "record", id);
}

absl::StatusOr<AdminChange> Store::create_record(const Actor& actor, const RecordSpec& spec_in) {
  RecordSpec spec = spec_in;
  if (absl::Status s = check_record(spec); !s.ok()) return s;
  if (absl::Status s = check_tags("tags", &spec.tags); !s.ok()) return s;
  return impl_->change(actor, "record.create", "record", [&](AdminChange& c) -> absl::Status {
    if (!spec.reference_record.empty()) {
      auto ref = one(impl_->load_records(spec.reference_record), "record", spec.reference_record);
      if (!ref.ok()) return invalid_field("reference_record", sv(ref.status().message()));
    }
    c.object_id = random_id("r-", 16);
    const std::string& id = c.object_id;
    std::string secret =
        impl_->key->seal(spec.secret_access_key, aad("records.secret_access_key", id));
    std::optional<std::string> session;
    if (!spec.session_token.empty()) {
      session = impl_->key->seal(spec.session_token, aad("records.session_token", id));
    }
    absl::StatusOr<sql::Stmt> st = impl_->db.prepare(
        "INSERT INTO records (id, type, name, description, reference_record, access_key_id, "
        "secret_access_key, session_token, default_region, created_at, updated_at, aws_account_id, "
        "aws_account_id_source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)");
    if (!st.ok()) return st.status();
    st->bind(1, id)
        .bind(2, policy::kAwsAccessKeysType)
        .bind(3, spec.name)
        .bind(4, spec.description);
    st->bind(5, spec.reference_record).bind(6, spec.access_key_id).bind_blob(7, secret);
    if (session) {
      st->bind_blob(8, *session);
    } else {
      st->bind_null(8);
    }
    st->bind(9, spec.default_region).bind(10, to_unix(c.at)).bind(11, spec.aws_account_id);
    st->bind(12, stored_source(spec));
    if (absl::Status s = st->run(); !s.ok()) {
      if (absl::IsAlreadyExists(s)) {
        return absl::AlreadyExistsError(cat("a record named '", spec.name, "' exists already"));
      }
      return s;
    }
    if (absl::Status s = write_tags(impl_->db, id, spec.tags); !s.ok()) return s;
    auto after = one(impl_->load_records(id), "record", id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::update_record(const Actor& actor, std::string_view id,
                                                 const RecordPatch& patch) {
  return impl_->change(actor, "record.update", "record", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_records(id), "record", id);
    if (!before.ok()) return before.status();
    if (patch.version && *patch.version != before->version) return stale(id, before->version);
    c.before_json = to_json(*before);
    RecordSpec r{before->name,
                 before->description,
                 before->reference_record,
                 before->access_key_id,
                 std::string(before->secret_access_key.reveal()),
                 std::string(before->session_token.reveal()),
                 before->default_region,
                 before->aws_account_id,
                 before->aws_account_id_source,
                 before->tags};
    if (patch.name) r.name = *patch.name;
    if (patch.description) r.description = *patch.description;
    if (patch.reference_record) r.reference_record = *patch.reference_record;
    if (patch.access_key_id) r.access_key_id = *patch.access_key_id;
    if (patch.secret_access_key) r.secret_access_key = *patch.secret_access_key;
    if (patch.session_token) r.session_token = *patch.session_token;
    if (patch.default_region) r.default_region = *patch.default_region;
    if (patch.aws_account_id) {
      r.aws_account_id = *patch.aws_account_id;
      r.aws_account_id_source = patch.aws_account_id_source.value_or("admin");
    }
    if (patch.tags) r.tags = *patch.tags;
    absl::Status valid = check_record(r);
    if (valid.ok()) valid = check_tags("tags", &r.tags);
    if (!valid.ok()) return valid;
    if (!r.reference_record.empty()) {
      if (r.reference_record == id)
        return invalid_field("reference_record", "a record cannot refer to itself");
      auto ref = one(impl_->load_records(r.reference_record), "record", r.reference_record);
      if (!ref.ok()) return invalid_field("reference_record", sv(ref.status().message()));
    }
    std::string sid(id);
    std::string secret =
        impl_->key->seal(r.secret_access_key, aad("records.secret_access_key", sid));
    absl::StatusOr<sql::Stmt> st = impl_->db.prepare(
        "UPDATE records SET name = ?2, description = ?3, reference_record = ?4, access_key_id = "
        "?5, "
        "secret_access_key = ?6, session_token = ?7, default_region = ?8, updated_at = ?9, "
        "aws_account_id = ?10, aws_account_id_source = ?12, version = version + 1 "
        "WHERE id = ?1 AND (?11 = 0 OR version = ?11)");
    if (!st.ok()) return st.status();
    st->bind(1, sid).bind(2, r.name).bind(3, r.description).bind(4, r.reference_record);
    st->bind(5, r.access_key_id).bind_blob(6, secret);
    if (r.session_token.empty()) {
      st->bind_null(7);
    } else {
      st->bind_blob(7, impl_->key->seal(r.session_token, aad("records.session_token", sid)));
    }
    st->bind(8, r.default_region).bind(9, to_unix(c.at)).bind(10, r.aws_account_id);
    // With a version, only over that one: another node's edit committed since the read above
    // leaves no row to change.
    st->bind(11, patch.version ? before->version : int64_t{0});
    st->bind(12, stored_source(r));
    // Wipe the plaintext copies made for re-sealing.
    policy::Secret wipe_secret(std::move(r.secret_access_key));
    policy::Secret wipe_session(std::move(r.session_token));
    if (absl::Status s = st->run(); !s.ok()) {
      if (absl::IsAlreadyExists(s)) {
        return absl::AlreadyExistsError(cat("a record named '", r.name, "' exists already"));
      }
      return s;
    }
    if (impl_->db.changes() == 0) {
      auto now = one(impl_->load_records(id), "record", id);
      if (!now.ok()) return now.status();
      return stale(id, now->version);
    }
    if (patch.tags) {
      if (absl::Status s = write_tags(impl_->db, id, r.tags); !s.ok()) return s;
    }
    auto after = one(impl_->load_records(id), "record", id);
    if (!after.ok()) return after.status();
    c.after_json = to_json(*after);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::delete_record(const Actor& actor, std::string_view id) {
  return impl_->change(actor, "record.delete", "record", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(id);
    auto before = one(impl_->load_records(id), "record", id);
    if (!before.ok()) return before.status();
    c.before_json = to_json(*before);
    if (absl::Status s = sql::run(impl_->db,
                                  "UPDATE records SET reference_record = '' "
                                  "WHERE reference_record = ?1",
                                  id);
        !s.ok()) {
      return s;
    }
    return sql::run(impl_->db, "DELETE FROM records WHERE id = ?1", id);
  });
}

absl::StatusOr<std::optional<policy::AccessPolicy>> Store::get_policy(std::string_view record_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto rec = one(impl_->load_records(record_id), "record", record_id);
  if (!rec.ok()) return rec.status();
  auto rows = impl_->load_policies(record_id);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<policy::AccessPolicy>();
  return std::optional<policy::AccessPolicy>(std::move(rows->front()));
}

absl::StatusOr<AdminChange> Store::set_policy(const Actor& actor, std::string_view record_id,
                                              const PolicySpec& spec) {
  // Validate everything into canonical form before touching the database.
  policy::AccessPolicy p;
  p.record_id = std::string(record_id);
  if (spec.windows.size() > 32) return invalid_field("windows", "more than 32 windows");
  std::vector<std::string> windows;
  for (const std::string& text : spec.windows) {
    auto w = policy::parse_time_window(text);
    if (!w.ok()) return invalid_field("windows", sv(w.status().message()));
    p.windows.push_back(*w);
    windows.push_back(policy::format_time_window(*w));
  }
  if (absl::Status s = policy::check_windows_disjoint(p.windows); !s.ok()) {
    return invalid_field("windows", sv(s.message()));
  }
  absl::TimeZone tz;
  if (spec.time_zone.empty() || spec.time_zone.size() > 64 ||
      !absl::LoadTimeZone(policy::av(spec.time_zone), &tz)) {
    return invalid_field("time_zone",
                         cat("unknown time zone '", spec.time_zone, "' (e.g. Europe/Berlin, UTC)"));
  }
  p.time_zone = spec.time_zone;
  std::string networks_text;
  for (const std::string& n : spec.allowed_networks) {
    networks_text += n;
    networks_text += '\n';
  }
  auto nets = policy::parse_cidr_list(networks_text);
  if (!nets.ok()) return invalid_field("allowed_networks", sv(nets.status().message()));
  p.allowed_networks = std::move(*nets);
  p.approval_required = spec.approval_required;
  p.approver_role_id = spec.approver_role_id;
  if (spec.approval_max_duration_s < 60 || spec.approval_max_duration_s > 30 * 86400) {
    return invalid_field("max_duration_s", "between 60 and 2592000 (30 days)");
  }
  p.approval_max_duration_s = spec.approval_max_duration_s;
  if (spec.approval_required && spec.approver_role_id.empty()) {
    return invalid_field("approver_role_id", "an approval policy needs an approver role");
  }
  if (spec.command_rules.size() > 64) return invalid_field("command_rules", "more than 64 rules");
  std::vector<std::string> rules;
  for (const std::string& text : spec.command_rules) {
    auto r = policy::parse_command_rule(text);
    if (!r.ok()) return invalid_field("command_rules", sv(r.status().message()));
    rules.push_back(policy::format_command_rule(*r));
    p.command_rules.push_back(std::move(*r));
  }
  return impl_->change(actor, "policy.set", "policy", [&](AdminChange& c) -> absl::Status {
    c.object_id = p.record_id;
    if (auto rec = one(impl_->load_records(record_id), "record", record_id); !rec.ok()) {
      return rec.status();
    }
    if (!p.approver_role_id.empty()) {
      auto role = one(impl_->load_roles(p.approver_role_id), "role", p.approver_role_id);
      if (!role.ok()) return invalid_field("approver_role_id", sv(role.status().message()));
    }
    auto before = impl_->load_policies(record_id);
    if (!before.ok()) return before.status();
    if (!before->empty()) c.before_json = to_json(before->front());
    absl::Status s = sql::run(
        impl_->db,
        "INSERT INTO policies (record_id, windows, time_zone, allowed_networks, "
        "approval_required, approver_role_id, approval_max_duration_s, command_rules) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (record_id) DO UPDATE SET "
        "windows = ?2, time_zone = ?3, allowed_networks = ?4, approval_required = ?5, "
        "approver_role_id = ?6, approval_max_duration_s = ?7, command_rules = ?8",
        p.record_id, join_lines(windows), p.time_zone, policy::format_cidr_list(p.allowed_networks),
        p.approval_required,
        p.approver_role_id.empty() ? std::optional<std::string>() : p.approver_role_id,
        p.approval_max_duration_s, join_lines(rules));
    if (!s.ok()) return s;
    c.after_json = to_json(p);
    return absl::OkStatus();
  });
}

absl::StatusOr<AdminChange> Store::delete_policy(const Actor& actor, std::string_view record_id) {
  return impl_->change(actor, "policy.delete", "policy", [&](AdminChange& c) -> absl::Status {
    c.object_id = std::string(record_id);
    auto before = impl_->load_policies(record_id);
    if (!before.ok()) return before.status();
    if (before->empty()) {
      return absl::NotFoundError(cat("record ", record_id, " has no access policy"));
    }
    c.before_json = to_json(before->front());
    return sql::run(impl_->db, "DELETE FROM policies WHERE record_id = ?1", record_id);
  });
}

}  // namespace pamproxy::store
