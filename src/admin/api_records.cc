// Admin API: settings, record types, records and their access policies (docs/admin-api.md).
// Reads come from the snapshot the caller was authenticated against; changes go through the
// store, which validates them, records the audit event and publishes the next snapshot.

#include <algorithm>

#include "api_internal.h"
#include "pamproxy/base/log.h"
#include "pamproxy/policy/command_rule.h"
#include "pamproxy/store/json.h"
#include "src/store/validate.h"

namespace pamproxy::admin {
namespace {

constexpr size_t kTextMax = 1024;
constexpr size_t kListMax = 64;

// The writable fields of a record; on creation name, access_key_id and secret_access_key are
// required.
struct RecordFields {
  std::optional<std::string> name, description, reference_record, access_key_id, secret_access_key,
      session_token, default_region, aws_account_id;
  std::optional<std::vector<std::string>> tags;
  std::optional<int64_t> version;  // edits only: the version the edit was made from
};

// answer_change, with {"warnings": [...]} added to the record when its new access key id is
// valid but not shaped like AWS's (docs/admin-api.md).
ApiResponse answer_record_change(int status, const absl::StatusOr<store::AdminChange>& change,
                                 const std::optional<std::string>& access_key_id) {
  if (!change.ok() || !access_key_id) return answer_change(status, change);
  std::optional<std::string> warning = store::access_key_id_warning(*access_key_id);
  std::string body = change->after_json;
  if (!warning || body.size() < 2 || body.back() != '}') return answer_change(status, change);
  JsonWriter w;
  w.begin_array().value(*warning).end_array();
  body.pop_back();
  body += ",\"warnings\":" + w.str() + "}";
  return json_answer(status, std::move(body));
}

// An account id asked of STS for keys being saved, and why there is none when there is none.
struct AccountFill {
  std::string account_id;  // "" when STS did not say
  std::string error;
};

// Asks STS which account `keys` belong to (in the record's default region, else us-east-1).
// Never refuses the save: a failure is logged (without a secret) and said in the answer. Runs on
// the admin server's worker: it reads nothing but its arguments.
AccountFill fill_account_id(const AccountLookup& lookup, const AwsKeys& keys,
                            std::string_view region, std::string_view record) {
  AccountFill fill;
  const std::string_view asked_region = region.empty() ? "us-east-1" : region;
  if (!store::check_region(asked_region).ok()) {
    fill.error = "default_region is not a region name: STS was not asked";
  } else {
    AccountAnswer a = lookup(keys, asked_region);
    fill.account_id = std::move(a.account_id);
    fill.error = std::move(a.error);
  }
  if (fill.account_id.empty()) {
    if (fill.error.empty()) fill.error = "STS named no account";
    log::warn("admin.account_id_unknown")
        .kv("record", record)
        .kv("access_key_id", keys.access_key_id)
        .kv("region", asked_region)
        .kv("error", fill.error);
  }
  return fill;
}

// The change's answer, with why STS named no account added to the record as
// "aws_account_id_error" (docs/admin-api.md).
ApiResponse answer_with_fill(ApiResponse answer, const AccountFill& fill) {
  if (fill.error.empty() || answer.status >= 300 || answer.body.size() < 2 ||
      answer.body.back() != '}') {
    return answer;
  }
  JsonWriter w;
  w.value(fill.error);
  answer.body.pop_back();
  answer.body += ",\"aws_account_id_error\":" + w.str() + "}";
  return answer;
}

bool read_record_fields(JsonBody& b, bool create, RecordFields* f) {
  f->name = b.string("name", create, 1, 200);
  f->description = b.string("description", kOptional, 0, kTextMax);
  f->reference_record = b.string("reference_record", kOptional, 0, 200);
  f->access_key_id = b.string("access_key_id", create, 1, 128);
  f->secret_access_key = b.string("secret_access_key", create, 1, 1024);
  f->session_token = b.string("session_token", kOptional, 0, 8192);
  f->default_region = b.string("default_region", kOptional, 0, 64);
  f->aws_account_id = b.string("aws_account_id", kOptional, 0, 64);
  f->tags = b.string_list("tags", kOptional, kListMax, 64);
  if (!create) f->version = b.integer("version", kOptional, 1, INT64_MAX);
  return b.finish();
}

ApiResponse settings(Api::Call& call) {
  if (call.segments.size() != 1) return not_found("no such settings path");
  if (call.method() == "GET") return json_answer(200, store::to_json(call.snapshot->settings()));
  if (call.method() != "PATCH") return method_not_allowed("GET, PATCH");
  if (!call.admin()) return forbidden("changing settings is for admins");
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  std::optional<bool> enabled = body->boolean("proxy.enabled", kOptional);
  if (!body->finish()) return bad_field(body->error());
  if (enabled) {
    auto change =
        call.store().set_setting(call.actor(), "proxy.enabled", *enabled ? "true" : "false");
    if (!change.ok()) return store_error(change.status());
  }
  return json_answer(200, store::to_json(call.store().settings()));
}

ApiResponse record_types(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (call.method() != "GET") return method_not_allowed("GET");
    std::vector<policy::RecordType> types = call.store().record_types();
    return page(
        call, types, [](const policy::RecordType& t) -> const std::string& { return t.name; },
        [](JsonWriter& w, const policy::RecordType& t) { store::write_json(w, t); });
  }
  if (seg.size() != 3 || (seg[2] != "enable" && seg[2] != "disable")) {
    return not_found("record-types/{name}/enable or /disable");
  }
  if (call.method() != "POST") return method_not_allowed("POST");
  if (!call.admin()) return forbidden("enabling record types is for admins");
  auto change = call.store().set_record_type_enabled(call.actor(), seg[1], seg[2] == "enable");
  return answer_change(200, change);
}

ApiResponse create_record(Api::Call& call) {
  if (!call.admin()) return forbidden("adding records is for admins");
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  RecordFields f;
  if (!read_record_fields(*body, true, &f)) return bad_field(body->error());
  bool type_enabled = false;
  for (const policy::RecordType& t : call.store().record_types()) {
    if (t.name == policy::kAwsAccessKeysType) type_enabled = t.enabled;
  }
  if (!type_enabled) {
    return error_answer(409, "Conflict",
                        "the record type aws-access-keys is disabled: enable it first (pamctl "
                        "record-types enable aws-access-keys)");
  }
  store::RecordSpec spec;
  spec.name = std::move(*f.name);
  spec.description = f.description.value_or("");
  spec.reference_record = f.reference_record.value_or("");
  spec.access_key_id = *f.access_key_id;
  spec.secret_access_key = std::move(*f.secret_access_key);
  spec.session_token = f.session_token.value_or("");
  spec.default_region = f.default_region.value_or("");
  spec.aws_account_id = f.aws_account_id.value_or("");
  spec.tags = f.tags.value_or(std::vector<std::string>{});
  // An id the admin gives always wins; without one, STS is asked (on the worker), and the record
  // is saved on the admin thread once it has answered or not.
  if (!f.aws_account_id && call.options.account_id_lookup) {
    struct Save {
      store::RecordSpec spec;
      AccountFill fill;
    };
    auto save = std::make_shared<Save>(Save{.spec = std::move(spec)});
    return defer(
        call,
        [save, lookup = call.options.account_id_lookup] {
          const store::RecordSpec& s = save->spec;
          save->fill =
              fill_account_id(lookup, {s.access_key_id, s.secret_access_key, s.session_token},
                              s.default_region, s.name);
        },
        [save, store = call.options.store, actor = call.actor(), key_id = f.access_key_id] {
          save->spec.aws_account_id = save->fill.account_id;
          save->spec.aws_account_id_source = "sts";
          return answer_with_fill(
              answer_record_change(201, store->create_record(actor, save->spec), key_id),
              save->fill);
        });
  }
  return answer_record_change(201, call.store().create_record(call.actor(), spec), f.access_key_id);
}

ApiResponse edit_record(Api::Call& call, const policy::Record& record) {
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  RecordFields f;
  if (!read_record_fields(*body, false, &f)) return bad_field(body->error());
  store::RecordPatch patch;
  patch.name = f.name;
  patch.description = f.description;
  patch.reference_record = f.reference_record;
  patch.access_key_id = f.access_key_id;
  patch.secret_access_key = f.secret_access_key;
  patch.session_token = f.session_token;
  patch.default_region = f.default_region;
  patch.aws_account_id = f.aws_account_id;
  patch.tags = f.tags;
  patch.version = f.version;
  // New keys without an id: the old id was the old keys' account, so STS is asked again (on the
  // worker) and, when it cannot say, the record is saved without one (on the admin thread).
  const bool keys_change = f.access_key_id || f.secret_access_key || f.session_token;
  if (!f.aws_account_id && keys_change && call.options.account_id_lookup) {
    // The record's own fields are copied: the snapshot it came from is the admin thread's.
    struct Save {
      store::RecordPatch patch;
      std::string access_key_id, secret_access_key, session_token, region, name;
      AccountFill fill;
    };
    auto save = std::make_shared<Save>(
        Save{.patch = std::move(patch),
             .access_key_id = f.access_key_id.value_or(record.access_key_id),
             .secret_access_key =
                 f.secret_access_key.value_or(std::string(record.secret_access_key.reveal())),
             .session_token = f.session_token.value_or(std::string(record.session_token.reveal())),
             .region = f.default_region.value_or(record.default_region),
             .name = f.name.value_or(record.name)});
    return defer(
        call,
        [save, lookup = call.options.account_id_lookup] {
          save->fill = fill_account_id(
              lookup, {save->access_key_id, save->secret_access_key, save->session_token},
              save->region, save->name);
        },
        [save, store = call.options.store, actor = call.actor(), id = record.id,
         key_id = f.access_key_id] {
          save->patch.aws_account_id = save->fill.account_id;
          save->patch.aws_account_id_source = "sts";
          return answer_with_fill(
              answer_record_change(200, store->update_record(actor, id, save->patch), key_id),
              save->fill);
        });
  }
  return answer_record_change(200, call.store().update_record(call.actor(), record.id, patch),
                              f.access_key_id);
}

// PUT body: every field optional; the shape GET answers with (without record_id).
ApiResponse put_policy(Api::Call& call, const policy::Record& record) {
  ApiResponse error;
  auto body = read_body(call, &error);
  if (!body) return error;
  store::PolicySpec spec;
  auto windows = body->string_list("windows", kOptional, kListMax, 64);
  auto zone = body->string("time_zone", kOptional, 1, 64);
  auto networks = body->string_list("allowed_networks", kOptional, kListMax, 64);
  std::unique_ptr<JsonBody> approval = body->object("approval", kOptional);
  if (approval) {
    spec.approval_required = approval->boolean("required", kOptional).value_or(false);
    spec.approver_role_id = approval->string("approver_role_id", kOptional, 0, 64).value_or("");
    spec.approval_max_duration_s =
        approval->integer("max_duration_s", kOptional, 60, 366 * 86400).value_or(8 * 3600);
  }
  auto rules = body->object_list("command_rules", kOptional, 256);
  if (rules) {
    for (size_t i = 0; i < rules->size(); ++i) {
      JsonBody& rule = *(*rules)[i];
      auto effect = rule.string("effect", kRequired, 1, 16);
      auto pattern = rule.string("pattern", kRequired, 1, 256);
      auto resource = rule.string("resource", kOptional, 0, 2048);
      if (effect && *effect != "allow" && *effect != "deny") {
        return bad_field(
            {"command_rules[" + std::to_string(i) + "].effect", "expected \"allow\" or \"deny\""});
      }
      if (resource && !resource->empty()) {
        if (absl::Status s = policy::validate_resource_pattern(*resource); !s.ok()) {
          return bad_field(
              {"command_rules[" + std::to_string(i) + "].resource", std::string(s.message())});
        }
      }
      if (effect && pattern) {
        spec.command_rules.push_back(*effect + " " + *pattern +
                                     (resource && !resource->empty() ? " " + *resource : ""));
      }
    }
  }
  if (!body->finish()) return bad_field(body->error());
  spec.windows = windows.value_or(std::vector<std::string>{});
  if (zone) spec.time_zone = *zone;
  spec.allowed_networks = networks.value_or(std::vector<std::string>{});
  auto change = call.store().set_policy(call.actor(), record.id, spec);
  return answer_change(200, change);
}

ApiResponse record_policy(Api::Call& call, const policy::Record& record, policy::Permissions p) {
  if (call.method() == "GET") {
    auto policy = call.store().get_policy(record.id);
    if (!policy.ok()) return store_error(policy.status());
    if (!*policy) return not_found("record " + record.id + " has no access policy");
    return json_answer(200, store::to_json(**policy));
  }
  if (call.method() != "PUT" && call.method() != "DELETE") {
    return method_not_allowed("GET, PUT, DELETE");
  }
  if ((p & policy::kManage) == 0) {
    return forbidden("changing a record's access policy needs the manage permission on it");
  }
  if (call.method() == "PUT") return put_policy(call, record);
  auto change = call.store().delete_policy(call.actor(), record.id);
  if (!change.ok()) return store_error(change.status());
  return deleted(record.id);
}

bool is_favorite(const std::vector<std::string>& sorted_ids, const std::string& id) {
  return std::binary_search(sorted_ids.begin(), sorted_ids.end(), id);
}

// A record as json.h writes it, with the caller's "favorite" star added.
std::string record_json(const policy::Record& record, bool favorite) {
  std::string json = store::to_json(record);
  json.pop_back();  // the object's closing brace
  json += favorite ? ",\"favorite\":true}" : ",\"favorite\":false}";
  return json;
}

// PUT stars the record for the caller, DELETE unstars it; both answer the new state. Viewing the
// record is enough: a star is the caller's own preference and grants nothing.
ApiResponse record_favorite(Api::Call& call, const policy::Record& record) {
  if (call.method() != "PUT" && call.method() != "DELETE") return method_not_allowed("PUT, DELETE");
  const bool favorite = call.method() == "PUT";
  if (absl::Status s = call.store().set_favorite(call.user_id(), record.id, favorite); !s.ok()) {
    return store_error(s);
  }
  JsonWriter w;
  w.begin_object().key("record_id").value(record.id).key("favorite").value(favorite).end_object();
  return json_answer(200, w.take());
}

ApiResponse records(Api::Call& call) {
  const auto& seg = call.segments;
  if (seg.size() == 1) {
    if (call.method() == "POST") return create_record(call);
    if (call.method() != "GET") return method_not_allowed("GET, POST");
    const std::string tag = call.param("tag");
    const std::string name = call.param("name");
    const std::string favorites_param = call.param("favorites");
    if (!favorites_param.empty() && favorites_param != "0" && favorites_param != "1") {
      return error_answer(400, "InvalidField", "favorites: expected 0 or 1", "favorites");
    }
    const bool only_favorites = favorites_param == "1";
    const std::vector<std::string> favorites = call.store().list_favorites(call.user_id());
    std::vector<const policy::Record*> visible;
    for (uint32_t i = 0; i < call.snapshot->records().size(); ++i) {
      const policy::Record& r = call.snapshot->record(i).record;
      if (call.permissions(i) == 0) continue;
      if (!tag.empty() && !std::binary_search(r.tags.begin(), r.tags.end(), tag)) continue;
      if (!name.empty() && r.name != name) continue;
      if (only_favorites && !is_favorite(favorites, r.id)) continue;
      visible.push_back(&r);
    }
    std::sort(visible.begin(), visible.end(),
              [](const policy::Record* a, const policy::Record* b) { return a->id < b->id; });
    return page(
        call, visible, [](const policy::Record* r) -> const std::string& { return r->id; },
        [&favorites](JsonWriter& w, const policy::Record* r) {
          w.raw(record_json(*r, is_favorite(favorites, r->id)));
        });
  }
  ApiResponse error;
  int32_t index = find_record(call, seg[1], &error);
  if (index < 0) return error;
  const policy::Record& record = call.snapshot->record(index).record;
  const policy::Permissions p = call.permissions(index);
  if (seg.size() == 3 && seg[2] == "policy") return record_policy(call, record, p);
  if (seg.size() == 3 && seg[2] == "favorite") return record_favorite(call, record);
  if (seg.size() != 2) {
    return not_found("records/{ref}, records/{ref}/policy or records/{ref}/favorite");
  }
  if (call.method() == "GET") {
    const bool favorite = is_favorite(call.store().list_favorites(call.user_id()), record.id);
    return json_answer(200, record_json(record, favorite));
  }
  if (call.method() == "PATCH") {
    if ((p & policy::kEdit) == 0) return forbidden("editing a record needs the edit permission");
    return edit_record(call, record);
  }
  if (call.method() == "DELETE") {
    if ((p & policy::kManage) == 0) {
      return forbidden("deleting a record needs the manage permission on it");
    }
    auto change = call.store().delete_record(call.actor(), record.id);
    if (!change.ok()) return store_error(change.status());
    return deleted(record.id);
  }
  return method_not_allowed("GET, PATCH, DELETE");
}

}  // namespace

ApiResponse handle_settings(Api::Call& call) {
  return settings(call);
}
ApiResponse handle_record_types(Api::Call& call) {
  return record_types(call);
}
ApiResponse handle_records(Api::Call& call) {
  return records(call);
}

}  // namespace pamproxy::admin
